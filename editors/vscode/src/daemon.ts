// Starting and stopping the runbridge daemon through vscode-languageclient, and
// the typed API over it. Started lazily, on the first command that needs it.

import * as fs from 'fs';
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
import { connectChecked, connectShared, sharedSocketPath } from './core/sharedDaemon';
import { InitializationOptions, PROTOCOL_VERSION, ServerInfo } from './protocol';

export class DaemonNotFound extends Error {}

type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export class Daemon implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** The shared daemon's socket (setting runbridge.daemon.keepSessions), else undefined. */
  private socketPath: string | undefined;
  /** Connection losses since the last successful start (restart at most 3 times). */
  private closedCount = 0;
  private api: RunbridgeApi | undefined;
  private starting: Promise<RunbridgeApi> | undefined;
  private serverInfo: ServerInfo | undefined;
  /** Why the shared daemon's socket was last refused (cleared by a good connect). */
  private refusal: string | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<string | undefined>();
  /** Fires `undefined` when the daemon runs, else the reason it does not. */
  readonly onDidChangeState = this.stateEmitter.event;
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
    return this.serverInfo;
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** The API, starting the daemon first if needed. */
  ensure(): Promise<RunbridgeApi> {
    if (this.api && this.client?.state === State.Running) {
      return Promise.resolve(this.api);
    }
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /** Connect now if a shared daemon of this workspace is already running (never starts one). */
  async reattach(): Promise<RunbridgeApi | undefined> {
    const config = vscode.workspace.getConfiguration('runbridge');
    if (!config.get<boolean>('daemon.keepSessions', true)) {
      return undefined;
    }
    const { resolved } = await this.resolve(config);
    if ('error' in resolved) {
      return undefined;
    }
    try {
      const socketPath = sharedSocketPath(resolved, this.environment(config), workspaceFolder());
      (await connectChecked(socketPath)).destroy();
    } catch (error) {
      if (error instanceof UnsafePath) {
        this.refuse(error); // the status bar says why; the first command shows it again
      }
      return undefined; // none running: start it on the first command, as usual
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

  private async start(): Promise<RunbridgeApi> {
    const config = vscode.workspace.getConfiguration('runbridge');
    this.refusal = undefined;
    const { resolved, activePython } = await this.resolve(config);
    if ('error' in resolved) {
      this.stateEmitter.fire(resolved.error);
      void this.offerFix(resolved.error, activePython);
      throw new DaemonNotFound(resolved.error);
    }
    this.output.info(`starting the daemon: ${resolved.command} ${resolved.args.join(' ')} (from ${resolved.source})`);
    const env = this.environment(config);
    const keepSessions = config.get<boolean>('daemon.keepSessions', true);
    let serverOptions: ServerOptions;
    if (keepSessions) {
      const lingerSeconds = Math.max(1, Math.round(config.get<number>('daemon.lingerMinutes', 10) * 60));
      let socketPath: string;
      try {
        // Checked here too (not only in connectShared, which every reconnect of the
        // client goes through), so a refusal is one clear message, not the client's.
        socketPath = sharedSocketPath(resolved, env, workspaceFolder());
        secureSocketPath(socketPath, ownUid());
      } catch (error) {
        if (error instanceof UnsafePath) {
          this.refuse(error);
        }
        throw error;
      }
      this.socketPath = socketPath;
      const log = (line: string): void => this.output.info(line);
      serverOptions = async (): Promise<StreamInfo> => {
        try {
          const socket = await connectShared({ command: resolved, env, socketPath, lingerSeconds, log });
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
      // No `transport` field: with TransportKind.stdio the client would append `--stdio`.
      serverOptions = { command: resolved.command, args: resolved.args, options: { env } };
    }
    const initializationOptions: InitializationOptions = {
      outputCapMb: config.get<number>('outputCapMb', 10),
    };
    const profile = config.get<string>('defaultProfile', '');
    if (profile) {
      initializationOptions.profile = profile;
    }
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
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
          this.closedCount += 1;
          const restart = this.closedCount <= 3;
          this.output.warn(`the daemon connection closed${restart ? '; reconnecting' : ''}`);
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
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) {
        this.stateEmitter.fire(this.refusal ?? 'the daemon stopped');
      } else if (e.newState === State.Running) {
        this.stateEmitter.fire(undefined);
      }
    });
    this.api?.dispose();
    this.client = client;
    this.api = new RunbridgeApi(peerOf(client), this.events);
    try {
      await client.start();
    } catch (error) {
      if (error instanceof UnsafePath) {
        this.client = undefined;
        throw error; // refuse() said why
      }
      const message = `the runbridge daemon (${resolved.command}) did not start: ${error instanceof Error ? error.message : String(error)}`;
      this.stateEmitter.fire(message);
      this.client = undefined;
      throw new Error(message);
    }
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
    return this.api;
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

  /** Restart the daemon; a shared one is told to close its sessions and exit first. */
  async restart(): Promise<void> {
    if (this.socketPath && this.api && this.running) {
      await this.api.stopDaemon().catch(() => undefined);
    }
    await this.stop();
    await this.ensure();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.api?.dispose();
    this.api = undefined;
    if (client && client.state !== State.Stopped) {
      await client.stop(5000).catch(() => undefined);
    }
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
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

function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}
