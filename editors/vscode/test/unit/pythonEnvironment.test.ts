import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionLike, PythonEnvironmentLookup } from '../../src/core/pythonEnvironment';

const FOLDER = { fsPath: '/proj', scheme: 'file' }; // stands for the workspace folder's Uri

/** The published `environments` API over one active environment per resource. */
function environmentsApi(interpreter: string | undefined, asked: unknown[] = []) {
  return {
    getActiveEnvironmentPath(resource?: unknown) {
      asked.push(resource);
      return { id: 'ENV-ID', path: '/proj/.venv' };
    },
    async resolveEnvironment(environment: { id: string; path: string }) {
      assert.deepEqual(environment, { id: 'ENV-ID', path: '/proj/.venv' });
      return { executable: { uri: interpreter === undefined ? undefined : { fsPath: interpreter } } };
    },
  };
}

/** A fake `vscode.Extension`: `exports` appear once activate() resolves, as in VS Code. */
function extension(exports: unknown, activate?: () => Promise<void>) {
  const ext = {
    isActive: false,
    exports: undefined as unknown,
    activations: 0,
    async activate() {
      ext.activations += 1;
      if (activate) await activate();
      ext.isActive = true;
      ext.exports = exports;
      return exports;
    },
  };
  return ext;
}

function lookup(ext: ExtensionLike | undefined, timeoutMs = 2000) {
  const logs: string[] = [];
  const found = new PythonEnvironmentLookup(() => ext, (line) => logs.push(line), timeoutMs);
  return { found, logs };
}

describe('PythonEnvironmentLookup', () => {
  it("activates the extension and gives the active environment's interpreter for the resource", async () => {
    const asked: unknown[] = [];
    const ext = extension({ ready: Promise.resolve(), environments: environmentsApi('/proj/.venv/bin/python', asked) });
    const { found, logs } = lookup(ext);
    assert.equal(await found.interpreter(FOLDER), '/proj/.venv/bin/python');
    assert.equal(await found.interpreter(FOLDER), '/proj/.venv/bin/python');
    assert.equal(ext.activations, 1); // already active the second time
    assert.deepEqual(asked, [FOLDER, FOLDER]);
    assert.deepEqual(logs, []);
  });

  it('is undefined, with nothing logged, when the extension is not installed', async () => {
    const { found, logs } = lookup(undefined);
    assert.equal(await found.interpreter(FOLDER), undefined);
    assert.deepEqual(logs, []);
  });

  it('is undefined, logged once, when activate throws', async () => {
    const ext = extension({ environments: environmentsApi('/x/bin/python') }, async () => {
      throw new Error('activation exploded');
    });
    const { found, logs } = lookup(ext);
    assert.equal(await found.interpreter(FOLDER), undefined);
    assert.equal(await found.interpreter(FOLDER), undefined);
    assert.equal(ext.activations, 2);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /ms-python\.python: activation exploded/);
  });

  it('gives up after the timeout when activate hangs', async () => {
    const ext = extension({ environments: environmentsApi('/x/bin/python') }, () => new Promise<void>(() => undefined));
    const { found, logs } = lookup(ext, 50);
    const started = Date.now();
    assert.equal(await found.interpreter(FOLDER), undefined);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 45 && elapsed < 1000, `took ${elapsed} ms`);
    assert.deepEqual(logs, ["the Python extension's active environment is not used (ms-python.python: no answer within 50 ms)"]);
  });

  it('is undefined, logged once, when the API has no environments', async () => {
    for (const exports of [{}, undefined, { environments: { getActiveEnvironmentPath: () => undefined } }]) {
      const { found, logs } = lookup(extension(exports));
      assert.equal(await found.interpreter(FOLDER), undefined);
      assert.equal(logs.length, 1);
      assert.match(logs[0], /has no environments\.getActiveEnvironmentPath \/ resolveEnvironment/);
    }
  });

  it('is undefined, logged, when the active environment does not resolve to an interpreter', async () => {
    const { found, logs } = lookup(extension({ environments: environmentsApi(undefined) }));
    assert.equal(await found.interpreter(FOLDER), undefined);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /the active environment \/proj\/\.venv could not be resolved/);
  });

  it('logs only the first failure of any kind', async () => {
    let fail: 'throw' | 'hang' = 'throw';
    const ext = extension({ environments: environmentsApi('/x/bin/python') }, () =>
      fail === 'throw' ? Promise.reject(new Error('first')) : new Promise<void>(() => undefined),
    );
    const { found, logs } = lookup(ext, 30);
    assert.equal(await found.interpreter(FOLDER), undefined);
    fail = 'hang';
    assert.equal(await found.interpreter(FOLDER), undefined);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /first/);
  });
});
