"use strict";
// Cells, as the daemon finds them (its marker rules: the runbridge.cellMarkers setting).
// The daemon's code lenses run its runbridge.server.runCell / runAbove commands; the key
// bindings ask it which cell holds the cursor (runbridge/cellAt) and run that cell here.
// Also the `runbridge.enabledForLanguage` and `runbridge.hasCells` context keys.
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
exports.CellRunner = void 0;
exports.enabledFor = enabledFor;
exports.editorOrWarn = editorOrWarn;
exports.documentFor = documentFor;
exports.trackContext = trackContext;
const vscode = __importStar(require("vscode"));
const protocol_1 = require("./protocol");
function enabledFor(languageId) {
    const languages = vscode.workspace.getConfiguration('runbridge').get('languages', []);
    return languages.includes(languageId);
}
/** The active editor; else a warning to open a file first. */
function editorOrWarn() {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
        void vscode.window.showWarningMessage('runbridge: open a file first.');
    }
    return editor;
}
/** The document a command was given (an explorer or editor-title uri), else the active one. */
async function documentFor(uri) {
    if (uri instanceof vscode.Uri) {
        return vscode.workspace.openTextDocument(uri);
    }
    return editorOrWarn()?.document;
}
function toRange(range) {
    return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}
class CellRunner {
    daemon;
    runner;
    sessions;
    constructor(daemon, runner, sessions) {
        this.daemon = daemon;
        this.runner = runner;
        this.sessions = sessions;
    }
    async cellAt(document, line) {
        const api = await this.daemon.ensure();
        return api.cellAt(document.uri.toString(), { line, character: 0 });
    }
    /** The line a command acts on: its argument (a lens), else the cursor's in `document`. */
    lineOf(document, line) {
        if (typeof line === 'number') {
            return line;
        }
        const editor = vscode.window.activeTextEditor;
        return editor?.document === document ? editor.selection.active.line : 0;
    }
    /** Run the cell at the cursor (or `line`); with `advance`, move the cursor to the next cell. */
    async runCell(uri, line, advance = false) {
        const document = await documentFor(uri);
        if (!document) {
            return;
        }
        const at = await this.cellAt(document, this.lineOf(document, line));
        const editor = vscode.window.activeTextEditor;
        if (advance && editor?.document === document && at.next) {
            const pos = new vscode.Position(at.next.line, at.next.character);
            editor.selection = new vscode.Selection(pos, pos);
            editor.revealRange(new vscode.Range(pos, pos));
        }
        if (!at.cell) {
            // no cell here (a document without markers): the whole document, as Run File
            const last = Math.max(0, document.lineCount - 1);
            const range = new vscode.Range(0, 0, last, document.lineAt(last).text.length);
            await this.runner.run({ code: document.getText(), origin: { document, range } });
            return;
        }
        if (!at.cell.code.trim()) {
            void vscode.window.showInformationMessage('runbridge: this cell is empty.');
            return;
        }
        await this.runner.run({ code: at.cell.code, origin: { document, range: toRange(at.cell.codeRange) } });
    }
    /** Run the cells above the cursor's (or `line`'s) cell, one by one, stopping at a failure. */
    async runAbove(uri, line) {
        const document = await documentFor(uri);
        if (!document) {
            return;
        }
        const at = await this.cellAt(document, this.lineOf(document, line));
        for (const cell of at.above) {
            if (!cell.code.trim()) {
                continue;
            }
            const result = await this.runner.run({ code: cell.code, origin: { document, range: toRange(cell.codeRange) } });
            if (!result || result.status !== 'finished' || result.exitCode) {
                return; // stop at the first cell that failed
            }
        }
    }
    /**
     * The language client's executeCommand middleware: the daemon's cell commands (from its
     * code lenses) run in the daemon, shown in the output terminal as the window's own runs.
     */
    async serverCommand(command, args, next) {
        const arg = args[0];
        if ((command !== protocol_1.SERVER_RUN_CELL && command !== protocol_1.SERVER_RUN_ABOVE) ||
            typeof arg?.uri !== 'string' ||
            typeof arg.line !== 'number') {
            return next();
        }
        const uri = arg.uri;
        const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
        const session = document ? this.sessions.forDocument(document) : this.sessions.current;
        let code = '';
        const api = this.daemon.current();
        if (api) {
            const at = await api.cellAt(uri, { line: arg.line, character: 0 }).catch(() => undefined);
            code = (command === protocol_1.SERVER_RUN_CELL ? (at?.cell ? [at.cell] : []) : (at?.above ?? []))
                .map((c) => c.code)
                .join('\n');
        }
        return this.runner.runBy(session, code, () => next());
    }
}
exports.CellRunner = CellRunner;
/**
 * Keep `runbridge.enabledForLanguage` and `runbridge.hasCells` in step with the active
 * editor. The daemon starts (quietly, once) when an editor of a runbridge language is
 * active: its language features and code lenses need it.
 */
function trackContext(daemon) {
    let autoStarted = false;
    let asked = 0;
    const update = () => {
        const document = vscode.window.activeTextEditor?.document;
        const enabled = document !== undefined && enabledFor(document.languageId);
        void vscode.commands.executeCommand('setContext', 'runbridge.enabledForLanguage', enabled);
        if (enabled && !daemon.running && !autoStarted) {
            autoStarted = true;
            void daemon.ensure(true).then(update, () => undefined);
        }
        const api = daemon.current();
        if (!enabled || !document || !api) {
            void vscode.commands.executeCommand('setContext', 'runbridge.hasCells', false);
            return;
        }
        const mine = ++asked;
        api.cellAt(document.uri.toString(), { line: 0, character: 0 }).then((at) => {
            if (mine === asked) {
                void vscode.commands.executeCommand('setContext', 'runbridge.hasCells', at.cell !== null || at.next !== null);
            }
        }, () => undefined);
    };
    let timer;
    const later = () => {
        if (timer) {
            clearTimeout(timer);
        }
        timer = setTimeout(update, 200);
    };
    update();
    const subscriptions = [
        vscode.window.onDidChangeActiveTextEditor(update),
        daemon.onDidConnect(() => later()),
        vscode.workspace.onDidChangeTextDocument((e) => {
            if (e.document === vscode.window.activeTextEditor?.document) {
                later();
            }
        }),
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration('runbridge')) {
                update();
            }
        }),
    ];
    return new vscode.Disposable(() => {
        if (timer) {
            clearTimeout(timer);
        }
        subscriptions.forEach((s) => s.dispose());
    });
}
