"use strict";
// The typed runbridge API over any JSON-RPC peer: the extension passes its
// vscode-languageclient LanguageClient, the integration tests a vscode-jsonrpc
// MessageConnection to a daemon they started. No `vscode` import.
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
exports.RunbridgeApi = void 0;
exports.isRpcError = isRpcError;
exports.errorMessage = errorMessage;
const P = __importStar(require("./protocol"));
function isRpcError(error) {
    return (typeof error === 'object' &&
        error !== null &&
        typeof error.code === 'number' &&
        typeof error.message === 'string');
}
/** A one-line message for an error from the daemon or the connection. */
function errorMessage(error) {
    if (isRpcError(error)) {
        return error.message;
    }
    return error instanceof Error ? error.message : String(error);
}
class RunbridgeApi {
    peer;
    subscriptions = [];
    constructor(peer, events) {
        this.peer = peer;
        this.subscriptions.push(peer.onNotification(P.OUTPUT, (p) => events.output(p)), peer.onNotification(P.SESSION_CHANGED, (p) => events.sessionChanged(p.session)), peer.onNotification(P.TERMINAL_OUTPUT, (p) => events.terminalOutput(p)), peer.onNotification(P.TERMINAL_EXIT, (p) => events.terminalExit(p)), peer.onNotification(P.DOCUMENT_BOUND, (p) => events.documentBound?.(p)), peer.onRequest(P.INPUT, async (p, token) => ({
            value: await events.input(p, token),
        })));
    }
    dispose() {
        for (const s of this.subscriptions.splice(0)) {
            s.dispose();
        }
    }
    /**
     * vscode-jsonrpc treats a trailing `undefined` as one more positional parameter
     * (the request would go out as `params: [params, null]`), so a missing token is
     * left out of the call, not passed as undefined.
     */
    request(method, params, token) {
        return token
            ? this.peer.sendRequest(method, params, token)
            : this.peer.sendRequest(method, params);
    }
    openSession(params, token) {
        return this.request(P.OPEN_SESSION, params, token);
    }
    async listSessions() {
        const result = await this.request(P.LIST_SESSIONS, {});
        return result.sessions;
    }
    /** `destroy`: an attached session is ended on the server too (else only let go of). */
    closeSession(name, destroy = false) {
        return this.request(P.CLOSE_SESSION, destroy ? { name, destroy } : { name });
    }
    /** What runs on the profile's server that runbridge did not create (default profile when absent). */
    listRemote(profile) {
        return this.request(P.LIST_REMOTE, profile ? { profile } : {});
    }
    interrupt(session) {
        return this.request(P.INTERRUPT, { session });
    }
    restart(session, token) {
        return this.request(P.RESTART, { session }, token);
    }
    /** Cancelling `token` interrupts the run; the promise then rejects with -32800. */
    run(params, token) {
        return this.request(P.RUN, params, token);
    }
    /** `workDoneToken`: the daemon reports bytes copied as `$/progress` on it. */
    async upload(session, files, dest = '.', token, workDoneToken) {
        const result = await this.request(P.UPLOAD, { session, files, dest, ...(workDoneToken ? { workDoneToken } : {}) }, token);
        return result.files;
    }
    async download(session, files, dest, token, workDoneToken) {
        const result = await this.request(P.DOWNLOAD, { session, files, dest, ...(workDoneToken ? { workDoneToken } : {}) }, token);
        return result.files;
    }
    listFiles(session, path = '.') {
        return this.request(P.LIST_FILES, { session, path });
    }
    /** Whether sessions of `profile` (default: the default profile) could open now. */
    checkProfile(profile) {
        return this.request(P.CHECK_PROFILE, profile ? { profile } : {});
    }
    /** Close every session and end the daemon (the session host exits when this connection
     * ends, for every client). */
    async stopDaemon() {
        await this.request(P.STOP_DAEMON, {});
    }
    /** The output of runs in `session` started by other clients comes here too (or stops). */
    follow(session, follow = true) {
        return this.request(P.FOLLOW, { session, follow });
    }
    /** The session's recent runs and their output, as streamed (runbridge/history). */
    history(params) {
        return this.request(P.HISTORY, params);
    }
    async listTerminals() {
        const result = await this.request(P.LIST_TERMINALS, {});
        return result.terminals;
    }
    /** Attach to a running terminal: its recent output, then its live output comes here. */
    attachTerminal(terminalId) {
        return this.request(P.ATTACH_TERMINAL, { terminalId });
    }
    async openTerminal(session, rows, cols) {
        const params = { session };
        if (rows !== undefined && cols !== undefined) {
            params.rows = rows;
            params.cols = cols;
        }
        const result = await this.request(P.OPEN_TERMINAL, params);
        return result.terminalId;
    }
    async closeTerminal(terminalId) {
        await this.request(P.CLOSE_TERMINAL, { terminalId });
    }
    async terminalInput(terminalId, data) {
        await this.peer.sendNotification(P.TERMINAL_INPUT, { terminalId, data });
    }
    /** Bind a document to a session (`null`: back to the daemon's rule). */
    bindDocument(uri, session) {
        return this.request(P.BIND_DOCUMENT, { uri, session });
    }
    /** The cell at a position of an open document, the next cell's start and the cells above. */
    cellAt(uri, position) {
        return this.request(P.CELL_AT, { uri, position });
    }
    /** The session's user variables (Unsupported: not available for this kernel). */
    variables(session) {
        return this.request(P.VARIABLES, { session });
    }
    /** The session's apps (service ports); Unsupported off Backend.AI. */
    async listApps(session) {
        const result = await this.request(P.LIST_APPS, { session });
        return result.apps;
    }
    /** Forward an app to 127.0.0.1 (a free port unless `localPort`). */
    openApp(params) {
        return this.request(P.OPEN_APP, params);
    }
    async closeApp(appId) {
        await this.request(P.CLOSE_APP, { appId });
    }
    async resizeTerminal(terminalId, rows, cols) {
        await this.peer.sendNotification(P.RESIZE_TERMINAL, { terminalId, rows, cols });
    }
}
exports.RunbridgeApi = RunbridgeApi;
