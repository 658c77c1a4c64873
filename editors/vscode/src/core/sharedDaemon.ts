// The shared daemon (`runbridge serve --socket PATH`): where its socket lives, and
// connecting to it, starting it when none serves the socket. No `vscode` import, so the
// integration tests drive it against the real daemon.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DaemonCommand } from './daemonCommand';

/**
 * The shared daemon's socket: one per workspace, daemon command and environment, in a
 * private folder of the temp directory (Unix socket paths must stay short).
 */
export function sharedSocketPath(
  command: DaemonCommand,
  env: NodeJS.ProcessEnv,
  workspace: string | undefined,
): string {
  const key = JSON.stringify([workspace ?? '', command.command, command.args, env.RUNBRIDGE_CONFIG_DIR ?? '', env.RUNBRIDGE_DATA_DIR ?? '', env.RUNBRIDGE_STATE_DIR ?? '', env.RUNBRIDGE_CONFIG ?? '']);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `runbridge-${uid}`, `vscode-${hash}.sock`);
}

export function connectSocket(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export interface SharedDaemonStart {
  command: DaemonCommand;
  env: NodeJS.ProcessEnv;
  socketPath: string;
  lingerSeconds: number;
  log: (line: string) => void;
}

/**
 * Connect to the shared daemon of this workspace, starting it (detached, so it
 * outlives this window) when none serves the socket.
 */
export async function connectShared(start: SharedDaemonStart): Promise<net.Socket> {
  const { command, env, socketPath, lingerSeconds, log } = start;
  try {
    const socket = await connectSocket(socketPath);
    log(`reattached to the shared daemon on ${socketPath}`);
    return socket;
  } catch {
    // nobody serves it yet: start one
  }
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  const args = [...command.args, '--socket', socketPath, '--linger', String(lingerSeconds)];
  log(`starting a shared daemon: ${command.command} ${args.join(' ')}`);
  const child = spawn(command.command, args, { env, detached: true, stdio: 'ignore' });
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  child.once('error', (error) => {
    exit = error.message;
  });
  child.unref();
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await connectSocket(socketPath);
    } catch (error) {
      if (exit !== undefined) {
        throw new Error(`the runbridge daemon ended at start (${exit}); see "Runbridge: Show Daemon Log"`);
      }
      if (Date.now() > deadline) {
        throw new Error(`the runbridge daemon did not open ${socketPath} within 30 s: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
