"use strict";
// Remote terminals: a VS Code terminal bound to a terminal of the session host
// (runbridge/openTerminal, or runbridge/attachTerminal for one that already runs), with
// keystrokes, resize and close forwarded. The host keeps its terminals when a window
// reloads or quits; the ids this window shows are remembered (workspace state), so the
// next window on this folder reopens them with their recent output. Closing the tab
// ends the shell.
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
exports.RemoteTerminals = void 0;
exports.remoteTerminalName = remoteTerminalName;
const vscode = __importStar(require("vscode"));
const api_1 = require("./api");
const replay_1 = require("./core/replay");
function remoteTerminalName(session) {
    return `runbridge terminal: ${session}`;
}
const REMEMBERED_KEY = 'runbridge.remoteTerminals';
class RemoteTerminal {
    api;
    session;
    register;
    unregister;
    attachTo;
    writeEmitter = new vscode.EventEmitter();
    onDidWrite = this.writeEmitter.event;
    closeEmitter = new vscode.EventEmitter();
    onDidClose = this.closeEmitter.event;
    terminalId;
    exited = false;
    /** Output that arrived before VS Code opened the terminal, or before the id was known. */
    early = [];
    opened = false;
    size;
    constructor(api, session, register, unregister, 
    /** A terminal of the host to attach to (else a new one is opened). */
    attachTo) {
        this.api = api;
        this.session = session;
        this.register = register;
        this.unregister = unregister;
        this.attachTo = attachTo;
    }
    async open(dims) {
        this.size = dims;
        this.opened = true;
        let replay = '';
        try {
            if (this.attachTo) {
                // registered first: live output that comes with the reply is kept in `early`
                this.terminalId = this.attachTo;
                this.register(this);
                replay = (await this.api().attachTerminal(this.attachTo)).replay;
            }
            else {
                this.writeEmitter.fire(`\x1b[2mrunbridge: opening a terminal in session ${this.session}…\x1b[22m\r\n`);
                this.terminalId = await this.api().openTerminal(this.session, dims?.rows, dims?.columns);
                this.register(this);
            }
        }
        catch (error) {
            this.writeEmitter.fire(`\x1b[31mrunbridge: ${(0, api_1.errorMessage)(error)}\x1b[39m\r\n`);
            this.exited = true;
            this.unregister(this);
            return;
        }
        this.ready = true;
        this.writeEmitter.fire(replay + this.early.splice(0).join(''));
        // a resize that came while the terminal was opening, or this window's size on attach
        if (this.size && (this.attachTo || (dims && (this.size.rows !== dims.rows || this.size.columns !== dims.columns)))) {
            this.setDimensions(this.size);
        }
    }
    ready = false;
    output(data) {
        if (this.opened && this.ready) {
            this.writeEmitter.fire(data);
        }
        else {
            this.early.push(data);
        }
    }
    /** Show the terminal's recent output again (after a reconnect: what the screen missed). */
    redraw(replay) {
        if (this.ready) {
            this.writeEmitter.fire('\x1b[2J\x1b[3J\x1b[H' + replay);
        }
    }
    exit(exitCode) {
        this.exited = true;
        this.unregister(this);
        this.writeEmitter.fire(`\r\n\x1b[2mrunbridge: the remote shell ended${exitCode === null ? '' : ` (exit code ${exitCode})`}; press any key to close\x1b[22m\r\n`);
    }
    handleInput(data) {
        if (this.exited) {
            this.closeEmitter.fire();
            return;
        }
        if (this.terminalId) {
            void this.api()
                .terminalInput(this.terminalId, data)
                .catch(() => undefined);
        }
    }
    setDimensions(dims) {
        this.size = dims;
        if (this.terminalId && !this.exited && this.ready) {
            void this.api()
                .resizeTerminal(this.terminalId, dims.rows, dims.columns)
                .catch(() => undefined);
        }
    }
    close() {
        // What ends the shell is decided in RemoteTerminals (closing the tab does; a window
        // that reloads or quits does not).
    }
}
class RemoteTerminals {
    api;
    state;
    byId = new Map();
    ptys = new Map();
    shuttingDown = false;
    subscription;
    constructor(api, state) {
        this.api = api;
        this.state = state;
        this.subscription = vscode.window.onDidCloseTerminal((terminal) => this.closed(terminal));
    }
    /** A new terminal of `session` (runbridge/openTerminal). */
    open(session) {
        return this.create(session, undefined, true);
    }
    /** The ids of the host's terminals shown here now. */
    openIds() {
        return [...this.byId.keys()];
    }
    /**
     * After a (re)connect: reattach the terminals open here (their screen redrawn from the
     * host's replay; those that ended are said to have ended), then reopen the terminals
     * this window showed before a reload that still run.
     */
    async reattach(api) {
        const listed = await api.listTerminals();
        const running = new Set(listed.map((t) => t.terminalId));
        for (const [id, pty] of [...this.byId]) {
            if (!running.has(id)) {
                pty.exit(null);
                continue;
            }
            try {
                pty.redraw((await api.attachTerminal(id)).replay);
            }
            catch {
                pty.exit(null);
            }
        }
        const reopen = (0, replay_1.terminalsToReopen)(listed, this.remembered(), this.byId.keys());
        for (const t of reopen) {
            this.create(t.session, t.terminalId, false);
        }
        // forget what no longer runs
        void this.state.update(REMEMBERED_KEY, this.remembered().filter((id) => running.has(id)));
    }
    output(params) {
        this.byId.get(params.terminalId)?.output(params.data);
    }
    exit(params) {
        this.byId.get(params.terminalId)?.exit(params.exitCode);
    }
    create(session, attachTo, show) {
        const pty = new RemoteTerminal(this.api, session, (t) => {
            if (t.terminalId) {
                this.byId.set(t.terminalId, t);
                this.remember(t.terminalId);
            }
        }, (t) => {
            if (t.terminalId && this.byId.get(t.terminalId) === t) {
                this.byId.delete(t.terminalId);
            }
        }, attachTo);
        const terminal = vscode.window.createTerminal({
            name: remoteTerminalName(session),
            pty,
            iconPath: new vscode.ThemeIcon('remote'),
            // VS Code cannot bring a pseudoterminal back itself: the next window reattaches it
            isTransient: true,
        });
        this.ptys.set(terminal, pty);
        if (show) {
            terminal.show();
        }
        return terminal;
    }
    /** A terminal tab closed: the user (or a shell that ended) ends it on the host; a window
     * that reloads or quits leaves it running for the next window. */
    closed(terminal) {
        const pty = this.ptys.get(terminal);
        if (!pty) {
            return;
        }
        this.ptys.delete(terminal);
        if (this.shuttingDown || terminal.exitStatus?.reason === vscode.TerminalExitReason.Shutdown) {
            return;
        }
        const id = pty.terminalId;
        if (id && this.byId.get(id) === pty) {
            this.byId.delete(id);
        }
        if (id) {
            this.forget(id);
        }
        if (id && !pty.exited) {
            pty.exited = true;
            try {
                void this.api()
                    .closeTerminal(id)
                    .catch(() => undefined);
            }
            catch {
                // not connected: the host keeps it; the next window no longer reopens it
            }
        }
    }
    remembered() {
        return this.state.get(REMEMBERED_KEY, []);
    }
    remember(id) {
        const ids = this.remembered().filter((x) => x !== id);
        void this.state.update(REMEMBERED_KEY, [...ids, id].slice(-20));
    }
    forget(id) {
        void this.state.update(REMEMBERED_KEY, this.remembered().filter((x) => x !== id));
    }
    dispose() {
        // The window goes (reload, quit, extension stopped): the host keeps the shells.
        this.shuttingDown = true;
        this.subscription.dispose();
        for (const terminal of this.ptys.keys()) {
            terminal.dispose();
        }
        this.ptys.clear();
        this.byId.clear();
    }
}
exports.RemoteTerminals = RemoteTerminals;
