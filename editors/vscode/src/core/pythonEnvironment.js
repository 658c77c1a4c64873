"use strict";
// The interpreter of the Python extension's active environment, read through that
// extension's public API (`ms-python.python`, exports.environments, as published in
// `@vscode/python-extension`). Pure: no `vscode` import; the extension comes in through
// a callback, so the tests drive it with fake extension objects.
Object.defineProperty(exports, "__esModule", { value: true });
exports.PythonEnvironmentLookup = exports.PYTHON_API_TIMEOUT_MS = exports.PYTHON_EXTENSION_ID = void 0;
exports.PYTHON_EXTENSION_ID = 'ms-python.python';
/** How long activating the Python extension and asking it may take before runbridge goes on without it. */
exports.PYTHON_API_TIMEOUT_MS = 3000;
function isEnvironmentsApi(value) {
    const api = value;
    return (typeof api === 'object' &&
        api !== null &&
        typeof api.getActiveEnvironmentPath === 'function' &&
        typeof api.resolveEnvironment === 'function');
}
function isThenable(value) {
    return typeof value?.then === 'function';
}
/** `work` or, past `ms` milliseconds, a rejection (the timer is cleared as soon as either settles). */
function withTimeout(work, ms) {
    let timer;
    const timeout = new Promise((_resolve, reject) => {
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
class PythonEnvironmentLookup {
    getExtension;
    log;
    timeoutMs;
    logged = false;
    constructor(getExtension, log, timeoutMs = exports.PYTHON_API_TIMEOUT_MS) {
        this.getExtension = getExtension;
        this.log = log;
        this.timeoutMs = timeoutMs;
    }
    /** The interpreter's path, or undefined (extension missing, or any failure). */
    async interpreter(resource) {
        try {
            const extension = this.getExtension();
            if (extension === undefined)
                return undefined; // not installed: nothing to log
            return await withTimeout(this.ask(extension, resource), this.timeoutMs);
        }
        catch (error) {
            if (!this.logged) {
                this.logged = true;
                const reason = error instanceof Error ? error.message : String(error);
                this.log(`the Python extension's active environment is not used (${exports.PYTHON_EXTENSION_ID}: ${reason})`);
            }
            return undefined;
        }
    }
    async ask(extension, resource) {
        if (!extension.isActive) {
            await extension.activate();
        }
        const exports = extension.exports;
        if (isThenable(exports?.ready)) {
            await exports.ready;
        }
        const environments = exports?.environments;
        if (!isEnvironmentsApi(environments)) {
            throw new Error('its API has no environments.getActiveEnvironmentPath / resolveEnvironment');
        }
        const active = environments.getActiveEnvironmentPath(resource);
        if (!active?.path)
            return undefined;
        const resolved = await environments.resolveEnvironment(active);
        const executable = resolved?.executable?.uri?.fsPath;
        if (!executable) {
            throw new Error(`the active environment ${active.path} could not be resolved to an interpreter`);
        }
        return executable;
    }
}
exports.PythonEnvironmentLookup = PythonEnvironmentLookup;
