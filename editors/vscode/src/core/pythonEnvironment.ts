// The interpreter of the Python extension's active environment, read through that
// extension's public API (`ms-python.python`, exports.environments, as published in
// `@vscode/python-extension`). Pure: no `vscode` import; the extension comes in through
// a callback, so the tests drive it with fake extension objects.

export const PYTHON_EXTENSION_ID = 'ms-python.python';

/** How long activating the Python extension and asking it may take before runbridge goes on without it. */
export const PYTHON_API_TIMEOUT_MS = 3000;

/** The parts of a `vscode.Extension` used here. */
export interface ExtensionLike {
  readonly isActive: boolean;
  readonly exports: unknown;
  activate(): PromiseLike<unknown>;
}

/** `EnvironmentPath` of the published API. */
interface EnvironmentPath {
  readonly id: string;
  readonly path: string;
}

/** The parts of the published `environments` API used here. */
interface EnvironmentsApi {
  getActiveEnvironmentPath(resource?: unknown): EnvironmentPath | undefined;
  resolveEnvironment(
    environment: EnvironmentPath,
  ): PromiseLike<{ readonly executable?: { readonly uri?: { readonly fsPath: string } } } | undefined>;
}

function isEnvironmentsApi(value: unknown): value is EnvironmentsApi {
  const api = value as Partial<EnvironmentsApi> | undefined;
  return (
    typeof api === 'object' &&
    api !== null &&
    typeof api.getActiveEnvironmentPath === 'function' &&
    typeof api.resolveEnvironment === 'function'
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** `work` or, past `ms` milliseconds, a rejection (the timer is cleared as soon as either settles). */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Asks the Python extension, when it is installed, for the interpreter of the active
 * environment of a resource (a workspace folder's Uri). Activates the extension if needed.
 * Any failure (activation that throws or takes longer than the timeout, exports without
 * the `environments` API, an environment it cannot resolve) means no interpreter; the first
 * failure is logged, later ones are not.
 */
export class PythonEnvironmentLookup {
  private logged = false;

  constructor(
    private readonly getExtension: () => ExtensionLike | undefined,
    private readonly log: (line: string) => void,
    private readonly timeoutMs = PYTHON_API_TIMEOUT_MS,
  ) {}

  /** The interpreter's path, or undefined (extension missing, or any failure). */
  async interpreter(resource: unknown): Promise<string | undefined> {
    try {
      const extension = this.getExtension();
      if (extension === undefined) return undefined; // not installed: nothing to log
      return await withTimeout(this.ask(extension, resource), this.timeoutMs);
    } catch (error) {
      if (!this.logged) {
        this.logged = true;
        const reason = error instanceof Error ? error.message : String(error);
        this.log(`the Python extension's active environment is not used (${PYTHON_EXTENSION_ID}: ${reason})`);
      }
      return undefined;
    }
  }

  private async ask(extension: ExtensionLike, resource: unknown): Promise<string | undefined> {
    if (!extension.isActive) {
      await extension.activate();
    }
    const exports = extension.exports as { ready?: unknown; environments?: unknown } | undefined;
    if (isThenable(exports?.ready)) {
      await exports.ready;
    }
    const environments = exports?.environments;
    if (!isEnvironmentsApi(environments)) {
      throw new Error('its API has no environments.getActiveEnvironmentPath / resolveEnvironment');
    }
    const active = environments.getActiveEnvironmentPath(resource);
    if (!active?.path) return undefined;
    const resolved = await environments.resolveEnvironment(active);
    const executable = resolved?.executable?.uri?.fsPath;
    if (!executable) {
      throw new Error(`the active environment ${active.path} could not be resolved to an interpreter`);
    }
    return executable;
  }
}
