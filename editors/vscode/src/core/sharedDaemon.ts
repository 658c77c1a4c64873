// The shared daemon (`runbridge serve --socket PATH`): where its socket lives, and
// connecting to it, starting it when none serves the socket. Every connect, and the
// start, first checks the socket's folder and path (privateFolder.ts). No `vscode`
// import, so the integration tests drive it against the real daemon.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DaemonCommand } from './daemonCommand';
import { ownUid, runtimeFolder, secureSocketPath, UnsafePath } from './privateFolder';

/**
 * The shared daemon's socket: one per workspace, daemon command and environment, in
 * `$XDG_RUNTIME_DIR/runbridge` or else `<tmpdir>/runbridge-<uid>` (see runtimeFolder;
 * Unix socket paths must stay short, hence the hashed name).
 */
export function sharedSocketPath(
  command: DaemonCommand,
  env: NodeJS.ProcessEnv,
  workspace: string | undefined,
): string {
  const key = JSON.stringify([workspace ?? '', command.command, command.args, env.RUNBRIDGE_CONFIG_DIR ?? '', env.RUNBRIDGE_DATA_DIR ?? '', env.RUNBRIDGE_STATE_DIR ?? '', env.RUNBRIDGE_CONFIG ?? '']);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(runtimeFolder(env, ownUid(), os.tmpdir()), `vscode-${hash}.sock`);
}

/** Connect to `socketPath` after checking its folder and path (UnsafePath: not connected). */
export function connectChecked(socketPath: string): Promise<net.Socket> {
  try {
    secureSocketPath(socketPath, ownUid());
  } catch (error) {
    return Promise.reject(error);
  }
  return connectSocket(socketPath);
}

function connectSocket(socketPath: string): Promise<net.Socket> {
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
    const socket = await connectChecked(socketPath);
    log(`reattached to the shared daemon on ${socketPath}`);
    return socket;
  } catch (error) {
    if (error instanceof UnsafePath) {
      throw error;
    }
    // nobody serves it yet: start one
  }
  secureSocketPath(socketPath, ownUid());
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
      return await connectChecked(socketPath);
    } catch (error) {
      if (error instanceof UnsafePath) {
        throw error;
      }
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
