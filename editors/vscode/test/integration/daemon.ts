// Integration-test helper: start the real runbridge daemon over stdio (in process,
// `serve --standalone`: plain `serve` would relay to the user's session host), talk to it
// through RunbridgeApi on a vscode-jsonrpc MessageConnection (as the extension's
// client does), collect everything the daemon sends, and shut it down cleanly.

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MessageConnection,
  ResponseError,
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';

import {
  CancellationToken,
  RpcPeer,
  RunbridgeApi,
  RunbridgeEvents,
  isRpcError,
} from '../../src/api';
import * as P from '../../src/protocol';

/** Walk up from this file to the repository root (holds pyproject.toml and editors/). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (
      fs.existsSync(path.join(dir, 'pyproject.toml')) &&
      fs.existsSync(path.join(dir, 'editors'))
    ) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`runbridge repository root not found above ${__dirname}`);
    }
    dir = parent;
  }
}

/** The daemon executable: $RUNBRIDGE_DAEMON, else <repo>/.venv/bin/runbridge. */
export function daemonCommand(): string {
  const fromEnv = process.env.RUNBRIDGE_DAEMON;
  const command =
    fromEnv !== undefined && fromEnv !== ''
      ? path.resolve(fromEnv)
      : path.join(repoRoot(), '.venv', 'bin', 'runbridge');
  try {
    fs.accessSync(command, fs.constants.X_OK);
  } catch {
    throw new Error(
      `runbridge daemon not found or not executable: ${command}\n` +
        (fromEnv
          ? 'RUNBRIDGE_DAEMON must name the runbridge executable.'
          : 'Create the venv (python -m venv .venv && .venv/bin/pip install -e .) ' +
            'or set RUNBRIDGE_DAEMON to the runbridge executable.'),
    );
  }
  return command;
}

export interface LogMessage {
  type: number;
  message: string;
}

export interface ProgressNotice {
  token: string | number;
  value: { kind: string; title?: string; message?: string; percentage?: number };
}

/** Everything the daemon sent, in arrival order, with a monotonic arrival time (ms). */
export class Collected {
  readonly outputs: Array<P.OutputParams & { at: number }> = [];
  readonly sessionChanges: Array<P.SessionInfo & { at: number }> = [];
  readonly terminalOutputs: P.TerminalOutputParams[] = [];
  readonly terminalExits: P.TerminalExitParams[] = [];
  readonly inputs: P.InputParams[] = [];
  readonly documentBounds: P.DocumentBound[] = [];
  readonly logMessages: LogMessage[] = [];
  readonly progress: ProgressNotice[] = [];
  readonly progressCreated: Array<string | number> = [];

  outputsOf(runId: string): P.OutputParams[] {
    return this.outputs.filter((o) => o.runId === runId);
  }

  /** The run's console records, in seq order. */
  consoleOf(runId: string): P.ConsoleRecord[] {
    return this.outputsOf(runId)
      .sort((a, b) => a.seq - b.seq)
      .flatMap((o) => o.console);
  }

  /** All text of one kind (`stdout` by default) a run printed. */
  textOf(runId: string, kind = 'stdout'): string {
    return this.consoleOf(runId)
      .filter(([k]) => k === kind)
      .map(([, d]) => d)
      .join('');
  }

  terminalText(terminalId: string): string {
    return this.terminalOutputs
      .filter((o) => o.terminalId === terminalId)
      .map((o) => o.data)
      .join('');
  }

  statesOf(session: string): P.SessionState[] {
    return this.sessionChanges.filter((s) => s.name === session).map((s) => s.state);
  }
}

export type InputAnswer = (
  params: P.InputParams,
  token: CancellationToken,
) => Promise<string | null> | string | null;

export interface InitializeResultLike {
  capabilities: { experimental?: { runbridge?: P.ServerInfo } } & Record<string, unknown>;
  serverInfo?: { name: string; version?: string };
}

export interface StartOptions {
  /** A short name for the temp folder (the test file). */
  label: string;
  initializationOptions?: P.InitializationOptions;
}

export class Daemon {
  readonly events = new Collected();
  /** How `runbridge/input` requests are answered; tests replace it. */
  answerInput: InputAnswer = () => {
    throw new Error('unexpected runbridge/input request');
  };
  readonly api: RunbridgeApi;
  /** The collecting RunbridgeEvents behind `api` (vscode-jsonrpc keeps one handler per
   * method, so another RunbridgeApi on the same connection must reuse it). */
  readonly sink: RunbridgeEvents;
  initializeResult!: InitializeResultLike;
  private stderrText = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();
  private shutDown = false;

  private constructor(
    readonly proc: ChildProcess,
    readonly connection: MessageConnection,
    readonly tmp: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.stderrText += chunk;
      if (this.stderrText.length > 200_000) {
        this.stderrText = this.stderrText.slice(-100_000);
      }
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
        this.wake();
      });
    });
    const ev = this.events;
    const now = (): number => performance.now();
    this.sink = {
      output: (p) => {
        ev.outputs.push({ ...p, at: now() });
        this.wake();
      },
      sessionChanged: (info) => {
        ev.sessionChanges.push({ ...info, at: now() });
        this.wake();
      },
      terminalOutput: (p) => {
        ev.terminalOutputs.push(p);
        this.wake();
      },
      terminalExit: (p) => {
        ev.terminalExits.push(p);
        this.wake();
      },
      documentBound: (p) => {
        ev.documentBounds.push(p);
        this.wake();
      },
      input: async (p, token) => {
        ev.inputs.push(p);
        this.wake();
        return this.answerInput(p, token);
      },
    };
    this.api = new RunbridgeApi(peerOf(connection), this.sink);
    // What vscode-languageclient handles itself when workDoneProgress is announced.
    connection.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
      ev.progressCreated.push(p.token);
      return null;
    });
    connection.onNotification('$/progress', (p: ProgressNotice) => {
      ev.progress.push(p);
      this.wake();
    });
    connection.onNotification('window/logMessage', (p: LogMessage) => {
      ev.logMessages.push(p);
      this.wake();
    });
    connection.onNotification('window/showMessage', (p: LogMessage) => {
      ev.logMessages.push(p);
    });
  }

  /** Spawn the daemon in a fresh temp home and complete the LSP handshake. */
  static async start(options: StartOptions): Promise<Daemon> {
    const command = daemonCommand();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rb-it-${options.label}-`));
    const dirs = {
      RUNBRIDGE_CONFIG_DIR: path.join(tmp, 'config'),
      RUNBRIDGE_DATA_DIR: path.join(tmp, 'data'),
      RUNBRIDGE_STATE_DIR: path.join(tmp, 'state'),
      RUNBRIDGE_CACHE_DIR: path.join(tmp, 'cache'),
      RUNBRIDGE_LOG_DIR: path.join(tmp, 'log'),
    };
    for (const d of Object.values(dirs)) {
      fs.mkdirSync(d, { recursive: true });
    }
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: tmp, ...dirs };
    // Settings from the developer's environment must not leak into the tests.
    for (const name of ['RUNBRIDGE_CONFIG', 'RUNBRIDGE_PROFILE', 'RUNBRIDGE_OUTPUT_CAP_MB']) {
      delete env[name];
    }
    const proc = spawn(command, ['serve', '--standalone'], { env, cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      proc.once('spawn', () => resolve());
      proc.once('error', (err) => reject(new Error(`cannot start ${command}: ${err.message}`)));
    });
    const connection = createMessageConnection(
      new StreamMessageReader(proc.stdout!),
      new StreamMessageWriter(proc.stdin!),
    );
    const daemon = new Daemon(proc, connection, tmp, env);
    connection.listen();
    try {
      daemon.initializeResult = await daemon.withDeadline(
        connection.sendRequest<InitializeResultLike>('initialize', {
          processId: process.pid,
          clientInfo: { name: 'runbridge-integration-tests' },
          rootUri: null,
          capabilities: { window: { workDoneProgress: true } },
          initializationOptions: options.initializationOptions ?? {},
        }),
        20_000,
        'initialize',
      );
      await connection.sendNotification('initialized', {});
    } catch (err) {
      await daemon.kill();
      throw daemon.withLogs(err);
    }
    return daemon;
  }

  get serverInfo(): P.ServerInfo {
    const info = this.initializeResult.capabilities.experimental?.runbridge;
    if (info === undefined) {
      throw new Error('initialize result has no capabilities.experimental.runbridge');
    }
    return info;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** The tail of the daemon's stderr and daemon.log, for failure messages. */
  logs(maxChars = 6000): string {
    let log = '';
    try {
      log = fs.readFileSync(path.join(this.env.RUNBRIDGE_LOG_DIR!, 'daemon.log'), 'utf8');
    } catch {
      log = '(no daemon.log)';
    }
    const tail = (s: string): string => (s.length > maxChars ? '...' + s.slice(-maxChars) : s);
    return `--- daemon stderr ---\n${tail(this.stderrText) || '(empty)'}\n--- daemon.log ---\n${tail(log)}`;
  }

  /** An error annotated with the daemon's stderr and log. */
  withLogs(err: unknown): Error {
    const base = err instanceof Error ? err : new Error(describeError(err));
    if (isRpcError(err) && !(err instanceof Error)) {
      base.message = describeError(err);
    }
    base.message += `\n${this.logs()}`;
    return base;
  }

  /** Wrap a test body: on failure, the error carries the daemon's stderr and log. */
  guard(body: () => Promise<void>): () => Promise<void> {
    return async () => {
      try {
        await body();
      } catch (err) {
        throw this.withLogs(err);
      }
    };
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      w();
    }
  }

  /** Resolve with pred()'s first non-undefined value, re-checked on every event. */
  waitFor<T>(pred: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        let value: T | undefined | false;
        try {
          value = pred();
        } catch (err) {
          cleanup();
          reject(err);
          return true;
        }
        if (value !== undefined && value !== false) {
          cleanup();
          resolve(value);
          return true;
        }
        if (this.exitInfo !== undefined) {
          cleanup();
          reject(new Error(`daemon exited (${JSON.stringify(this.exitInfo)}) waiting for ${what}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => {
        check();
      };
      if (!check()) {
        this.waiters.add(waiter);
      }
    });
  }

  /** Reject if `promise` has not settled within `ms`. */
  withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
  }

  /** The LSP `shutdown` request (the daemon closes every session before it replies). */
  async shutdown(): Promise<void> {
    await this.withDeadline(this.connection.sendRequest('shutdown'), 15_000, 'shutdown');
    this.shutDown = true;
  }

  /** `shutdown` (unless sent already) then `exit`; resolves with the daemon's exit code. */
  async stop(): Promise<number | null> {
    try {
      if (this.exitInfo === undefined) {
        if (!this.shutDown) {
          await this.shutdown();
        }
        await this.connection.sendNotification('exit');
      }
      const status = await this.withDeadline(this.exited, 5_000, 'daemon exit after exit');
      return status.code;
    } catch (err) {
      throw this.withLogs(err);
    } finally {
      await this.kill();
    }
  }

  /** Last-resort cleanup: kill the process if still running, drop the temp folder. */
  async kill(): Promise<void> {
    this.connection.dispose();
    this.api.dispose();
    if (this.exitInfo === undefined && this.proc.pid !== undefined) {
      this.proc.kill('SIGKILL');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2_000))]);
    }
    fs.rmSync(this.tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * The MessageConnection as RunbridgeApi's RpcPeer, passing every call through unchanged
 * except for one normalisation that works around a bug in src/api.ts:
 *
 * RunbridgeApi calls `peer.sendRequest(method, params, token)` even when `token` is
 * undefined. vscode-jsonrpc (and LanguageClient, which forwards `...params` to it) only
 * strips a trailing argument that *is* a CancellationToken, so an undefined one counts
 * as a second positional parameter and the request goes out with `params: [params, null]`,
 * which the daemon rejects ("params must be an object", -32602). Dropping a trailing
 * undefined token here lets the rest of the suite test the daemon; `rawPeer` (used by one
 * test in lifecycle.test.ts) keeps the bug visible.
 *
 * The casts only paper over api.ts's RpcPeer typing: its `onNotification` handler type
 * `(params: never) => void` is not assignable from MessageConnection (nor LanguageClient)
 * under TypeScript 5.9.
 */
export function peerOf(connection: MessageConnection): RpcPeer {
  const raw = rawPeer(connection);
  return {
    sendRequest: <R>(method: string, params: unknown, token?: CancellationToken): Promise<R> =>
      token === undefined
        ? connection.sendRequest<R>(method, params)
        : raw.sendRequest<R>(method, params, token),
    sendNotification: (method, params) => raw.sendNotification(method, params),
    onNotification: (method, handler) => raw.onNotification(method, handler),
    onRequest: (method, handler) => raw.onRequest(method, handler),
  };
}

/** The MessageConnection itself, typed as an RpcPeer (what the extension effectively does). */
export function rawPeer(connection: MessageConnection): RpcPeer {
  return connection as unknown as RpcPeer;
}

/** A test body bound to the daemon of its file (resolved when the test runs), with the
 * daemon's stderr and log added to any failure. */
export function withDaemon(
  get: () => Daemon,
  body: (d: Daemon) => Promise<void>,
): () => Promise<void> {
  return () => {
    const d = get();
    return d.guard(() => body(d))();
  };
}

/** Code, message and data of a JSON-RPC error (or any error) in one line. */
export function describeError(err: unknown): string {
  if (err instanceof ResponseError || isRpcError(err)) {
    const e = err as { code: number; message: string; data?: unknown };
    return `JSON-RPC error ${e.code}: ${e.message} ${JSON.stringify(e.data ?? null)}`;
  }
  return err instanceof Error ? err.stack ?? err.message : String(err);
}

/** Await a promise expected to reject with a JSON-RPC error; return that error. */
export async function rpcFailure(
  promise: Promise<unknown>,
): Promise<{ code: number; message: string; data?: Record<string, unknown> }> {
  try {
    const value = await promise;
    throw new Error(`expected a JSON-RPC error, got result ${JSON.stringify(value)}`);
  } catch (err) {
    if (isRpcError(err)) {
      return err as { code: number; message: string; data?: Record<string, unknown> };
    }
    throw err;
  }
}

/** Whether a promise is still pending (checked after one macrotask). */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((r) => setImmediate(() => r(marker))),
  ]);
  return winner === marker;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
