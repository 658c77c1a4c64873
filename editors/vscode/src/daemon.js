"use strict";
// Connecting to the runbridge session host (or starting the in-process daemon) through
// vscode-languageclient, and the typed API over it. Connected lazily, on the first command
// that needs it, or at activation when a host already runs.
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.Daemon = exports.DaemonNotFound = void 0;
const fs = __importStar(require("fs"));
const os = __importStar(require("os"));
const vscode = __importStar(require("vscode"));
const node_1 = require("vscode-languageclient/node");
const api_1 = require("./api");
const daemonCommand_1 = require("./core/daemonCommand");
const pythonEnvironment_1 = require("./core/pythonEnvironment");
const privateFolder_1 = require("./core/privateFolder");
const sessionHost_1 = require("./core/sessionHost");
const clientOptions_1 = require("./core/clientOptions");
const protocol_1 = require("./protocol");
class DaemonNotFound extends Error {
}
exports.DaemonNotFound = DaemonNotFound;
class Daemon {
    output;
    events;
    client;
    /** The session host's socket while connected to it (setting runbridge.daemon.keepSessions);
     * undefined for the in-process daemon. */
    socketPath;
    /** Connection losses of the in-process daemon since its last successful start. */
    closedCount = 0;
    api;
    starting;
    serverInfo;
    /** Why the host's socket was last refused (cleared by a good connect). */
    refusal;
    stateEmitter = new vscode.EventEmitter();
    /** Fires `undefined` when the daemon runs, else the reason it does not. */
    onDidChangeState = this.stateEmitter.event;
    connectEmitter = new vscode.EventEmitter();
    /** Fires each time a connection is up (first connect, reconnect), before the command
     * that caused it goes on: the place to reattach to the host's sessions and terminals. */
    onDidConnect = this.connectEmitter.event;
    /** The Python extension's active environment, asked again at every start (so a changed
     * environment is used by the next start; a running daemon is left as it is). */
    pythonEnvironments;
    constructor(output, events) {
        this.output = output;
        this.events = events;
        this.pythonEnvironments = new pythonEnvironment_1.PythonEnvironmentLookup(() => vscode.extensions.getExtension(pythonEnvironment_1.PYTHON_EXTENSION_ID), (line) => this.output.warn(line));
    }
    get info() {
        // (from the initialize answer on, before start() has returned: documentBound comes early)
        const experimental = this.client?.initializeResult?.capabilities.experimental;
        return this.serverInfo ?? experimental?.runbridge;
    }
    /** The language client's executeCommand middleware (the daemon's cell commands). */
    commandHook;
    get running() {
        return this.client?.state === node_1.State.Running;
    }
    /** Whether this window uses the session host (else an in-process daemon of its own). */
    get usesHost() {
        return vscode.workspace.getConfiguration('runbridge').get('daemon.keepSessions', true);
    }
    /** The API, connecting (and starting the host or the daemon) first if needed. `quiet`: a
     * daemon that cannot be found is only said in the status bar (no message with fixes). */
    ensure(quiet = false) {
        if (this.api && this.client?.state === node_1.State.Running) {
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
    async reattach() {
        const config = vscode.workspace.getConfiguration('runbridge');
        if (!config.get('daemon.keepSessions', true)) {
            return undefined;
        }
        try {
            if (!(await (0, sessionHost_1.hostRunning)((0, sessionHost_1.hostSocketPath)(this.environment(config), (0, privateFolder_1.ownUid)(), os.tmpdir())))) {
                return undefined; // none running: started on the first command, as usual
            }
        }
        catch (error) {
            if (error instanceof privateFolder_1.UnsafePath) {
                this.refuse(error); // the status bar says why; the first command shows it again
            }
            return undefined;
        }
        return this.ensure().catch(() => undefined);
    }
    /** The API if the daemon runs now (for events that must not start it). */
    current() {
        return this.running ? this.api : undefined;
    }
    /** Show `$/progress` of a token we created (uploads, downloads). */
    onProgress(token, handler) {
        if (!this.client) {
            return new vscode.Disposable(() => undefined);
        }
        return this.client.onProgress(node_1.WorkDoneProgress.type, token, handler);
    }
    async start(quiet) {
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
        const useHost = config.get('daemon.keepSessions', true);
        let serverOptions;
        if (useHost) {
            let socketPath;
            try {
                // Checked here too (not only in connectOrStartHost), so a refusal is one clear
                // message, not the client's.
                socketPath = (0, sessionHost_1.hostSocketPath)(env, (0, privateFolder_1.ownUid)(), os.tmpdir());
                (0, privateFolder_1.secureSocketPath)(socketPath, (0, privateFolder_1.ownUid)());
            }
            catch (error) {
                if (error instanceof privateFolder_1.UnsafePath) {
                    this.refuse(error);
                }
                throw error;
            }
            this.socketPath = socketPath;
            this.output.info(`the session host: ${socketPath} (started with ${resolved.command} from ${resolved.source} when none runs)`);
            const log = (line) => this.output.info(line);
            serverOptions = async () => {
                try {
                    const socket = await (0, sessionHost_1.connectOrStartHost)({ command: resolved, env, socketPath, log });
                    this.refusal = undefined;
                    return { reader: socket, writer: socket };
                }
                catch (error) {
                    if (error instanceof privateFolder_1.UnsafePath) {
                        this.refuse(error);
                    }
                    throw error;
                }
            };
        }
        else {
            this.socketPath = undefined;
            const standalone = (0, sessionHost_1.standaloneCommand)(resolved);
            this.output.info(`starting the daemon in this window: ${standalone.command} ${standalone.args.join(' ')} (from ${resolved.source})`);
            // No `transport` field: with TransportKind.stdio the client would append `--stdio`.
            serverOptions = { command: standalone.command, args: standalone.args, options: { env } };
        }
        const languages = config.get('languages', []);
        const initOptions = (0, clientOptions_1.initializationOptions)({
            outputCapMb: config.get('outputCapMb', 10),
            defaultProfile: config.get('defaultProfile', ''),
            languages,
            cellMarkers: config.get('cellMarkers', {}),
        });
        const clientOptions = {
            // The documents of these languages are synced to the daemon, which answers their
            // completion, hover, signature help, code lenses and symbols (its capabilities).
            documentSelector: (0, clientOptions_1.documentSelector)(languages),
            middleware: {
                executeCommand: (command, args, next) => this.commandHook ? this.commandHook(command, args, () => Promise.resolve(next(command, args))) : next(command, args),
            },
            outputChannel: this.output,
            revealOutputChannelOn: node_1.RevealOutputChannelOn.Never,
            initializationOptions: initOptions,
            connectionOptions: { maxRestartCount: 3 },
            // One clear message of ours (see start() and the status bar) instead of the
            // client's generic "couldn't create connection to server" on top of it.
            initializationFailedHandler: () => false,
            errorHandler: {
                error: (error, _message, count) => {
                    this.output.error(`connection to the daemon: ${error.message}`);
                    return { action: (count ?? 1) <= 3 ? node_1.ErrorAction.Continue : node_1.ErrorAction.Shutdown, handled: true };
                },
                closed: () => {
                    if (useHost) {
                        // The host stopped (Stop/Restart in another window, `runbridge stop`) or went
                        // away: the next command reconnects, starting it again if needed, and shows
                        // what was missed. Not at once: a stopped host must stay stopped.
                        this.output.warn('the session host closed the connection; the next command reconnects');
                        this.refusal ??= 'the session host closed the connection; the next command reconnects';
                        return { action: node_1.CloseAction.DoNotRestart, handled: true };
                    }
                    this.closedCount += 1;
                    const restart = this.closedCount <= 3;
                    this.output.warn(`the daemon connection closed${restart ? '; restarting it' : ''}`);
                    if (!restart) {
                        void vscode.window.showErrorMessage('runbridge: the daemon keeps stopping; see "Runbridge: Show Daemon Log", then "Runbridge: Restart Daemon".');
                    }
                    return { action: restart ? node_1.CloseAction.Restart : node_1.CloseAction.DoNotRestart, handled: true };
                },
            },
        };
        const client = new node_1.LanguageClient('runbridge', 'runbridge', serverOptions, clientOptions);
        this.api?.dispose();
        const api = new api_1.RunbridgeApi(peerOf(client), this.events);
        client.onDidChangeState((e) => {
            if (this.client !== client) {
                return; // an older client stopping
            }
            if (e.newState === node_1.State.Stopped) {
                this.stateEmitter.fire(this.refusal ?? 'the daemon stopped');
            }
            else if (e.newState === node_1.State.Running) {
                this.stateEmitter.fire(undefined);
                this.connectEmitter.fire(api);
            }
        });
        this.client = client;
        this.api = api;
        try {
            await client.start();
        }
        catch (error) {
            if (error instanceof privateFolder_1.UnsafePath) {
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
        const experimental = client.initializeResult?.capabilities.experimental;
        this.serverInfo = experimental?.runbridge;
        if (!this.serverInfo) {
            void vscode.window.showWarningMessage(`${resolved.command} answered initialize without runbridge capabilities: is it really the runbridge daemon?`);
        }
        else if (this.serverInfo.protocolVersion !== protocol_1.PROTOCOL_VERSION) {
            void vscode.window.showWarningMessage(`The runbridge daemon speaks protocol ${this.serverInfo.protocolVersion}, this extension ${protocol_1.PROTOCOL_VERSION}: update the one that is older.`);
        }
        this.closedCount = 0;
        this.stateEmitter.fire(undefined);
        return api;
    }
    /** The daemon command, and the Python extension's active interpreter it was looked up with. */
    async resolve(config) {
        // Only when the setting is empty: an explicit path never waits for the Python extension.
        const activePython = config.get('daemon.path', '').trim() === ''
            ? await this.pythonEnvironments.interpreter(vscode.workspace.workspaceFolders?.[0]?.uri)
            : undefined;
        const resolved = (0, daemonCommand_1.resolveDaemon)({
            path: config.get('daemon.path', ''),
            args: config.get('daemon.args', ['serve']),
            pythonPath: vscode.workspace.getConfiguration('python').get('defaultInterpreterPath'),
            activePython,
        }, process.env, (file) => {
            try {
                return fs.statSync(file).isFile();
            }
            catch {
                return false;
            }
        });
        return { resolved, activePython };
    }
    environment(config) {
        return { ...process.env, ...config.get('daemon.env', {}) };
    }
    /** A refused socket folder or path: in the log and the status bar (the caller throws, and
     * the command that needed the daemon shows the message, as for any start failure). */
    refuse(error) {
        this.refusal = error.message;
        this.output.error(error.message);
        this.stateEmitter.fire(error.message);
    }
    async offerFix(message, activePython) {
        const setPath = 'Set Daemon Path';
        const install = 'Install with pip';
        const choice = await vscode.window.showErrorMessage(message, setPath, install);
        if (choice === setPath) {
            await vscode.commands.executeCommand('workbench.action.openSettings', 'runbridge.daemon.path');
        }
        else if (choice === install) {
            const pythonPath = vscode.workspace.getConfiguration('python').get('defaultInterpreterPath');
            const terminal = vscode.window.createTerminal({ name: 'runbridge install' });
            terminal.show();
            terminal.sendText((0, daemonCommand_1.pipInstallCommand)(activePython, pythonPath));
        }
    }
    /**
     * End the daemon: the session host (for every window and client of this user: it closes
     * its local sessions, keeps remote ones as keep_sessions says, and exits), or this
     * window's in-process daemon. Connects first when a host runs and this window is not
     * connected, so Stop works from any window.
     */
    async stopDaemon() {
        const socketPath = this.socketPath;
        let api = this.current();
        if (!api && this.usesHost) {
            api = await this.reattach();
        }
        if (api) {
            await api.stopDaemon().catch((error) => {
                this.output.warn(`runbridge/stopDaemon: ${error instanceof Error ? error.message : String(error)}`);
            });
        }
        this.refusal = 'stopped (the next command starts it again)';
        await this.stop();
        const path = socketPath ?? this.socketPath;
        if (path && !(await (0, sessionHost_1.waitHostGone)(path))) {
            this.output.warn(`the session host on ${path} still answers 15 s after stopDaemon`);
        }
    }
    /** Connect again (new settings in initializationOptions), when connected. For the session
     * host, which goes on with its sessions (an in-process daemon would end its own). */
    async reconnect() {
        if (!this.running) {
            return;
        }
        await this.stop();
        await this.ensure().catch(() => undefined);
    }
    /** Stop the daemon (the host, for every window) and start it again. */
    async restart() {
        await this.stopDaemon();
        await this.ensure();
    }
    /** Leave the daemon: the host goes on with its sessions; an in-process daemon ends. */
    async stop() {
        const client = this.client;
        this.client = undefined;
        this.api?.dispose();
        this.api = undefined;
        if (client && client.state !== node_1.State.Stopped) {
            await client.stop(5000).catch(() => undefined);
        }
        this.stateEmitter.fire(this.refusal ?? 'the daemon stopped');
    }
    dispose() {
        void this.stop();
        this.stateEmitter.dispose();
        this.connectEmitter.dispose();
    }
}
exports.Daemon = Daemon;
/** The language client as the API's JSON-RPC peer (string method names only). */
function peerOf(client) {
    return {
        sendRequest: (method, params, token) => token ? client.sendRequest(method, params, token) : client.sendRequest(method, params),
        sendNotification: (method, params) => client.sendNotification(method, params),
        onNotification: (method, handler) => client.onNotification(method, (params) => handler(params)),
        onRequest: (method, handler) => client.onRequest(method, (params, token) => handler(params, token)),
    };
}
