"use strict";
// Which command starts the runbridge daemon. Pure: no `vscode` import; the file system
// is reached only through the `exists` callback, so the tests need no real files.
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
Object.defineProperty(exports, "__esModule", { value: true });
exports.NOT_FOUND = void 0;
exports.notFound = notFound;
exports.scriptBeside = scriptBeside;
exports.pipInstallCommand = pipInstallCommand;
exports.isPythonInterpreter = isPythonInterpreter;
exports.expandHome = expandHome;
exports.resolveDaemon = resolveDaemon;
const path = __importStar(require("node:path"));
exports.NOT_FOUND = 'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
    '(looked in PATH and python.defaultInterpreterPath)';
/** The not-found error; it names the Python extension's environment when one was given. */
function notFound(activePython) {
    if (!activePython)
        return exports.NOT_FOUND;
    return ('runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
        `(looked in the Python extension's environment ${activePython}, PATH and python.defaultInterpreterPath)`);
}
/** The `runbridge` script beside an interpreter: where pip puts it in that environment
 * (`bin/` of a venv or conda env on Linux and macOS, `Scripts\` of a venv on Windows). */
function scriptBeside(interpreter, platform = process.platform) {
    return path.join(path.dirname(interpreter), platform === 'win32' ? 'runbridge.exe' : 'runbridge');
}
/** The shell command of "Install with pip": pip of the Python extension's active environment,
 * else of `python.defaultInterpreterPath`, else `python3`. */
function pipInstallCommand(activePython, pythonPath) {
    const python = activePython?.trim() || pythonPath?.trim() || 'python3';
    return `"${python}" -m pip install runbridge`;
}
/** A Python interpreter's file name: python, python3, python3.12 (and python.exe on Windows). */
function isPythonInterpreter(file) {
    return /^python(\d+(\.\d+)?)?(\.exe)?$/i.test(path.basename(file));
}
/** `~` or a leading `~/` replaced by env.HOME (left as is when HOME is unset). */
function expandHome(file, env) {
    const home = env.HOME;
    if (!home)
        return file;
    if (file === '~')
        return home;
    return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}
/** Whether `file` names a path (has a directory part) rather than a bare command name. */
function isPath(file) {
    return file.includes('/') || file.includes(path.sep);
}
/** The first `dir/name` that exists for a dir of env.PATH. */
function onPath(name, env, exists) {
    for (const dir of (env.PATH ?? '').split(path.delimiter)) {
        if (dir === '')
            continue;
        const candidate = path.join(dir, name);
        if (exists(candidate))
            return candidate;
    }
    return undefined;
}
function viaPython(interpreter, args, source) {
    return { command: interpreter, args: ['-m', 'runbridge', ...args], source };
}
/**
 * The daemon command, in this order:
 * 1. `runbridge.daemon.path` when set: that file (with a leading `~/` expanded); a bare name
 *    (no slash) is looked up on PATH. A Python interpreter there runs `-m runbridge`.
 *    A path that does not exist is an error naming it.
 * 2. The Python extension's active environment (`activePython`): the `runbridge` script beside
 *    its interpreter, when it exists (pip installed runbridge there). The script, not
 *    `python -m runbridge`: only the script's existence tells, without running Python, that
 *    runbridge is installed in that environment; an environment without it falls through.
 * 3. `runbridge` on env.PATH.
 * 4. `python.defaultInterpreterPath`, when it is a path (not a bare name) that exists, with `-m runbridge`.
 * Otherwise an error saying what was searched.
 */
function resolveDaemon(settings, env, exists) {
    const args = [...settings.args];
    const setting = settings.path.trim();
    if (setting !== '') {
        const expanded = expandHome(setting, env);
        const bare = !isPath(expanded);
        const file = bare ? onPath(expanded, env, exists) : exists(expanded) ? expanded : undefined;
        if (file === undefined) {
            const where = bare ? 'was not found on PATH' : 'does not exist';
            return { error: `The "runbridge.daemon.path" setting names "${setting}", which ${where}.` };
        }
        return isPythonInterpreter(file) ? viaPython(file, args, 'setting') : { command: file, args, source: 'setting' };
    }
    // Like python.defaultInterpreterPath below, only a path says where an environment is.
    const activePython = settings.activePython?.trim() || undefined;
    const envPython = activePython !== undefined && isPath(activePython) ? activePython : undefined;
    if (envPython !== undefined) {
        const script = scriptBeside(envPython);
        if (exists(script))
            return { command: script, args, source: 'python-env' };
    }
    const found = onPath('runbridge', env, exists);
    if (found !== undefined)
        return { command: found, args, source: 'path' };
    // A bare name (the Python extension's default is "python") says nothing about where
    // runbridge is installed, so only a path is tried.
    const python = expandHome(settings.pythonPath?.trim() ?? '', env);
    if (isPath(python) && exists(python))
        return viaPython(python, args, 'python');
    return { error: notFound(envPython) };
}
