import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  expandHome,
  isPythonInterpreter,
  NOT_FOUND,
  notFound,
  pipInstallCommand,
  resolveDaemon,
  scriptBeside,
} from '../../src/core/daemonCommand';

const ENV = { HOME: '/home/me', PATH: ['/usr/local/bin', '', '/home/me/.local/bin', '/usr/bin'].join(path.delimiter) };

/** An `exists` over a fixed set of files that records what it was asked. */
function fs(...files: string[]) {
  const asked: string[] = [];
  const exists = (file: string): boolean => {
    asked.push(file);
    return files.includes(file);
  };
  return { exists, asked };
}

const settings = (over: Partial<{ path: string; args: string[]; pythonPath: string; activePython: string }> = {}) => ({
  path: '',
  args: ['serve'],
  ...over,
});

describe('resolveDaemon: runbridge.daemon.path', () => {
  it('uses the setting as is when it exists', () => {
    const { exists } = fs('/opt/rb/bin/runbridge', '/usr/bin/runbridge');
    assert.deepEqual(resolveDaemon(settings({ path: '/opt/rb/bin/runbridge' }), ENV, exists), {
      command: '/opt/rb/bin/runbridge',
      args: ['serve'],
      source: 'setting',
    });
  });

  it('runs a Python interpreter with -m runbridge', () => {
    for (const py of ['/venv/bin/python', '/venv/bin/python3', '/usr/bin/python3.12']) {
      assert.deepEqual(resolveDaemon(settings({ path: py, args: ['serve', '--log', 'debug'] }), ENV, fs(py).exists), {
        command: py,
        args: ['-m', 'runbridge', 'serve', '--log', 'debug'],
        source: 'setting',
      });
    }
  });

  it('expands a leading ~/ with HOME', () => {
    const { exists, asked } = fs('/home/me/.venvs/rb/bin/python');
    assert.deepEqual(resolveDaemon(settings({ path: '~/.venvs/rb/bin/python' }), ENV, exists), {
      command: '/home/me/.venvs/rb/bin/python',
      args: ['-m', 'runbridge', 'serve'],
      source: 'setting',
    });
    assert.deepEqual(asked, ['/home/me/.venvs/rb/bin/python']);
  });

  it('looks a bare command name up on PATH', () => {
    const { exists } = fs('/usr/bin/python3');
    assert.deepEqual(resolveDaemon(settings({ path: 'python3' }), ENV, exists), {
      command: '/usr/bin/python3',
      args: ['-m', 'runbridge', 'serve'],
      source: 'setting',
    });
  });

  it('is an error naming the path and the setting when the file is missing', () => {
    const { exists } = fs('/usr/bin/runbridge'); // PATH would have one: the setting still wins
    const result = resolveDaemon(settings({ path: '~/nowhere/runbridge' }), ENV, exists);
    assert.ok('error' in result);
    assert.match(result.error, /"runbridge\.daemon\.path"/);
    assert.match(result.error, /"~\/nowhere\/runbridge", which does not exist/);
    const bare = resolveDaemon(settings({ path: 'rb-daemon' }), ENV, exists);
    assert.ok('error' in bare && /"rb-daemon", which was not found on PATH/.test(bare.error));
  });

  it('does not share the args array with the settings', () => {
    const s = settings({ path: '/x/runbridge' });
    const result = resolveDaemon(s, ENV, fs('/x/runbridge').exists);
    assert.ok('command' in result);
    result.args.push('mutated');
    assert.deepEqual(s.args, ['serve']);
  });
});

describe('resolveDaemon: PATH and python.defaultInterpreterPath', () => {
  it('finds runbridge on PATH, first directory first, skipping empty entries', () => {
    const { exists, asked } = fs('/home/me/.local/bin/runbridge', '/usr/bin/runbridge');
    assert.deepEqual(resolveDaemon(settings({ pythonPath: '/venv/bin/python' }), ENV, exists), {
      command: '/home/me/.local/bin/runbridge',
      args: ['serve'],
      source: 'path',
    });
    assert.deepEqual(asked, ['/usr/local/bin/runbridge', '/home/me/.local/bin/runbridge']);
  });

  it('falls back to the Python interpreter setting', () => {
    const { exists } = fs('/work/.venv/bin/python');
    assert.deepEqual(resolveDaemon(settings({ pythonPath: '/work/.venv/bin/python' }), ENV, exists), {
      command: '/work/.venv/bin/python',
      args: ['-m', 'runbridge', 'serve'],
      source: 'python',
    });
    assert.deepEqual(resolveDaemon(settings({ pythonPath: '~/py/bin/python3' }), ENV, fs('/home/me/py/bin/python3').exists), {
      command: '/home/me/py/bin/python3',
      args: ['-m', 'runbridge', 'serve'],
      source: 'python',
    });
  });

  it('is the not-found error naming what was searched otherwise', () => {
    const expected = {
      error:
        'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
        '(looked in PATH and python.defaultInterpreterPath)',
    };
    assert.deepEqual(resolveDaemon(settings(), ENV, fs().exists), expected);
    assert.deepEqual(resolveDaemon(settings({ pythonPath: '/gone/bin/python' }), ENV, fs().exists), expected);
    // The Python extension's default, a bare "python", says nothing about runbridge.
    assert.deepEqual(resolveDaemon(settings({ pythonPath: 'python' }), ENV, fs('python', '/usr/bin/python').exists), expected);
    assert.deepEqual(resolveDaemon(settings({ path: '   ' }), {}, fs().exists), expected);
    assert.equal(NOT_FOUND, expected.error);
  });
});

describe("resolveDaemon: the Python extension's active environment", () => {
  const VENV_PY = '/proj/.venv/bin/python';
  const VENV_RB = scriptBeside(VENV_PY);

  it('uses the runbridge script beside the interpreter, before PATH and python.defaultInterpreterPath', () => {
    const { exists, asked } = fs(VENV_RB, '/usr/local/bin/runbridge', '/other/bin/python');
    assert.deepEqual(
      resolveDaemon(settings({ activePython: VENV_PY, pythonPath: '/other/bin/python' }), ENV, exists),
      { command: VENV_RB, args: ['serve'], source: 'python-env' },
    );
    assert.deepEqual(asked, [VENV_RB]); // PATH was not searched
  });

  it('comes after the runbridge.daemon.path setting', () => {
    const { exists } = fs('/opt/rb/bin/runbridge', VENV_RB);
    assert.deepEqual(resolveDaemon(settings({ path: '/opt/rb/bin/runbridge', activePython: VENV_PY }), ENV, exists), {
      command: '/opt/rb/bin/runbridge',
      args: ['serve'],
      source: 'setting',
    });
  });

  it('falls through to PATH, then python.defaultInterpreterPath, when the environment has no runbridge', () => {
    const onPath = fs('/usr/bin/runbridge', VENV_PY);
    assert.deepEqual(resolveDaemon(settings({ activePython: VENV_PY }), ENV, onPath.exists), {
      command: '/usr/bin/runbridge',
      args: ['serve'],
      source: 'path',
    });
    assert.equal(onPath.asked[0], VENV_RB);
    assert.deepEqual(
      resolveDaemon(settings({ activePython: VENV_PY, pythonPath: '/other/bin/python' }), ENV, fs('/other/bin/python').exists),
      { command: '/other/bin/python', args: ['-m', 'runbridge', 'serve'], source: 'python' },
    );
  });

  it('is an error that names the environment when nothing is found', () => {
    const result = resolveDaemon(settings({ activePython: VENV_PY }), ENV, fs(VENV_PY).exists);
    assert.deepEqual(result, { error: notFound(VENV_PY) });
    assert.equal(
      notFound(VENV_PY),
      'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
        "(looked in the Python extension's environment /proj/.venv/bin/python, PATH and python.defaultInterpreterPath)",
    );
    assert.equal(notFound(undefined), NOT_FOUND);
    // An empty or bare-name interpreter is not an environment: the plain error.
    assert.deepEqual(resolveDaemon(settings({ activePython: '' }), ENV, fs().exists), { error: NOT_FOUND });
    assert.deepEqual(resolveDaemon(settings({ activePython: 'python' }), ENV, fs('runbridge').exists), {
      error: NOT_FOUND,
    });
  });

  it('scriptBeside: bin/runbridge beside the interpreter, runbridge.exe on Windows', () => {
    assert.equal(scriptBeside('/proj/.venv/bin/python3', 'linux'), path.join('/proj/.venv/bin', 'runbridge'));
    assert.equal(scriptBeside('/opt/conda/envs/x/bin/python', 'darwin'), path.join('/opt/conda/envs/x/bin', 'runbridge'));
    assert.equal(scriptBeside('/proj/.venv/Scripts/python.exe', 'win32'), path.join('/proj/.venv/Scripts', 'runbridge.exe'));
  });
});

describe('pipInstallCommand: where "Install with pip" installs', () => {
  it("uses the Python extension's environment first", () => {
    assert.equal(pipInstallCommand('/proj/.venv/bin/python', '/other/bin/python'), '"/proj/.venv/bin/python" -m pip install runbridge');
  });

  it('else python.defaultInterpreterPath, else python3', () => {
    assert.equal(pipInstallCommand(undefined, '/other/bin/python'), '"/other/bin/python" -m pip install runbridge');
    assert.equal(pipInstallCommand('', '  '), '"python3" -m pip install runbridge');
    assert.equal(pipInstallCommand(), '"python3" -m pip install runbridge');
  });
});

describe('helpers', () => {
  it('isPythonInterpreter', () => {
    assert.deepEqual(
      ['/a/python', 'python3', '/a/python3.11', 'C:\\Py\\python.exe', '/a/runbridge', '/a/python-config', '/a/ipython', '/a/python3.11-dbg'].map(
        isPythonInterpreter,
      ),
      [true, true, true, process.platform === 'win32', false, false, false, false],
    );
  });

  it('expandHome', () => {
    assert.equal(expandHome('~/x/y', { HOME: '/h' }), '/h/x/y');
    assert.equal(expandHome('~', { HOME: '/h' }), '/h');
    assert.equal(expandHome('~other/x', { HOME: '/h' }), '~other/x');
    assert.equal(expandHome('/a/~/b', { HOME: '/h' }), '/a/~/b');
    assert.equal(expandHome('~/x', {}), '~/x');
  });
});
