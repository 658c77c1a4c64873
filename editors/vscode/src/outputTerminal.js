"use strict";
// One output terminal per session, built on a Pseudoterminal so ANSI colours and
// `\r` progress bars render as they would in a shell. Text is paced through an
// OutputBuffer so a flood never freezes the window.
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
exports.OutputTerminals = void 0;
exports.outputTerminalName = outputTerminalName;
const vscode = __importStar(require("vscode"));
const outputBuffer_1 = require("./core/outputBuffer");
function outputTerminalName(session) {
    return `runbridge: ${session}`;
}
class OutputTerminal {
    session;
    onUserClose;
    writeEmitter = new vscode.EventEmitter();
    onDidWrite = this.writeEmitter.event;
    closeEmitter = new vscode.EventEmitter();
    onDidClose = this.closeEmitter.event;
    /** Text written before VS Code opened the terminal. */
    early = [];
    opened = false;
    buffer;
    terminal;
    constructor(session, onUserClose) {
        this.session = session;
        this.onUserClose = onUserClose;
        this.buffer = new outputBuffer_1.OutputBuffer((text) => this.emit(text));
        this.terminal = vscode.window.createTerminal({
            name: outputTerminalName(session),
            pty: this,
            iconPath: new vscode.ThemeIcon('output'),
            isTransient: true,
        });
    }
    open() {
        this.opened = true;
        for (const text of this.early.splice(0)) {
            this.writeEmitter.fire(text);
        }
    }
    close() {
        this.buffer.dispose();
        this.onUserClose();
    }
    handleInput(data) {
        // Ctrl+C in the output terminal interrupts the session's run.
        if (data === '\x03') {
            void vscode.commands.executeCommand('runbridge.interrupt', this.session);
        }
    }
    write(text) {
        this.buffer.write(text);
    }
    clear() {
        this.buffer.clear();
        this.emit('\x1b[2J\x1b[3J\x1b[H');
    }
    emit(text) {
        if (this.opened) {
            this.writeEmitter.fire(text);
        }
        else {
            this.early.push(text);
        }
    }
    dispose() {
        this.buffer.dispose();
        this.terminal.dispose();
        this.writeEmitter.dispose();
        this.closeEmitter.dispose();
    }
}
class OutputTerminals {
    terminals = new Map();
    get(session) {
        let term = this.terminals.get(session);
        if (!term) {
            const created = new OutputTerminal(session, () => {
                if (this.terminals.get(session) === created) {
                    this.terminals.delete(session);
                }
            });
            term = created;
            this.terminals.set(session, term);
        }
        return term;
    }
    write(session, text) {
        this.get(session).write(text);
    }
    clear(session) {
        this.terminals.get(session)?.clear();
    }
    show(session, preserveFocus = true) {
        this.get(session).terminal.show(preserveFocus);
    }
    has(session) {
        return this.terminals.has(session);
    }
    dispose() {
        for (const term of this.terminals.values()) {
            term.dispose();
        }
        this.terminals.clear();
    }
}
exports.OutputTerminals = OutputTerminals;
