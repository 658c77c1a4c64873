"use strict";
// The sessions the daemon reported, the session of each document (the daemon's
// `runbridge/documentBound`), the window's session (for documents not bound yet and
// commands without a document), and the status bar item that shows the active
// editor's session (click to switch).
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
exports.Sessions = void 0;
const vscode = __importStar(require("vscode"));
const documentSessions_1 = require("./core/documentSessions");
const sessionStatus_1 = require("./core/sessionStatus");
class Sessions {
    state;
    infos = new Map();
    item;
    changed = new vscode.EventEmitter();
    onDidChange = this.changed.event;
    currentChanged = new vscode.EventEmitter();
    /** The active editor's session (the one the status bar shows) is another one. */
    onDidChangeCurrent = this.currentChanged.event;
    rendered;
    /** The window's session: documents not bound yet get it, commands without a document use it. */
    windowName;
    documents = new documentSessions_1.DocumentSessions();
    daemonDown;
    editorSubscription;
    constructor(state, defaultSession) {
        this.state = state;
        this.windowName = state.get('runbridge.currentSession') ?? defaultSession;
        this.item = vscode.window.createStatusBarItem('runbridge.session', vscode.StatusBarAlignment.Left, 50);
        this.item.name = 'runbridge session';
        this.item.command = 'runbridge.selectSession';
        this.editorSubscription = vscode.window.onDidChangeActiveTextEditor(() => this.render());
        this.render();
        this.item.show();
    }
    /** The active editor's session (as the daemon bound its document), else the window's. */
    get current() {
        const document = vscode.window.activeTextEditor?.document;
        return (document && this.documents.get(document.uri.toString())) ?? this.windowName;
    }
    /** The session runs and language features of `document` use. */
    forDocument(document) {
        return this.documents.get(document.uri.toString()) ?? this.windowName;
    }
    /** The user picked `name`: the window's session from now on, and `document`'s when given
     * (the caller sends runbridge/bindDocument). */
    async select(name, document) {
        this.windowName = name;
        if (document) {
            this.documents.claim(document.uri.toString(), name);
        }
        await this.state.update('runbridge.currentSession', name);
        this.render();
    }
    /**
     * `runbridge/documentBound`: shown when it is the active editor's document. Returns the
     * session to bind the document to instead (see DocumentSessions.update), if any.
     */
    documentBound(params, daemonDefault) {
        const rebind = this.documents.update(params, daemonDefault, this.windowName);
        if (rebind !== undefined) {
            this.documents.claim(params.uri, rebind);
        }
        this.render();
        return rebind;
    }
    /** A new connection to the daemon: it knows none of this window's bindings yet. */
    forgetBindings() {
        this.documents.clear();
        this.render();
    }
    info(name) {
        return this.infos.get(name);
    }
    all() {
        return [...this.infos.values()].filter((s) => s.state !== 'closed');
    }
    update(info) {
        if (info.state === 'closed') {
            this.infos.delete(info.name);
        }
        else {
            this.infos.set(info.name, info);
        }
        this.changed.fire(info);
        if (info.name === this.current) {
            this.render();
        }
        void vscode.commands.executeCommand('setContext', 'runbridge.busy', [...this.infos.values()].some((s) => s.state === 'busy'));
    }
    replaceAll(infos) {
        this.infos.clear();
        for (const info of infos) {
            this.infos.set(info.name, info);
        }
        this.render();
    }
    /** The daemon stopped (or could not start): say so in the status bar. */
    setDaemonDown(reason) {
        this.daemonDown = reason;
        if (reason) {
            this.infos.clear();
        }
        this.render();
    }
    render() {
        const name = this.current;
        if (name !== this.rendered) {
            this.rendered = name;
            this.currentChanged.fire(name);
        }
        const info = this.infos.get(name);
        if (this.daemonDown) {
            this.item.text = `$(debug-disconnect) runbridge: ${name}`;
            this.item.tooltip = `runbridge daemon is not running: ${this.daemonDown}`;
            this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
            return;
        }
        this.item.backgroundColor =
            info?.state === 'dead' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
        if (!info) {
            this.item.text = `$(circle-large-outline) runbridge: ${name}`;
            this.item.tooltip = `Session ${name} (opens on the first run). Click to switch.`;
            return;
        }
        this.item.text = (0, sessionStatus_1.sessionStatusText)(info);
        this.item.tooltip = new vscode.MarkdownString((0, sessionStatus_1.sessionTooltipLines)(info).join('\n\n'));
    }
    dispose() {
        this.editorSubscription.dispose();
        this.item.dispose();
        this.changed.dispose();
        this.currentChanged.dispose();
    }
}
exports.Sessions = Sessions;
