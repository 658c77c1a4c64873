"use strict";
// Runs code in a session and shows what comes back: text in the session's output
// terminal, media in its panel. An exception's diagnostic on the failing line is the
// daemon's (textDocument/publishDiagnostics, shown by the language client).
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
exports.Runner = void 0;
const vscode = __importStar(require("vscode"));
const api_1 = require("./api");
const protocol_1 = require("./protocol");
const terminalText_1 = require("./core/terminalText");
class Runner {
    daemon;
    sessions;
    outputs;
    media;
    attachment;
    /** Runs started here and not answered yet, per session (Escape in the input box etc.). */
    active = new Map();
    constructor(daemon, sessions, outputs, media, attachment) {
        this.daemon = daemon;
        this.sessions = sessions;
        this.outputs = outputs;
        this.media = media;
        this.attachment = attachment;
    }
    /** A `runbridge/output` notification (live, or replayed from history with `replayed`:
     * then the media panel is never revealed for it). */
    render(params, replayed = false) {
        const reveal = !replayed && vscode.workspace.getConfiguration('runbridge').get('showMediaPanel', true);
        for (const record of params.console) {
            const [kind, data] = record;
            const display = record[2];
            const rendered = (0, terminalText_1.renderRecord)(kind, data);
            if (rendered.clear) {
                this.outputs.clear(params.session);
            }
            if (rendered.media && display?.update) {
                // replaced in the media panel where it stands; no new note in the terminal
                this.media.add(params.session, params.runId, rendered.media.kind, rendered.media.data, false, display);
                continue;
            }
            if (rendered.text) {
                this.outputs.write(params.session, rendered.text);
            }
            if (rendered.media) {
                this.media.add(params.session, params.runId, rendered.media.kind, rendered.media.data, reveal, display);
            }
        }
    }
    async run(request) {
        const origin = request.origin;
        const session = request.session ?? (origin ? this.sessions.forDocument(origin.document) : this.sessions.current);
        if (!request.code.trim() && request.mode !== 'batch') {
            void vscode.window.showInformationMessage('runbridge: nothing to run (the code is empty).');
            return undefined;
        }
        const api = await this.daemon.ensure();
        const params = { session, code: request.code, mode: request.mode ?? 'query' };
        if (request.options) {
            params.options = request.options;
        }
        if (origin) {
            params.uri = origin.document.uri.toString();
            params.languageId = origin.document.languageId;
            params.range = {
                start: { line: origin.range.start.line, character: origin.range.start.character },
                end: { line: origin.range.end.line, character: origin.range.end.character },
            };
        }
        return this.shown(session, request.label ?? session, request.code, (token) => api.run(params, token));
    }
    /**
     * A run the daemon starts itself (its `runbridge.server.runCell` / `runAbove` commands,
     * from its code lenses), shown as this window's runs are: the output terminal, a header
     * with `code`, the footer.
     */
    async runBy(session, code, start) {
        await this.daemon.ensure();
        return this.shown(session, session, code, () => start());
    }
    async shown(session, label, code, start) {
        // the session's earlier output (after a reload) comes before this run's
        await this.attachment.ready();
        this.attachment.shown(session);
        this.outputs.show(session);
        this.outputs.write(session, (0, terminalText_1.runHeader)(label, code));
        const cts = new vscode.CancellationTokenSource();
        const set = this.active.get(session) ?? new Set();
        set.add(cts);
        this.active.set(session, set);
        const started = Date.now();
        try {
            const result = await start(cts.token);
            this.outputs.write(session, (0, terminalText_1.runFooter)(result.status, result.exitCode, Date.now() - started, result.message));
            return result;
        }
        catch (error) {
            if ((0, api_1.isRpcError)(error) && error.code === protocol_1.ErrorCodes.RequestCancelled) {
                this.outputs.write(session, (0, terminalText_1.runFooter)('interrupted', 130, Date.now() - started));
                return undefined;
            }
            const message = (0, api_1.errorMessage)(error);
            this.outputs.write(session, `\x1b[31mrunbridge: ${message}\x1b[39m\r\n`);
            void vscode.window.showErrorMessage(`runbridge: ${message}`);
            return undefined;
        }
        finally {
            set.delete(cts);
            cts.dispose();
        }
    }
    /** Cancel the runs this window started in `session` (they end interrupted). */
    cancelAll(session) {
        for (const cts of this.active.get(session) ?? []) {
            cts.cancel();
        }
    }
}
exports.Runner = Runner;
