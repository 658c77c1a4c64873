// The session host (`runbridge serve --host`): one per user, owning every session; every
// window, Neovim and the CLI connect to it. Where its socket is (as
// server/runbridge/host_socket.py computes it), the command lines that start it or the
// in-process daemon, and connecting to it, starting it detached when nobody serves the
// socket. Every connect, and the start, first checks the socket's folder and path
// (privateFolder.ts). No `vscode` import, so the integration tests drive it against the
// real host.

import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { DaemonCommand } from './daemonCommand';
import { ownUid, runtimeFolder, secureSocketPath, UnsafePath } from './privateFolder';

export const HOST_SOCKET_NAME = 'host.sock';
/** What host_socket.py allows: `sockaddr_un.sun_path` holds 108 bytes with the NUL on Linux. */
export const HOST_MAX_SOCKET_PATH_BYTES = 107;

/**
 * The host's socket: `RUNBRIDGE_HOST_SOCKET` when set, else `<runtime>/host.sock` where
 * `<runtime>` is `$XDG_RUNTIME_DIR/runbridge` (a private XDG_RUNTIME_DIR of ours, the path
 * short enough) or `<tmpdir>/runbridge-<uid>`: the same path the daemon and the CLI use.
 */
export function hostSocketPath(env: NodeJS.ProcessEnv, uid: number, tmpdir: string): string {
  const chosen = env.RUNBRIDGE_HOST_SOCKET;
  if (chosen) {
    return path.resolve(chosen);
  }
  const folder = runtimeFolder(env, uid, tmpdir, HOST_SOCKET_NAME.length, HOST_MAX_SOCKET_PATH_BYTES);
  return path.join(folder, HOST_SOCKET_NAME);
}

/** The daemon command turned into the host on `socketPath` (`... serve --host --socket PATH`). */
export function hostCommand(command: DaemonCommand, socketPath: string): DaemonCommand {
  return { ...command, args: [...command.args, '--host', '--socket', socketPath] };
}

/** The daemon command serving stdio in its own process (`... serve --standalone`): its
 * sessions end with it. */
export function standaloneCommand(command: DaemonCommand): DaemonCommand {
  return { ...command, args: [...command.args, '--standalone'] };
}

/** The environment of a host started from here: the in-process switch is dropped (it would
 * reach the host's terminals and the CLI run there). */
export function hostEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.RUNBRIDGE_STANDALONE;
  return copy;
}

/** Connect to `socketPath` after checking its folder and path (UnsafePath: not connected). */
export function connectChecked(socketPath: string): Promise<net.Socket> {
  try {
    secureSocketPath(socketPath, ownUid());
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Whether a host answers on `socketPath` now (never starts one; UnsafePath is thrown). */
export async function hostRunning(socketPath: string): Promise<boolean> {
  try {
    (await connectChecked(socketPath)).destroy();
    return true;
  } catch (error) {
    if (error instanceof UnsafePath) {
      throw error;
    }
    return false;
  }
}

/** Wait until nothing answers on `socketPath` (a stopped host has closed it); false on timeout. */
export async function waitHostGone(socketPath: string, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await hostRunning(socketPath).catch(() => false)) {
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

export interface HostStart {
  /** The daemon command (`runbridge serve`, or `python -m runbridge serve`). */
  command: DaemonCommand;
  env: NodeJS.ProcessEnv;
  socketPath: string;
  log: (line: string) => void;
  timeoutMs?: number;
}

/**
 * A connection to the host on `socketPath`, starting it (detached, so it outlives this
 * window) when nobody serves the socket. Race-free: a host takes a lock on the socket, so
 * of hosts started at once all but one exit with code 0; their starters keep polling the
 * socket (and start again if the winner was a host that was just stopping).
 */
export async function connectOrStartHost(start: HostStart): Promise<net.Socket> {
  const { command, env, socketPath, log } = start;
  const timeoutMs = start.timeoutMs ?? 30_000;
  try {
    const socket = await connectChecked(socketPath);
    log(`connected to the session host on ${socketPath}`);
    return socket;
  } catch (error) {
    if (error instanceof UnsafePath) {
      throw error;
    }
    // nobody serves it yet: start it
  }
  const host = hostCommand(command, socketPath);
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; detail: string } | undefined;
  let exitedAt = 0;
  const launch = (): void => {
    secureSocketPath(socketPath, ownUid());
    log(`starting the session host: ${host.command} ${host.args.join(' ')}`);
    exit = undefined;
    const child = spawn(host.command, host.args, {
      env: hostEnvironment(env),
      cwd: '/',
      detached: true,
      stdio: 'ignore',
    });
    child.once('exit', (code, signal) => {
      exit = { code, detail: signal ? `signal ${signal}` : `exit code ${code}` };
      exitedAt = Date.now();
    });
    child.once('error', (error) => {
      exit = { code: null, detail: error.message };
      exitedAt = Date.now();
    });
    child.unref();
  };
  launch();
  for (;;) {
    try {
      const socket = await connectChecked(socketPath);
      log(`connected to the session host on ${socketPath}`);
      return socket;
    } catch (error) {
      if (error instanceof UnsafePath) {
        throw error;
      }
      if (exit !== undefined && exit.code !== 0) {
        throw new Error(`the runbridge session host ended at start (${exit.detail}); see "Runbridge: Show Daemon Log"`);
      }
      if (Date.now() > deadline) {
        throw new Error(`no runbridge session host listened on ${socketPath} within ${timeoutMs / 1000} s: ${String(error)}`);
      }
      // Exit code 0: another host held the lock. It serves the socket soon, unless it was
      // one that was stopping: then nobody will, and this starter tries again.
      if (exit?.code === 0 && Date.now() - exitedAt > 2_000) {
        launch();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
