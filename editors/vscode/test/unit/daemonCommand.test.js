"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const path = __importStar(require("node:path"));
const daemonCommand_1 = require("../../src/core/daemonCommand");
const ENV = { HOME: '/home/me', PATH: ['/usr/local/bin', '', '/home/me/.local/bin', '/usr/bin'].join(path.delimiter) };
/** An `exists` over a fixed set of files that records what it was asked. */
function fs(...files) {
    const asked = [];
    const exists = (file) => {
        asked.push(file);
        return files.includes(file);
    };
    return { exists, asked };
}
const settings = (over = {}) => ({
    path: '',
    args: ['serve'],
    ...over,
});
(0, node_test_1.describe)('resolveDaemon: runbridge.daemon.path', () => {
    (0, node_test_1.it)('uses the setting as is when it exists', () => {
        const { exists } = fs('/opt/rb/bin/runbridge', '/usr/bin/runbridge');
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ path: '/opt/rb/bin/runbridge' }), ENV, exists), {
            command: '/opt/rb/bin/runbridge',
            args: ['serve'],
            source: 'setting',
        });
    });
    (0, node_test_1.it)('runs a Python interpreter with -m runbridge', () => {
        for (const py of ['/venv/bin/python', '/venv/bin/python3', '/usr/bin/python3.12']) {
            strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ path: py, args: ['serve', '--log', 'debug'] }), ENV, fs(py).exists), {
                command: py,
                args: ['-m', 'runbridge', 'serve', '--log', 'debug'],
                source: 'setting',
            });
        }
    });
    (0, node_test_1.it)('expands a leading ~/ with HOME', () => {
        const { exists, asked } = fs('/home/me/.venvs/rb/bin/python');
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ path: '~/.venvs/rb/bin/python' }), ENV, exists), {
            command: '/home/me/.venvs/rb/bin/python',
            args: ['-m', 'runbridge', 'serve'],
            source: 'setting',
        });
        strict_1.default.deepEqual(asked, ['/home/me/.venvs/rb/bin/python']);
    });
    (0, node_test_1.it)('looks a bare command name up on PATH', () => {
        const { exists } = fs('/usr/bin/python3');
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ path: 'python3' }), ENV, exists), {
            command: '/usr/bin/python3',
            args: ['-m', 'runbridge', 'serve'],
            source: 'setting',
        });
    });
    (0, node_test_1.it)('is an error naming the path and the setting when the file is missing', () => {
        const { exists } = fs('/usr/bin/runbridge'); // PATH would have one: the setting still wins
        const result = (0, daemonCommand_1.resolveDaemon)(settings({ path: '~/nowhere/runbridge' }), ENV, exists);
        strict_1.default.ok('error' in result);
        strict_1.default.match(result.error, /"runbridge\.daemon\.path"/);
        strict_1.default.match(result.error, /"~\/nowhere\/runbridge", which does not exist/);
        const bare = (0, daemonCommand_1.resolveDaemon)(settings({ path: 'rb-daemon' }), ENV, exists);
        strict_1.default.ok('error' in bare && /"rb-daemon", which was not found on PATH/.test(bare.error));
    });
    (0, node_test_1.it)('does not share the args array with the settings', () => {
        const s = settings({ path: '/x/runbridge' });
        const result = (0, daemonCommand_1.resolveDaemon)(s, ENV, fs('/x/runbridge').exists);
        strict_1.default.ok('command' in result);
        result.args.push('mutated');
        strict_1.default.deepEqual(s.args, ['serve']);
    });
});
(0, node_test_1.describe)('resolveDaemon: PATH and python.defaultInterpreterPath', () => {
    (0, node_test_1.it)('finds runbridge on PATH, first directory first, skipping empty entries', () => {
        const { exists, asked } = fs('/home/me/.local/bin/runbridge', '/usr/bin/runbridge');
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ pythonPath: '/venv/bin/python' }), ENV, exists), {
            command: '/home/me/.local/bin/runbridge',
            args: ['serve'],
            source: 'path',
        });
        strict_1.default.deepEqual(asked, ['/usr/local/bin/runbridge', '/home/me/.local/bin/runbridge']);
    });
    (0, node_test_1.it)('falls back to the Python interpreter setting', () => {
        const { exists } = fs('/work/.venv/bin/python');
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ pythonPath: '/work/.venv/bin/python' }), ENV, exists), {
            command: '/work/.venv/bin/python',
            args: ['-m', 'runbridge', 'serve'],
            source: 'python',
        });
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ pythonPath: '~/py/bin/python3' }), ENV, fs('/home/me/py/bin/python3').exists), {
            command: '/home/me/py/bin/python3',
            args: ['-m', 'runbridge', 'serve'],
            source: 'python',
        });
    });
    (0, node_test_1.it)('is the not-found error naming what was searched otherwise', () => {
        const expected = {
            error: 'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
                '(looked in PATH and python.defaultInterpreterPath)',
        };
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings(), ENV, fs().exists), expected);
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ pythonPath: '/gone/bin/python' }), ENV, fs().exists), expected);
        // The Python extension's default, a bare "python", says nothing about runbridge.
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ pythonPath: 'python' }), ENV, fs('python', '/usr/bin/python').exists), expected);
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ path: '   ' }), {}, fs().exists), expected);
        strict_1.default.equal(daemonCommand_1.NOT_FOUND, expected.error);
    });
});
(0, node_test_1.describe)("resolveDaemon: the Python extension's active environment", () => {
    const VENV_PY = '/proj/.venv/bin/python';
    const VENV_RB = (0, daemonCommand_1.scriptBeside)(VENV_PY);
    (0, node_test_1.it)('uses the runbridge script beside the interpreter, before PATH and python.defaultInterpreterPath', () => {
        const { exists, asked } = fs(VENV_RB, '/usr/local/bin/runbridge', '/other/bin/python');
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ activePython: VENV_PY, pythonPath: '/other/bin/python' }), ENV, exists), { command: VENV_RB, args: ['serve'], source: 'python-env' });
        strict_1.default.deepEqual(asked, [VENV_RB]); // PATH was not searched
    });
    (0, node_test_1.it)('comes after the runbridge.daemon.path setting', () => {
        const { exists } = fs('/opt/rb/bin/runbridge', VENV_RB);
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ path: '/opt/rb/bin/runbridge', activePython: VENV_PY }), ENV, exists), {
            command: '/opt/rb/bin/runbridge',
            args: ['serve'],
            source: 'setting',
        });
    });
    (0, node_test_1.it)('falls through to PATH, then python.defaultInterpreterPath, when the environment has no runbridge', () => {
        const onPath = fs('/usr/bin/runbridge', VENV_PY);
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ activePython: VENV_PY }), ENV, onPath.exists), {
            command: '/usr/bin/runbridge',
            args: ['serve'],
            source: 'path',
        });
        strict_1.default.equal(onPath.asked[0], VENV_RB);
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ activePython: VENV_PY, pythonPath: '/other/bin/python' }), ENV, fs('/other/bin/python').exists), { command: '/other/bin/python', args: ['-m', 'runbridge', 'serve'], source: 'python' });
    });
    (0, node_test_1.it)('is an error that names the environment when nothing is found', () => {
        const result = (0, daemonCommand_1.resolveDaemon)(settings({ activePython: VENV_PY }), ENV, fs(VENV_PY).exists);
        strict_1.default.deepEqual(result, { error: (0, daemonCommand_1.notFound)(VENV_PY) });
        strict_1.default.equal((0, daemonCommand_1.notFound)(VENV_PY), 'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
            "(looked in the Python extension's environment /proj/.venv/bin/python, PATH and python.defaultInterpreterPath)");
        strict_1.default.equal((0, daemonCommand_1.notFound)(undefined), daemonCommand_1.NOT_FOUND);
        // An empty or bare-name interpreter is not an environment: the plain error.
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ activePython: '' }), ENV, fs().exists), { error: daemonCommand_1.NOT_FOUND });
        strict_1.default.deepEqual((0, daemonCommand_1.resolveDaemon)(settings({ activePython: 'python' }), ENV, fs('runbridge').exists), {
            error: daemonCommand_1.NOT_FOUND,
        });
    });
    (0, node_test_1.it)('scriptBeside: bin/runbridge beside the interpreter, runbridge.exe on Windows', () => {
        strict_1.default.equal((0, daemonCommand_1.scriptBeside)('/proj/.venv/bin/python3', 'linux'), path.join('/proj/.venv/bin', 'runbridge'));
        strict_1.default.equal((0, daemonCommand_1.scriptBeside)('/opt/conda/envs/x/bin/python', 'darwin'), path.join('/opt/conda/envs/x/bin', 'runbridge'));
        strict_1.default.equal((0, daemonCommand_1.scriptBeside)('/proj/.venv/Scripts/python.exe', 'win32'), path.join('/proj/.venv/Scripts', 'runbridge.exe'));
    });
});
(0, node_test_1.describe)('pipInstallCommand: where "Install with pip" installs', () => {
    (0, node_test_1.it)("uses the Python extension's environment first", () => {
        strict_1.default.equal((0, daemonCommand_1.pipInstallCommand)('/proj/.venv/bin/python', '/other/bin/python'), '"/proj/.venv/bin/python" -m pip install runbridge');
    });
    (0, node_test_1.it)('else python.defaultInterpreterPath, else python3', () => {
        strict_1.default.equal((0, daemonCommand_1.pipInstallCommand)(undefined, '/other/bin/python'), '"/other/bin/python" -m pip install runbridge');
        strict_1.default.equal((0, daemonCommand_1.pipInstallCommand)('', '  '), '"python3" -m pip install runbridge');
        strict_1.default.equal((0, daemonCommand_1.pipInstallCommand)(), '"python3" -m pip install runbridge');
    });
});
(0, node_test_1.describe)('helpers', () => {
    (0, node_test_1.it)('isPythonInterpreter', () => {
        strict_1.default.deepEqual(['/a/python', 'python3', '/a/python3.11', 'C:\\Py\\python.exe', '/a/runbridge', '/a/python-config', '/a/ipython', '/a/python3.11-dbg'].map(daemonCommand_1.isPythonInterpreter), [true, true, true, process.platform === 'win32', false, false, false, false]);
    });
    (0, node_test_1.it)('expandHome', () => {
        strict_1.default.equal((0, daemonCommand_1.expandHome)('~/x/y', { HOME: '/h' }), '/h/x/y');
        strict_1.default.equal((0, daemonCommand_1.expandHome)('~', { HOME: '/h' }), '/h');
        strict_1.default.equal((0, daemonCommand_1.expandHome)('~other/x', { HOME: '/h' }), '~other/x');
        strict_1.default.equal((0, daemonCommand_1.expandHome)('/a/~/b', { HOME: '/h' }), '/a/~/b');
        strict_1.default.equal((0, daemonCommand_1.expandHome)('~/x', {}), '~/x');
    });
});
