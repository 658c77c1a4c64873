// The session picker's "on the server" rows against the real daemon and a real Jupyter
// Server: a notebook's kernel started as JupyterLab starts one (POST /api/sessions) is
// listed by runbridge/listRemote, laid out under "on the server" (remotePicks), attached
// with the offered name (openSession {attach}), keeps its variables across a close (which
// only lets go of it) and is destroyed by closeSession {destroy}.

import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { remotePicks, SERVER_SEPARATOR } from '../../src/core/remotePicks';
import { Daemon, repoRoot, sleep, withDaemon } from './daemon';

const TIMEOUT = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A Jupyter Server of the repository's venv on 127.0.0.1 with a random token. */
class JupyterServer {
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
    readonly token: string,
    readonly root: string,
  ) {}

  static async start(): Promise<JupyterServer> {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-it-jupyter-'));
    const root = path.join(base, 'root');
    fs.mkdirSync(path.join(root, 'work'), { recursive: true });
    const port = await freePort();
    const token = crypto.randomBytes(24).toString('hex');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: base,
      JUPYTER_CONFIG_DIR: path.join(base, 'config'),
      JUPYTER_DATA_DIR: path.join(base, 'data'),
      JUPYTER_RUNTIME_DIR: path.join(base, 'runtime'),
      JUPYTER_PLATFORM_DIRS: '1',
    };
    const python = path.join(repoRoot(), '.venv', 'bin', 'python');
    const proc = spawn(
      python,
      ['-m', 'jupyter_server', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
        `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`, '--allow-root'],
      { env, stdio: 'ignore', detached: true },
    );
    const server = new JupyterServer(proc, `http://127.0.0.1:${port}`, token, root);
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${server.url}/api`, { headers: server.headers })).ok) {
          return server;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    server.stop();
    throw new Error('the Jupyter Server did not answer GET /api within 30 s');
  }

  get headers(): Record<string, string> {
    return { Authorization: `token ${this.token}` };
  }

  async api(method: string, route: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: { ...this.headers, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${route}: HTTP ${response.status}`);
    const text = await response.text();
    return text ? JSON.parse(text) : undefined;
  }

  async kernelIds(): Promise<string[]> {
    return ((await this.api('GET', '/api/kernels')) as Array<{ id: string }>).map((k) => k.id);
  }

  stop(): void {
    try {
      process.kill(-this.proc.pid!, 'SIGTERM');
    } catch {
      // gone already
    }
  }
}

describe('attach to a kernel on the server', { timeout: 180_000 }, () => {
  let server: JupyterServer | undefined;
  let d: Daemon | undefined;

  before(async () => {
    server = await JupyterServer.start();
    d = await Daemon.start({
      label: 'attach',
      initializationOptions: {
        profiles: {
          jup: { type: 'jupyter', url: server.url, token: server.token },
          // a server that is not there: its failure is reported, the other profile is listed
          down: { type: 'jupyter', url: 'http://127.0.0.1:9/', token: 'unused-token' },
        },
      },
    });
  });

  after(async () => {
    if (d !== undefined) {
      await d.stop();
    }
    server?.stop();
  });

  test('the notebook kernel is listed under "on the server", attached, detached, reattached, destroyed', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const notebook = await server!.api('POST', '/api/sessions', {
      path: 'work/nb.ipynb', type: 'notebook', kernel: { name: 'python3' },
    });
    const kernelId: string = notebook.kernel.id;
    const everywhere = await d.api.listRemote({ allProfiles: true });
    assert.deepEqual(everywhere.failures.map((f) => [f.profile, f.code, f.kind]), [['down', -32020, 'JupyterUnreachable']]);
    assert.ok(!everywhere.failures[0].message.includes('unused-token'), everywhere.failures[0].message);
    const rows = remotePicks(everywhere);
    assert.equal(rows[0].label, SERVER_SEPARATOR);
    assert.equal(rows[0].separator, true);
    const row = rows.find((r) => r.remote?.id === kernelId);
    assert.ok(row, `rows: ${JSON.stringify(rows)}`);
    assert.equal(row.label, 'work/nb.ipynb');
    assert.match(row.description ?? '', /^python3 · \w+ · \d+ connections?/);
    assert.equal(row.remote?.profile, 'jup');
    assert.equal(row.detail, undefined, 'one profile listed: rows do not name it');

    const name = row.remote?.suggestedName ?? '';
    assert.equal(name, 'nb');
    const info = await d.api.openSession({ name, profile: row.remote?.profile, attach: kernelId });
    assert.equal(info.attached, true);
    assert.equal(info.created, false);
    assert.equal(info.remoteId, kernelId);
    assert.equal(info.workdir, 'work');
    assert.equal((await d.api.run({ session: name, code: 'x = 41' })).status, 'finished');
    const listed = remotePicks(await d.api.listRemote({ profile: 'jup' })).find((r) => r.remote?.id === kernelId);
    assert.match(listed?.description ?? '', / · attached as nb$/);

    const closed = await d.api.closeSession(name);
    assert.equal(closed.state, 'closed');
    assert.ok((await server!.kernelIds()).includes(kernelId), 'the kernel still runs on the server');

    await d.api.openSession({ name: 'nb-again', profile: 'jup', attach: kernelId });
    const result = await d.api.run({ session: 'nb-again', code: 'x + 1' });
    assert.deepEqual(d.events.consoleOf(result.runId), [['stdout', '42\n']]);

    await d.api.closeSession('nb-again', true);
    assert.ok(!(await server!.kernelIds()).includes(kernelId), 'destroyed on the server');
  }));
});
