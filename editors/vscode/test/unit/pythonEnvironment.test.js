"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const pythonEnvironment_1 = require("../../src/core/pythonEnvironment");
const FOLDER = { fsPath: '/proj', scheme: 'file' }; // stands for the workspace folder's Uri
/** The published `environments` API over one active environment per resource. */
function environmentsApi(interpreter, asked = []) {
    return {
        getActiveEnvironmentPath(resource) {
            asked.push(resource);
            return { id: 'ENV-ID', path: '/proj/.venv' };
        },
        async resolveEnvironment(environment) {
            strict_1.default.deepEqual(environment, { id: 'ENV-ID', path: '/proj/.venv' });
            return { executable: { uri: interpreter === undefined ? undefined : { fsPath: interpreter } } };
        },
    };
}
/** A fake `vscode.Extension`: `exports` appear once activate() resolves, as in VS Code. */
function extension(exports, activate) {
    const ext = {
        isActive: false,
        exports: undefined,
        activations: 0,
        async activate() {
            ext.activations += 1;
            if (activate)
                await activate();
            ext.isActive = true;
            ext.exports = exports;
            return exports;
        },
    };
    return ext;
}
function lookup(ext, timeoutMs = 2000) {
    const logs = [];
    const found = new pythonEnvironment_1.PythonEnvironmentLookup(() => ext, (line) => logs.push(line), timeoutMs);
    return { found, logs };
}
(0, node_test_1.describe)('PythonEnvironmentLookup', () => {
    (0, node_test_1.it)("activates the extension and gives the active environment's interpreter for the resource", async () => {
        const asked = [];
        const ext = extension({ ready: Promise.resolve(), environments: environmentsApi('/proj/.venv/bin/python', asked) });
        const { found, logs } = lookup(ext);
        strict_1.default.equal(await found.interpreter(FOLDER), '/proj/.venv/bin/python');
        strict_1.default.equal(await found.interpreter(FOLDER), '/proj/.venv/bin/python');
        strict_1.default.equal(ext.activations, 1); // already active the second time
        strict_1.default.deepEqual(asked, [FOLDER, FOLDER]);
        strict_1.default.deepEqual(logs, []);
    });
    (0, node_test_1.it)('is undefined, with nothing logged, when the extension is not installed', async () => {
        const { found, logs } = lookup(undefined);
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        strict_1.default.deepEqual(logs, []);
    });
    (0, node_test_1.it)('is undefined, logged once, when activate throws', async () => {
        const ext = extension({ environments: environmentsApi('/x/bin/python') }, async () => {
            throw new Error('activation exploded');
        });
        const { found, logs } = lookup(ext);
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        strict_1.default.equal(ext.activations, 2);
        strict_1.default.equal(logs.length, 1);
        strict_1.default.match(logs[0], /ms-python\.python: activation exploded/);
    });
    (0, node_test_1.it)('gives up after the timeout when activate hangs', async () => {
        const ext = extension({ environments: environmentsApi('/x/bin/python') }, () => new Promise(() => undefined));
        const { found, logs } = lookup(ext, 50);
        const started = Date.now();
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        const elapsed = Date.now() - started;
        strict_1.default.ok(elapsed >= 45 && elapsed < 1000, `took ${elapsed} ms`);
        strict_1.default.deepEqual(logs, ["the Python extension's active environment is not used (ms-python.python: no answer within 50 ms)"]);
    });
    (0, node_test_1.it)('is undefined, logged once, when the API has no environments', async () => {
        for (const exports of [{}, undefined, { environments: { getActiveEnvironmentPath: () => undefined } }]) {
            const { found, logs } = lookup(extension(exports));
            strict_1.default.equal(await found.interpreter(FOLDER), undefined);
            strict_1.default.equal(logs.length, 1);
            strict_1.default.match(logs[0], /has no environments\.getActiveEnvironmentPath \/ resolveEnvironment/);
        }
    });
    (0, node_test_1.it)('is undefined, logged, when the active environment does not resolve to an interpreter', async () => {
        const { found, logs } = lookup(extension({ environments: environmentsApi(undefined) }));
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        strict_1.default.equal(logs.length, 1);
        strict_1.default.match(logs[0], /the active environment \/proj\/\.venv could not be resolved/);
    });
    (0, node_test_1.it)('logs only the first failure of any kind', async () => {
        let fail = 'throw';
        const ext = extension({ environments: environmentsApi('/x/bin/python') }, () => fail === 'throw' ? Promise.reject(new Error('first')) : new Promise(() => undefined));
        const { found, logs } = lookup(ext, 30);
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        fail = 'hang';
        strict_1.default.equal(await found.interpreter(FOLDER), undefined);
        strict_1.default.equal(logs.length, 1);
        strict_1.default.match(logs[0], /first/);
    });
});
