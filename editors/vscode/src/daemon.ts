// Connecting to the runbridge session host (or starting the in-process daemon) through
// vscode-languageclient, and the typed API over it. Connected lazily, on the first command
// that needs it, or at activation when a host already runs.

import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  StreamInfo,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import { RpcPeer, RunbridgeApi, RunbridgeEvents } from './api';
import { DaemonCommand, pipInstallCommand, resolveDaemon } from './core/daemonCommand';
import { PythonEnvironmentLookup, PYTHON_EXTENSION_ID } from './core/pythonEnvironment';
import { ownUid, secureSocketPath, UnsafePath } from './core/privateFolder';
import {
  connectOrStartHost,
  hostRunning,
  hostSocketPath,
  standaloneCommand,
  waitHostGone,
} from './core/sessionHost';
import { documentSelector, initializationOptions } from './core/clientOptions';
import { PROTOCOL_VERSION, ServerInfo } from './protocol';

export class DaemonNotFound extends Error {}

type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export class Daemon implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** The session host's socket while connected to it (setting runbridge.daemon.keepSessions);
   * undefined for the in-process daemon. */
  private socketPath: string | undefined;
  /** Connection losses of the in-process daemon since its last successful start. */
  private closedCount = 0;
  private api: RunbridgeApi | undefined;
  private starting: Promise<RunbridgeApi> | undefined;
  private serverInfo: ServerInfo | undefined;
  /** Why the host's socket was last refused (cleared by a good connect). */
  private refusal: string | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<string | undefined>();
  /** Fires `undefined` when the daemon runs, else the reason it does not. */
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly connectEmitter = new vscode.EventEmitter<RunbridgeApi>();
  /** Fires each time a connection is up (first connect, reconnect), before the command
   * that caused it goes on: the place to reattach to the host's sessions and terminals. */
  readonly onDidConnect = this.connectEmitter.event;
  /** The Python extension's active environment, asked again at every start (so a changed
   * environment is used by the next start; a running daemon is left as it is). */
  private readonly pythonEnvironments: PythonEnvironmentLookup;

  constructor(
    readonly output: vscode.LogOutputChannel,
    private readonly events: RunbridgeEvents,
  ) {
    this.pythonEnvironments = new PythonEnvironmentLookup(
      () => vscode.extensions.getExtension(PYTHON_EXTENSION_ID),
      (line) => this.output.warn(line),
    );
  }

  get info(): ServerInfo | undefined {
    // (from the initialize answer on, before start() has returned: documentBound comes early)
    const experimental = this.client?.initializeResult?.capabilities.experimental as
      | { runbridge?: ServerInfo }
      | undefined;
    return this.serverInfo ?? experimental?.runbridge;
  }

  /** The language client's executeCommand middleware (the daemon's cell commands). */
  commandHook: ((command: string, args: unknown[], next: () => Promise<unknown>) => Promise<unknown>) | undefined;

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** Whether this window uses the session host (else an in-process daemon of its own). */
  get usesHost(): boolean {
    return vscode.workspace.getConfiguration('runbridge').get<boolean>('daemon.keepSessions', true);
  }

  /** The API, connecting (and starting the host or the daemon) first if needed. `quiet`: a
   * daemon that cannot be found is only said in the status bar (no message with fixes). */
  ensure(quiet = false): Promise<RunbridgeApi> {
    if (this.api && this.client?.state === State.Running) {
      return Promise.resolve(this.api);
    }
    if (!this.starting) {
      this.starting = this.start(quiet).finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /** Connect now if the session host already runs (never starts it): after a window
   * reload, the window shows its sessions at once. */
  async reattach(): Promise<RunbridgeApi | undefined> {
    const config = vscode.workspace.getConfiguration('runbridge');
    if (!config.get<boolean>('daemon.keepSessions', true)) {
      return undefined;
    }
    try {
      if (!(await hostRunning(hostSocketPath(this.environment(config), ownUid(), os.tmpdir())))) {
        return undefined; // none running: started on the first command, as usual
      }
    } catch (error) {
      if (error instanceof UnsafePath) {
        this.refuse(error); // the status bar says why; the first command shows it again
      }
      return undefined;
    }
    return this.ensure().catch(() => undefined);
  }

  /** The API if the daemon runs now (for events that must not start it). */
  current(): RunbridgeApi | undefined {
    return this.running ? this.api : undefined;
  }

  /** Show `$/progress` of a token we created (uploads, downloads). */
  onProgress(token: string, handler: (value: ProgressValue) => void): vscode.Disposable {
    if (!this.client) {
      return new vscode.Disposable(() => undefined);
    }
    return this.client.onProgress(WorkDoneProgress.type, token, handler);
  }

  private async start(quiet: boolean): Promise<RunbridgeApi> {
    const config = vscode.workspace.getConfiguration('runbridge');
    this.refusal = undefined;
    const { resolved, activePython } = await this.resolve(config);
    if ('error' in resolved) {
      this.stateEmitter.fire(resolved.error);
      if (!quiet) {
        void this.offerFix(resolved.error, activePython);
      }
      throw new DaemonNotFound(resolved.error);
    }
    const env = this.environment(config);
    const useHost = config.get<boolean>('daemon.keepSessions', true);
    let serverOptions: ServerOptions;
    if (useHost) {
      let socketPath: string;
      try {
        // Checked here too (not only in connectOrStartHost), so a refusal is one clear
        // message, not the client's.
        socketPath = hostSocketPath(env, ownUid(), os.tmpdir());
        secureSocketPath(socketPath, ownUid());
      } catch (error) {
        if (error instanceof UnsafePath) {
          this.refuse(error);
        }
        throw error;
      }
      this.socketPath = socketPath;
      this.output.info(`the session host: ${socketPath} (started with ${resolved.command} from ${resolved.source} when none runs)`);
      const log = (line: string): void => this.output.info(line);
      serverOptions = async (): Promise<StreamInfo> => {
        try {
          const socket = await connectOrStartHost({ command: resolved, env, socketPath, log });
          this.refusal = undefined;
          return { reader: socket, writer: socket };
        } catch (error) {
          if (error instanceof UnsafePath) {
            this.refuse(error);
          }
          throw error;
        }
      };
    } else {
      this.socketPath = undefined;
      const standalone = standaloneCommand(resolved);
      this.output.info(`starting the daemon in this window: ${standalone.command} ${standalone.args.join(' ')} (from ${resolved.source})`);
      // No `transport` field: with TransportKind.stdio the client would append `--stdio`.
      serverOptions = { command: standalone.command, args: standalone.args, options: { env } };
    }
    const languages = config.get<string[]>('languages', []);
    const initOptions = initializationOptions({
      outputCapMb: config.get<number>('outputCapMb', 10),
      defaultProfile: config.get<string>('defaultProfile', ''),
      languages,
      cellMarkers: config.get<Record<string, string>>('cellMarkers', {}),
    });
    const clientOptions: LanguageClientOptions = {
      // The documents of these languages are synced to the daemon, which answers their
      // completion, hover, signature help, code lenses and symbols (its capabilities).
      documentSelector: documentSelector(languages),
      middleware: {
        executeCommand: (command, args, next) =>
          this.commandHook ? this.commandHook(command, args, () => Promise.resolve(next(command, args))) : next(command, args),
      },
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: initOptions,
      connectionOptions: { maxRestartCount: 3 },
      // One clear message of ours (see start() and the status bar) instead of the
      // client's generic "couldn't create connection to server" on top of it.
      initializationFailedHandler: () => false,
      errorHandler: {
        error: (error, _message, count) => {
          this.output.error(`connection to the daemon: ${error.message}`);
          return { action: (count ?? 1) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
        },
        closed: () => {
          if (useHost) {
            // The host stopped (Stop/Restart in another window, `runbridge stop`) or went
            // away: the next command reconnects, starting it again if needed, and shows
            // what was missed. Not at once: a stopped host must stay stopped.
            this.output.warn('the session host closed the connection; the next command reconnects');
            this.refusal ??= 'the session host closed the connection; the next command reconnects';
            return { action: CloseAction.DoNotRestart, handled: true };
          }
          this.closedCount += 1;
          const restart = this.closedCount <= 3;
          this.output.warn(`the daemon connection closed${restart ? '; restarting it' : ''}`);
          if (!restart) {
            void vscode.window.showErrorMessage(
              'runbridge: the daemon keeps stopping; see "Runbridge: Show Daemon Log", then "Runbridge: Restart Daemon".',
            );
          }
          return { action: restart ? CloseAction.Restart : CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new LanguageClient('runbridge', 'runbridge', serverOptions, clientOptions);
    this.api?.dispose();
    const api = new RunbridgeApi(peerOf(client), this.events);
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return; // an older client stopping
      }
      if (e.newState === State.Stopped) {
        this.stateEmitter.fire(this.refusal ?? 'the daemon stopped');
      } else if (e.newState === State.Running) {
        this.stateEmitter.fire(undefined);
        this.connectEmitter.fire(api);
      }
    });
    this.client = client;
    this.api = api;
    try {
      await client.start();
    } catch (error) {
      if (error instanceof UnsafePath) {
        this.client = undefined;
        throw error; // refuse() said why
      }
      const what = useHost ? 'the runbridge session host' : `the runbridge daemon (${resolved.command})`;
      const message = `${what} did not start: ${error instanceof Error ? error.message : String(error)}`;
      this.stateEmitter.fire(message);
      this.client = undefined;
      throw new Error(message);
    }
    this.refusal = undefined;
    const experimental = client.initializeResult?.capabilities.experimental as
      | { runbridge?: ServerInfo }
      | undefined;
    this.serverInfo = experimental?.runbridge;
    if (!this.serverInfo) {
      void vscode.window.showWarningMessage(
        `${resolved.command} answered initialize without runbridge capabilities: is it really the runbridge daemon?`,
      );
    } else if (this.serverInfo.protocolVersion !== PROTOCOL_VERSION) {
      void vscode.window.showWarningMessage(
        `The runbridge daemon speaks protocol ${this.serverInfo.protocolVersion}, this extension ${PROTOCOL_VERSION}: update the one that is older.`,
      );
    }
    this.closedCount = 0;
    this.stateEmitter.fire(undefined);
    return api;
  }

  /** The daemon command, and the Python extension's active interpreter it was looked up with. */
  private async resolve(
    config: vscode.WorkspaceConfiguration,
  ): Promise<{ resolved: DaemonCommand | { error: string }; activePython: string | undefined }> {
    // Only when the setting is empty: an explicit path never waits for the Python extension.
    const activePython =
      config.get<string>('daemon.path', '').trim() === ''
        ? await this.pythonEnvironments.interpreter(vscode.workspace.workspaceFolders?.[0]?.uri)
        : undefined;
    const resolved = resolveDaemon(
      {
        path: config.get<string>('daemon.path', ''),
        args: config.get<string[]>('daemon.args', ['serve']),
        pythonPath: vscode.workspace.getConfiguration('python').get<string>('defaultInterpreterPath'),
        activePython,
      },
      process.env,
      (file) => {
        try {
          return fs.statSync(file).isFile();
        } catch {
          return false;
        }
      },
    );
    return { resolved, activePython };
  }

  private environment(config: vscode.WorkspaceConfiguration): NodeJS.ProcessEnv {
    return { ...process.env, ...config.get<Record<string, string>>('daemon.env', {}) };
  }

  /** A refused socket folder or path: in the log and the status bar (the caller throws, and
   * the command that needed the daemon shows the message, as for any start failure). */
  private refuse(error: UnsafePath): void {
    this.refusal = error.message;
    this.output.error(error.message);
    this.stateEmitter.fire(error.message);
  }

  private async offerFix(message: string, activePython: string | undefined): Promise<void> {
    const setPath = 'Set Daemon Path';
    const install = 'Install with pip';
    const choice = await vscode.window.showErrorMessage(message, setPath, install);
    if (choice === setPath) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'runbridge.daemon.path');
    } else if (choice === install) {
      const pythonPath = vscode.workspace.getConfiguration('python').get<string>('defaultInterpreterPath');
      const terminal = vscode.window.createTerminal({ name: 'runbridge install' });
      terminal.show();
      terminal.sendText(pipInstallCommand(activePython, pythonPath));
    }
  }

  /**
   * End the daemon: the session host (for every window and client of this user: it closes
   * its local sessions, keeps remote ones as keep_sessions says, and exits), or this
   * window's in-process daemon. Connects first when a host runs and this window is not
   * connected, so Stop works from any window.
   */
  async stopDaemon(): Promise<void> {
    const socketPath = this.socketPath;
    let api = this.current();
    if (!api && this.usesHost) {
      api = await this.reattach();
    }
    if (api) {
      await api.stopDaemon().catch((error: unknown) => {
        this.output.warn(`runbridge/stopDaemon: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    this.refusal = 'stopped (the next command starts it again)';
    await this.stop();
    const path = socketPath ?? this.socketPath;
    if (path && !(await waitHostGone(path))) {
      this.output.warn(`the session host on ${path} still answers 15 s after stopDaemon`);
    }
  }

  /** Connect again (new settings in initializationOptions), when connected. For the session
   * host, which goes on with its sessions (an in-process daemon would end its own). */
  async reconnect(): Promise<void> {
    if (!this.running) {
      return;
    }
    await this.stop();
    await this.ensure().catch(() => undefined);
  }

  /** Stop the daemon (the host, for every window) and start it again. */
  async restart(): Promise<void> {
    await this.stopDaemon();
    await this.ensure();
  }

  /** Leave the daemon: the host goes on with its sessions; an in-process daemon ends. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.api?.dispose();
    this.api = undefined;
    if (client && client.state !== State.Stopped) {
      await client.stop(5000).catch(() => undefined);
    }
    this.stateEmitter.fire(this.refusal ?? 'the daemon stopped');
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
    this.connectEmitter.dispose();
  }
}

/** The language client as the API's JSON-RPC peer (string method names only). */
function peerOf(client: LanguageClient): RpcPeer {
  return {
    sendRequest: (method, params, token) =>
      token ? client.sendRequest(method, params, token) : client.sendRequest(method, params),
    sendNotification: (method, params) => client.sendNotification(method, params),
    onNotification: (method, handler) =>
      client.onNotification(method, (params: unknown) => handler(params)),
    onRequest: (method, handler) =>
      client.onRequest(method, (params: unknown, token) => handler(params, token)),
  };
}
