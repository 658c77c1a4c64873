"use strict";
// Entry point: builds the parts, wires the daemon's notifications to them and
// registers the commands. The daemon itself starts on the first command that needs it.
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
exports.activate = activate;
exports.deactivate = deactivate;
const vscode = __importStar(require("vscode"));
const cells_1 = require("./cells");
const commands_1 = require("./commands");
const daemon_1 = require("./daemon");
const input_1 = require("./input");
const mediaPanel_1 = require("./mediaPanel");
const outputTerminal_1 = require("./outputTerminal");
const remoteTerminal_1 = require("./remoteTerminal");
const reattach_1 = require("./reattach");
const runner_1 = require("./runner");
const sessions_1 = require("./sessions");
const variablesView_1 = require("./variablesView");
let daemon;
function activate(context) {
    const config = vscode.workspace.getConfiguration('runbridge');
    const log = vscode.window.createOutputChannel('runbridge', { log: true });
    const sessions = new sessions_1.Sessions(context.workspaceState, config.get('defaultSession', 'default'));
    const outputs = new outputTerminal_1.OutputTerminals();
    const media = new mediaPanel_1.MediaPanels();
    // the parts below need the daemon and the daemon's events need them: late-bound
    let reattachment;
    let terminals;
    const events = {
        output: (params) => reattachment?.output(params),
        sessionChanged: (info) => {
            sessions.update(info);
            if (info.state === 'dead') {
                outputs.write(info.name, '\x1b[31m── the kernel died; the next run or Restart starts a fresh one ──\x1b[39m\r\n');
            }
        },
        terminalOutput: (params) => terminals?.output(params),
        terminalExit: (params) => terminals?.exit(params),
        documentBound: (params) => {
            const rebind = sessions.documentBound(params, daemon?.info?.defaultSession);
            if (rebind !== undefined) {
                daemon?.current()?.bindDocument(params.uri, rebind).catch((error) => {
                    log.warn(`runbridge/bindDocument ${params.uri}: ${error instanceof Error ? error.message : String(error)}`);
                });
            }
        },
        input: (params, token) => {
            outputs.show(params.session);
            return (0, input_1.askInput)(params, token);
        },
    };
    daemon = new daemon_1.Daemon(log, events);
    const d = daemon;
    terminals = new remoteTerminal_1.RemoteTerminals(() => {
        const api = d.current();
        if (!api) {
            throw new Error('the runbridge daemon is not running');
        }
        return api;
    }, context.workspaceState);
    let runner;
    const attach = new reattach_1.Reattachment(d, context.workspaceState, sessions, outputs, terminals, (params, replayed) => runner?.render(params, replayed), log);
    reattachment = attach;
    runner = new runner_1.Runner(d, sessions, outputs, media, attach);
    const cells = new cells_1.CellRunner(d, runner, sessions);
    d.commandHook = (command, args, next) => cells.serverCommand(command, args, next);
    const variables = new variablesView_1.VariablesView(d, sessions);
    context.subscriptions.push(log, sessions, outputs, media, terminals, attach, d, d.onDidChangeState((reason) => {
        sessions.setDaemonDown(reason);
        if (reason) {
            // the daemon's document bindings are per connection: the next one starts from none
            sessions.forgetBindings();
        }
    }), variables, 
    // A media panel restored by a window reload shows its session's media again: they are
    // replayed from the session's history when the window reattaches to the host.
    vscode.window.registerWebviewPanelSerializer('runbridge.media', {
        deserializeWebviewPanel: async (panel) => media.adopt(panel),
    }), vscode.workspace.onDidChangeConfiguration((e) => {
        const documentSettings = e.affectsConfiguration('runbridge.cellMarkers') || e.affectsConfiguration('runbridge.languages');
        if (documentSettings && d.usesHost) {
            // sent in initializationOptions: a new connection (the host and its sessions go on)
            void d.reconnect();
        }
        if ((documentSettings && !d.usesHost) ||
            e.affectsConfiguration('runbridge.daemon') ||
            e.affectsConfiguration('runbridge.defaultProfile')) {
            void vscode.window
                .showInformationMessage('runbridge: restart the daemon to use the new settings?', 'Restart Daemon')
                .then((choice) => choice && vscode.commands.executeCommand('runbridge.restartDaemon'));
        }
    }), (0, cells_1.trackContext)(d), ...(0, commands_1.registerCommands)({ daemon: d, sessions, runner, cells, variables, outputs, media, terminals, reattachment: attach }));
    // After a window reload (or a new window), connect at once when the session host runs:
    // the status bar shows the session's state, the output terminals its last runs and the
    // remote terminals come back (Reattachment, on every connect).
    void d.reattach();
}
async function deactivate() {
    await daemon?.stop();
    daemon = undefined;
}
