// The session host as the extension reaches it (src/core/sessionHost.ts), against the real
// `runbridge serve --host` on a socket in a temp folder: started detached when none runs,
// one host for clients that start it at once, a second client seeing the first one's
// variables, a window coming back (history replayed and stitched with live output through
// SessionStream, with no gap and no duplicate; its terminal reattached with its output),
// Stop ending the host, and a socket served by someone else refused before anything
// connects to it.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createMessageConnection,
  MessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
} from 'vscode-jsonrpc/node';

import { RunbridgeApi } from '../../src/api';
import { DaemonCommand } from '../../src/core/daemonCommand';
import { UnsafePath } from '../../src/core/privateFolder';
import { historyParams, SessionStream } from '../../src/core/replay';
import { connectOrStartHost, hostRunning, waitHostGone } from '../../src/core/sessionHost';
import * as P from '../../src/protocol';
import { Collected, daemonCommand, InitializeResultLike, peerOf, sleep } from './daemon';

const TIMEOUT = 90_000;
const OTHER_UID = 65534;
const isRoot = process.getuid?.() === 0;

let tmp = '';
let env: NodeJS.ProcessEnv = {};
let command: DaemonCommand;
let socketPath = '';
const logged: string[] = [];
const log = (line: string): void => {
  logged.push(line);
};
const clients: HostClient[] = [];

/** One connection to the host, as a window is: initialize, then the typed API. */
class HostClient {
  readonly events = new Collected();
  readonly api: RunbridgeApi;
  /** Live output goes through here when a test reattaches like the extension does. */
  stream: SessionStream | undefined;
  readonly shown: P.OutputParams[] = [];
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private constructor(
    readonly socket: net.Socket,
    readonly connection: MessageConnection,
  ) {
    const wake = (): void => this.waiters.forEach((w) => w());
    this.api = new RunbridgeApi(peerOf(connection), {
      output: (p) => {
        this.events.outputs.push({ ...p, at: performance.now() });
        if (this.stream) {
          this.shown.push(...this.stream.live(p));
        }
        wake();
      },
      sessionChanged: (info) => {
        this.events.sessionChanges.push({ ...info, at: performance.now() });
        wake();
      },
      terminalOutput: (p) => {
        this.events.terminalOutputs.push(p);
        wake();
      },
      terminalExit: (p) => {
        this.events.terminalExits.push(p);
        wake();
      },
      input: async () => null,
    });
    socket.on('close', () => {
      this.closed = true;
      wake();
    });
  }

  static async connect(): Promise<HostClient> {
    const socket = await connectOrStartHost({ command, env, socketPath, log });
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    const client = new HostClient(socket, connection);
    clients.push(client);
    connection.listen();
    const result = await connection.sendRequest<InitializeResultLike>('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
      initializationOptions: {},
    });
    assert.equal(result.capabilities.experimental?.runbridge?.protocolVersion, P.PROTOCOL_VERSION);
    await connection.sendNotification('initialized', {});
    return client;
  }

  waitFor<T>(pred: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = pred();
        if (value !== undefined && value !== false) {
          done();
          resolve(value);
        } else if (this.closed) {
          done();
          reject(new Error(`the connection closed waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Leave as the extension does on deactivate: shutdown, then exit after its reply. */
  async leave(): Promise<void> {
    if (!this.closed) {
      await this.connection.sendRequest('shutdown').catch(() => undefined);
      await this.connection.sendNotification('exit').catch(() => undefined);
    }
    this.connection.dispose();
    this.socket.destroy();
  }
}

/** Pids of the hosts serving our socket (from /proc: what `ps` would show). */
function hostPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('--host') && cmd.includes(socketPath)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** A stand-in for another user's server: counts the connections it accepts. */
class FakeHost {
  accepted = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((c) => {
    this.accepted += 1;
    this.sockets.add(c);
  });

  static async at(file: string): Promise<FakeHost> {
    const fake = new FakeHost();
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(file, () => resolve());
    });
    return fake;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.sockets.forEach((c) => c.destroy());
    return closed;
  }
}

function othersFolder(name: string, mode: number): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.chmodSync(dir, mode);
  if (isRoot) {
    fs.chownSync(dir, OTHER_UID, OTHER_UID);
  }
  return dir;
}

async function assertRefused(file: string, where: string, what: RegExp): Promise<void> {
  await assert.rejects(connectOrStartHost({ command, env, socketPath: file, log, timeoutMs: 5_000 }), (error: unknown) => {
    assert.ok(error instanceof UnsafePath, `an UnsafePath, got ${String(error)}`);
    assert.ok(error.message.includes(where), `the message names ${where}: ${error.message}`);
    assert.match(error.message, what);
    return true;
  });
}

async function stopHost(): Promise<void> {
  if (await hostRunning(socketPath).catch(() => false)) {
    const c = await HostClient.connect();
    await c.api.stopDaemon();
    await c.leave();
  }
  assert.ok(await waitHostGone(socketPath), 'the host still answers after stopDaemon');
}

describe('the session host', { timeout: 300_000 }, () => {
  before(() => {
    command = { command: daemonCommand(), args: ['serve'], source: 'setting' };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-it-host-'));
    const dirs: Record<string, string> = {};
    for (const name of ['CONFIG', 'DATA', 'STATE', 'CACHE', 'LOG']) {
      dirs[`RUNBRIDGE_${name}_DIR`] = path.join(tmp, name.toLowerCase());
      fs.mkdirSync(dirs[`RUNBRIDGE_${name}_DIR`]);
    }
    env = { ...process.env, HOME: tmp, ...dirs, RUNBRIDGE_STANDALONE: '1' };
    for (const name of ['RUNBRIDGE_CONFIG', 'RUNBRIDGE_PROFILE', 'RUNBRIDGE_OUTPUT_CAP_MB', 'RUNBRIDGE_HOST_SOCKET']) {
      delete env[name];
    }
    socketPath = path.join(tmp, 'run', 'host.sock');
  });

  after(async () => {
    for (const c of clients) {
      c.connection.dispose();
      c.socket.destroy();
    }
    for (const pid of hostPids()) {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 50 && hostPids().length; i++) {
      await sleep(100);
    }
    hostPids().forEach((pid) => process.kill(pid, 'SIGKILL'));
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  });

  test('two clients starting it at once end with one host, in a private folder it creates', { timeout: TIMEOUT }, async () => {
    // (RUNBRIDGE_STANDALONE=1 in the caller's environment is not passed on to the host)
    const [a, b] = await Promise.all([HostClient.connect(), HostClient.connect()]);
    assert.equal(fs.lstatSync(path.dirname(socketPath)).mode & 0o777, 0o700);
    assert.equal(fs.lstatSync(socketPath).mode & 0o777, 0o600);
    for (let i = 0; i < 150 && hostPids().length > 1; i++) {
      await sleep(100); // a loser exits at once (on an idle machine; its Python may still be starting)
    }
    assert.equal(hostPids().length, 1, `hosts on ${socketPath}: ${hostPids().join(', ')}`);
    const opened = await a.api.openSession({ name: 'shared' });
    const seen = await b.api.listSessions();
    assert.ok(seen.some((s) => s.name === 'shared' && s.workdir === opened.workdir), JSON.stringify(seen));
    await a.leave();
    await b.leave();
  });

  test('a variable set by one client is seen by another; a follower gets its runs', { timeout: TIMEOUT }, async () => {
    const window = await HostClient.connect();
    await window.api.run({ session: 'shared', code: 'answer = 41' });
    const other = await HostClient.connect();
    const follower = await HostClient.connect();
    assert.deepEqual(await follower.api.follow('shared'), { session: 'shared', follow: true });
    const result = await other.api.run({ session: 'shared', code: 'print(answer + 1)' });
    assert.equal(result.status, 'finished');
    await other.waitFor(() => other.events.textOf(result.runId).includes('42\n'), 'the second client sees answer');
    await follower.waitFor(() => follower.events.textOf(result.runId) === '42\n', 'the follower gets the run');
    // the window that set it is not following what others run unless it ran there: it did
    await window.waitFor(() => window.events.textOf(result.runId) === '42\n', 'the window that ran there follows');
    await Promise.all([window.leave(), other.leave(), follower.leave()]);
  });

  test('a window that comes back replays history and live output with no gap or duplicate', { timeout: TIMEOUT }, async () => {
    const first = await HostClient.connect();
    await first.api.run({ session: 'shared', code: 'print("before the reload")' });
    // a run still printing while the window reloads
    const flood = 'import time\nfor i in range(60):\n    print(f"line {i}", flush=True)\n    time.sleep(0.03)';
    const running = first.api.run({ session: 'shared', code: flood });
    await first.waitFor(() => first.events.outputs.some((o) => o.console.some(([, d]) => d.includes('line 5'))), 'the flood');
    // the run goes on without the window (its connection ends: the run is not cancelled)
    running.catch(() => undefined);
    await first.leave();
    const back = await HostClient.connect();
    const stream = new SessionStream();
    back.stream = stream;
    stream.hold();
    await back.api.follow('shared');
    const params = historyParams('shared', { runs: 5, maxMb: 1 });
    assert.ok(params);
    const stitched = stream.release(await back.api.history(params));
    back.shown.push(...stitched.live);
    const earlier = stitched.runs.find((r) => r.code === 'print("before the reload")');
    assert.ok(earlier, `the earlier run is replayed: ${JSON.stringify(stitched.runs.map((r) => r.code))}`);
    const floodRun = stitched.runs.find((r) => r.code === flood);
    assert.ok(floodRun, 'the run in progress is replayed');
    await back.waitFor(
      () => back.shown.some((o) => o.runId === floodRun.runId && o.console.some(([, d]) => d.includes('line 59'))),
      'the rest of the flood, live',
      30_000,
    );
    const text = [
      ...floodRun.batches.flatMap((b) => b.console),
      ...back.shown.filter((o) => o.runId === floodRun.runId).flatMap((o) => o.console),
    ]
      .filter(([k]) => k === 'stdout')
      .map(([, d]) => d)
      .join('');
    assert.equal(text, Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(''));
    // a reconnect asks only for what came after the last notification shown
    const position = stream.position;
    assert.deepEqual(position?.runId, floodRun.runId);
    const again = await back.api.history(historyParams('shared', { runs: 5, maxMb: 1 }, position)!);
    assert.equal(again.afterFound, true);
    assert.deepEqual(again.runs.flatMap((r) => r.batches), []);
    await back.leave();
  });

  test('a terminal outlives its window; the next window reattaches with its output; closing ends it', { timeout: TIMEOUT }, async () => {
    const first = await HostClient.connect();
    const id = await first.api.openTerminal('shared', 24, 80);
    await first.api.terminalInput(id, 'echo rb-$((6*7))\n');
    await first.waitFor(() => first.events.terminalText(id).includes('rb-42'), 'the shell echo');
    await first.leave();
    const back = await HostClient.connect();
    const listed = await back.api.listTerminals();
    assert.deepEqual(listed.find((t) => t.terminalId === id), { terminalId: id, session: 'shared', attached: 0 });
    const attached = await back.api.attachTerminal(id);
    assert.equal(attached.session, 'shared');
    assert.match(attached.replay, /rb-42/);
    await back.api.terminalInput(id, 'echo again-$((6*7))\n');
    await back.waitFor(() => back.events.terminalText(id).includes('again-42'), 'live output after attaching');
    await back.api.closeTerminal(id);
    await back.waitFor(() => back.events.terminalExits.some((e) => e.terminalId === id), 'terminalExit');
    assert.deepEqual((await back.api.listTerminals()).filter((t) => t.terminalId === id), []);
    await back.leave();
  });

  test('stopDaemon ends the host for everyone; the next client starts a new one at once', { timeout: TIMEOUT }, async () => {
    const bystander = await HostClient.connect();
    await stopHost();
    await bystander.waitFor(() => bystander.socket.destroyed || bystander.socket.readyState === 'closed', 'the other client disconnected').catch(() => undefined);
    assert.equal(await hostRunning(socketPath), false);
    const fresh = await HostClient.connect();
    assert.deepEqual(await fresh.api.listSessions(), [], 'the local session closed with the old host');
    await fresh.leave();
    await stopHost();
    // Its socket goes first; the process ends a moment later (at once on an idle machine).
    for (let i = 0; i < 100 && hostPids().length; i++) {
      await sleep(100);
    }
    assert.deepEqual(hostPids(), [], 'a host process outlived stopDaemon by 10 s');
  });

  test('refuses a folder other users can open, and never connects to the socket served there', { timeout: TIMEOUT }, async () => {
    const folder = othersFolder('open', 0o777);
    const fake = await FakeHost.at(path.join(folder, 'host.sock'));
    try {
      await assertRefused(
        path.join(folder, 'host.sock'),
        folder,
        isRoot ? new RegExp(`belongs to another user \\(uid ${OTHER_UID}\\)`) : /other users can open it \(mode 0777\)/,
      );
    } finally {
      await fake.close();
    }
    assert.equal(fake.accepted, 0);
    assert.equal(fs.lstatSync(folder).mode & 0o7777, 0o777, 'the folder was changed');
  });

  test('refuses a symbolic link at the socket path (and at the folder path)', { timeout: TIMEOUT }, async () => {
    const folder = path.join(tmp, 'ours');
    fs.mkdirSync(folder, { mode: 0o700 });
    const elsewhere = othersFolder('elsewhere', 0o755);
    const fake = await FakeHost.at(path.join(elsewhere, 'evil.sock'));
    const link = path.join(folder, 'host.sock');
    fs.symlinkSync(path.join(elsewhere, 'evil.sock'), link);
    const folderLink = path.join(tmp, 'link');
    fs.symlinkSync(folder, folderLink);
    try {
      await assertRefused(link, link, /symbolic link/);
      await assertRefused(path.join(folderLink, 'host.sock'), folderLink, /symbolic link/);
    } finally {
      await fake.close();
    }
    assert.equal(fake.accepted, 0, 'connected through a symbolic link');
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link was removed');
  });
});
