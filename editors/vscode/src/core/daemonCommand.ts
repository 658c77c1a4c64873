// Which command starts the runbridge daemon. Pure: no `vscode` import; the file system
// is reached only through the `exists` callback, so the tests need no real files.

import * as path from 'node:path';

export interface DaemonSettings {
  /** `runbridge.daemon.path` */
  path: string;
  /** `runbridge.daemon.args` */
  args: string[];
  /** `python.defaultInterpreterPath` */
  pythonPath?: string;
  /** The interpreter of the Python extension's active environment for the workspace folder, if any. */
  activePython?: string;
}

export interface DaemonCommand {
  command: string;
  args: string[];
  /** Where it came from: the runbridge.daemon.path setting, the Python extension's active
   * environment, PATH, or the Python interpreter setting. */
  source: 'setting' | 'python-env' | 'path' | 'python';
}

export const NOT_FOUND =
  'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
  '(looked in PATH and python.defaultInterpreterPath)';

/** The not-found error; it names the Python extension's environment when one was given. */
export function notFound(activePython?: string): string {
  if (!activePython) return NOT_FOUND;
  return (
    'runbridge was not found: set "runbridge.daemon.path" or install it with `pip install runbridge` ' +
    `(looked in the Python extension's environment ${activePython}, PATH and python.defaultInterpreterPath)`
  );
}

/** The `runbridge` script beside an interpreter: where pip puts it in that environment
 * (`bin/` of a venv or conda env on Linux and macOS, `Scripts\` of a venv on Windows). */
export function scriptBeside(interpreter: string, platform: NodeJS.Platform = process.platform): string {
  return path.join(path.dirname(interpreter), platform === 'win32' ? 'runbridge.exe' : 'runbridge');
}

/** The shell command of "Install with pip": pip of the Python extension's active environment,
 * else of `python.defaultInterpreterPath`, else `python3`. */
export function pipInstallCommand(activePython?: string, pythonPath?: string): string {
  const python = activePython?.trim() || pythonPath?.trim() || 'python3';
  return `"${python}" -m pip install runbridge`;
}

/** A Python interpreter's file name: python, python3, python3.12 (and python.exe on Windows). */
export function isPythonInterpreter(file: string): boolean {
  return /^python(\d+(\.\d+)?)?(\.exe)?$/i.test(path.basename(file));
}

/** `~` or a leading `~/` replaced by env.HOME (left as is when HOME is unset). */
export function expandHome(file: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME;
  if (!home) return file;
  if (file === '~') return home;
  return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}

/** Whether `file` names a path (has a directory part) rather than a bare command name. */
function isPath(file: string): boolean {
  return file.includes('/') || file.includes(path.sep);
}

/** The first `dir/name` that exists for a dir of env.PATH. */
function onPath(name: string, env: NodeJS.ProcessEnv, exists: (file: string) => boolean): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (exists(candidate)) return candidate;
  }
  return undefined;
}

function viaPython(interpreter: string, args: string[], source: DaemonCommand['source']): DaemonCommand {
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
export function resolveDaemon(
  settings: DaemonSettings,
  env: NodeJS.ProcessEnv,
  exists: (file: string) => boolean,
): DaemonCommand | { error: string } {
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
    if (exists(script)) return { command: script, args, source: 'python-env' };
  }
  const found = onPath('runbridge', env, exists);
  if (found !== undefined) return { command: found, args, source: 'path' };
  // A bare name (the Python extension's default is "python") says nothing about where
  // runbridge is installed, so only a path is tried.
  const python = expandHome(settings.pythonPath?.trim() ?? '', env);
  if (isPath(python) && exists(python)) return viaPython(python, args, 'python');
  return { error: notFound(envPython) };
}
