// The shared daemon over its Unix socket, as the extension reaches it (connectShared):
// the real daemon started in a private folder; and a socket served by someone else (a
// folder other users can open, a symbolic link, another user's socket) refused before
// anything connects to it, so no code is sent to it and no result taken from it.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';

import * as P from '../../src/protocol';
import { DaemonCommand } from '../../src/core/daemonCommand';
import { UnsafePath } from '../../src/core/privateFolder';
import { connectChecked, connectShared } from '../../src/core/sharedDaemon';
import { daemonCommand, InitializeResultLike, sleep } from './daemon';

const TIMEOUT = 60_000;
const OTHER_UID = 65534;
const isRoot = process.getuid?.() === 0;

let tmp = '';
let env: NodeJS.ProcessEnv = {};
let command: DaemonCommand;
const logged: string[] = [];
const log = (line: string): void => {
  logged.push(line);
};

/** A stand-in for another user's server: counts the connections it accepts. */
class FakeDaemon {
  accepted = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((c) => {
    this.accepted += 1;
    this.sockets.add(c);
    c.write('Content-Length: 2\r\n\r\n{}');
  });

  static async at(socketPath: string): Promise<FakeDaemon> {
    const fake = new FakeDaemon();
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(socketPath, () => resolve());
    });
    return fake;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.sockets) {
      c.destroy();
    }
    return closed;
  }
}

/** A folder of another user when the tests run as root; else ours (the mode still makes it unsafe). */
function othersFolder(name: string, mode: number): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.chmodSync(dir, mode);
  if (isRoot) {
    fs.chownSync(dir, OTHER_UID, OTHER_UID);
  }
  return dir;
}

async function assertRefused(socketPath: string, where: string, what: RegExp): Promise<void> {
  await assert.rejects(
    connectShared({ command, env, socketPath, lingerSeconds: 5, log }),
    (error: unknown) => {
      assert.ok(error instanceof UnsafePath, `an UnsafePath, got ${String(error)}`);
      assert.ok(error.message.includes(where), `the message names ${where}: ${error.message}`);
      assert.match(error.message, what);
      return true;
    },
  );
}

describe('the shared daemon socket', { timeout: 180_000 }, () => {
  before(() => {
    command = { command: daemonCommand(), args: ['serve'], source: 'setting' };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-it-shared-'));
    const dirs: Record<string, string> = {};
    for (const name of ['CONFIG', 'DATA', 'STATE', 'CACHE', 'LOG']) {
      dirs[`RUNBRIDGE_${name}_DIR`] = path.join(tmp, name.toLowerCase());
      fs.mkdirSync(dirs[`RUNBRIDGE_${name}_DIR`]);
    }
    env = { ...process.env, HOME: tmp, ...dirs };
    for (const name of ['RUNBRIDGE_CONFIG', 'RUNBRIDGE_PROFILE', 'RUNBRIDGE_OUTPUT_CAP_MB']) {
      delete env[name];
    }
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  });

  test('starts the real daemon in a private folder it creates, and talks to it', { timeout: TIMEOUT }, async () => {
    const folder = path.join(tmp, 'runbridge');
    const socketPath = path.join(folder, 'vscode-test.sock');
    const socket = await connectShared({ command, env, socketPath, lingerSeconds: 30, log });
    const info = fs.lstatSync(folder);
    assert.ok(info.isDirectory());
    assert.equal(info.mode & 0o777, 0o700);
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    connection.listen();
    try {
      const result = await connection.sendRequest<InitializeResultLike>('initialize', {
        processId: process.pid,
        rootUri: null,
        capabilities: {},
        initializationOptions: {},
      });
      assert.equal(result.capabilities.experimental?.runbridge?.protocolVersion, P.PROTOCOL_VERSION);
      await connection.sendNotification('initialized', {});
      // A second connect reattaches to the same daemon (the check passes for our own socket).
      (await connectShared({ command, env, socketPath, lingerSeconds: 30, log })).destroy();
      assert.ok(logged.some((l) => l.includes(`reattached to the shared daemon on ${socketPath}`)), logged.join('\n'));
      await connection.sendRequest(P.STOP_DAEMON, {});
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
    } finally {
      connection.dispose();
      socket.destroy();
    }
    // The daemon exits: its socket stops answering.
    for (;;) {
      try {
        (await connectChecked(socketPath)).destroy();
      } catch {
        break;
      }
      await sleep(100);
    }
  });

  test('refuses a folder other users can open, and never connects to the socket served there', { timeout: TIMEOUT }, async () => {
    const folder = othersFolder('open', 0o777);
    const socketPath = path.join(folder, 'vscode-test.sock');
    const fake = await FakeDaemon.at(socketPath);
    try {
      // (as root the folder is also another user's, and that is said first)
      await assertRefused(
        socketPath,
        folder,
        isRoot ? new RegExp(`belongs to another user \\(uid ${OTHER_UID}\\)`) : /other users can open it \(mode 0777\)/,
      );
    } finally {
      await fake.close();
    }
    assert.equal(fake.accepted, 0, 'connected to the socket of a folder others can open');
    assert.equal(fs.lstatSync(folder).mode & 0o7777, 0o777, 'the folder was changed');
  });

  test('refuses a symbolic link at the folder path', { timeout: TIMEOUT }, async () => {
    const target = othersFolder('link-target', 0o700);
    const fake = await FakeDaemon.at(path.join(target, 'vscode-test.sock'));
    const link = path.join(tmp, 'link');
    fs.symlinkSync(target, link);
    try {
      await assertRefused(path.join(link, 'vscode-test.sock'), link, /symbolic link/);
    } finally {
      await fake.close();
    }
    assert.equal(fake.accepted, 0, 'connected through a symbolic link');
  });

  test('refuses a symbolic link at the socket path', { timeout: TIMEOUT }, async () => {
    const folder = path.join(tmp, 'ours');
    fs.mkdirSync(folder, { mode: 0o700 });
    const elsewhere = othersFolder('elsewhere', 0o755);
    const fake = await FakeDaemon.at(path.join(elsewhere, 'evil.sock'));
    const socketPath = path.join(folder, 'vscode-test.sock');
    fs.symlinkSync(path.join(elsewhere, 'evil.sock'), socketPath);
    try {
      await assertRefused(socketPath, socketPath, /symbolic link/);
    } finally {
      await fake.close();
    }
    assert.equal(fake.accepted, 0, 'connected through a symbolic link');
    assert.ok(fs.lstatSync(socketPath).isSymbolicLink(), 'the link was removed');
  });

  test(
    'refuses a socket of another user in our folder',
    { timeout: TIMEOUT, skip: isRoot ? false : 'needs root to give the socket to another user (lchown); CI runs as root' },
    async () => {
      const folder = path.join(tmp, 'ours-theirs');
      fs.mkdirSync(folder, { mode: 0o700 });
      const socketPath = path.join(folder, 'vscode-test.sock');
      const fake = await FakeDaemon.at(socketPath);
      fs.lchownSync(socketPath, OTHER_UID, OTHER_UID);
      try {
        await assertRefused(socketPath, socketPath, new RegExp(`another user \\(uid ${OTHER_UID}\\)`));
      } finally {
        await fake.close();
      }
      assert.equal(fake.accepted, 0, 'connected to the socket of another user');
    },
  );
});
