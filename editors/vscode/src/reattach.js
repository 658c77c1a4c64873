"use strict";
// What a window does each time it (re)connects to the session host: list the sessions,
// follow those it shows, replay their last runs from runbridge/history into their output
// terminals (media into their media panels), stitched with the live output that goes on,
// and reopen or redraw its remote terminals. "Shows": the current session and the
// sessions this window ran in, remembered in the workspace state across reloads.
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
exports.Reattachment = void 0;
exports.historySettings = historySettings;
const vscode = __importStar(require("vscode"));
const api_1 = require("./api");
const replay_1 = require("./core/replay");
const terminalText_1 = require("./core/terminalText");
const SHOWN_KEY = 'runbridge.shownSessions';
/** A run waits at most this long for the replay before it goes on anyway. */
const READY_TIMEOUT_MS = 15_000;
function historySettings() {
    const config = vscode.workspace.getConfiguration('runbridge');
    return {
        runs: config.get('history.runs', 5),
        maxMb: config.get('history.maxMb', 1),
    };
}
class Reattachment {
    state;
    sessions;
    outputs;
    terminals;
    render;
    log;
    streams = new Map();
    syncing = Promise.resolve();
    subscription;
    constructor(daemon, state, sessions, outputs, terminals, render, log) {
        this.state = state;
        this.sessions = sessions;
        this.outputs = outputs;
        this.terminals = terminals;
        this.render = render;
        this.log = log;
        this.subscription = daemon.onDidConnect((api) => {
            this.syncing = this.sync(api).catch((error) => {
                log.warn(`reattaching to the daemon's sessions: ${(0, api_1.errorMessage)(error)}`);
            });
        });
    }
    ready() {
        return Promise.race([this.syncing, new Promise((r) => setTimeout(r, READY_TIMEOUT_MS))]);
    }
    shown(session) {
        const names = this.shownSessions().filter((n) => n !== session);
        void this.state.update(SHOWN_KEY, [...names, session].slice(-20));
    }
    /** A live `runbridge/output` notification. */
    output(params) {
        for (const p of this.stream(params.session).live(params)) {
            this.render(p, false);
        }
    }
    /** Follow `session` and show its history (a session picked in this window). */
    async showSession(api, session) {
        this.shown(session);
        const caught = this.catchUp(api, session);
        // a run started meanwhile waits for it too, so its output comes after this history
        this.syncing = Promise.all([this.syncing, caught]).then(() => undefined, () => undefined);
        await caught;
    }
    shownSessions() {
        return this.state.get(SHOWN_KEY, []);
    }
    stream(session) {
        let stream = this.streams.get(session);
        if (!stream) {
            stream = new replay_1.SessionStream();
            this.streams.set(session, stream);
        }
        return stream;
    }
    async sync(api) {
        const open = await api.listSessions();
        this.sessions.replaceAll(open);
        const names = new Set(open.filter((s) => s.state !== 'closed').map((s) => s.name));
        const wanted = new Set([...this.shownSessions(), this.sessions.current]);
        const targets = [...wanted].filter((n) => names.has(n));
        await Promise.all([
            ...targets.map((session) => this.catchUp(api, session)),
            this.terminals.reattach(api).catch((error) => {
                this.log.warn(`reattaching the remote terminals: ${(0, api_1.errorMessage)(error)}`);
            }),
        ]);
    }
    /** Follow the session, fetch what this window has not shown of it, write it, go live. */
    async catchUp(api, session) {
        const stream = this.stream(session);
        const reconnect = stream.position !== undefined;
        const params = (0, replay_1.historyParams)(session, historySettings(), stream.position);
        stream.hold();
        let history;
        try {
            await api.follow(session);
            if (params) {
                history = await api.history(params);
            }
        }
        catch (error) {
            this.log.warn(`history of session ${session}: ${(0, api_1.errorMessage)(error)}`);
        }
        const stitched = stream.release(history);
        if (stitched.missed) {
            this.outputs.write(session, (0, replay_1.missedNote)(session));
        }
        if (stitched.runs.length > 0) {
            this.outputs.write(session, (0, replay_1.replayBanner)(session, stitched, reconnect));
            for (const run of stitched.runs) {
                if (!reconnect || run.batches[0]?.seq === 1 || run.batches.length === 0) {
                    this.outputs.write(session, (0, terminalText_1.runHeader)(session, run.code));
                }
                for (const batch of run.batches) {
                    this.render({ session, runId: run.runId, seq: batch.seq, console: batch.console }, true);
                }
                this.outputs.write(session, (0, replay_1.replayedFooter)(run));
            }
            this.outputs.write(session, (0, replay_1.replayEnd)());
        }
        for (const p of stitched.live) {
            this.render(p, false);
        }
    }
    dispose() {
        this.subscription.dispose();
    }
}
exports.Reattachment = Reattachment;
