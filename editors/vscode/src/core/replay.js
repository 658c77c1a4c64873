"use strict";
// Reattaching to the session host: which history to ask for, stitching it with the live
// output that arrives meanwhile (no gap, no duplicate: docs/protocol.md, runbridge/history),
// the lines that frame replayed runs, and which remote terminals to reopen. Pure: no
// `vscode` import (unit-tested).
Object.defineProperty(exports, "__esModule", { value: true });
exports.SessionStream = exports.HISTORY_MAX_BYTES = exports.HISTORY_MAX_RUNS = void 0;
exports.historyParams = historyParams;
exports.replayBanner = replayBanner;
exports.missedNote = missedNote;
exports.replayedFooter = replayedFooter;
exports.replayEnd = replayEnd;
exports.terminalsToReopen = terminalsToReopen;
/** The daemon's bounds for runbridge/history (server/runbridge/protocol.py). */
exports.HISTORY_MAX_RUNS = 1000;
exports.HISTORY_MAX_BYTES = 48 * 1024 * 1024;
/**
 * The `runbridge/history` params for a session, or undefined when replay is off
 * (`runs` 0). `after`: the last notification this window already shows (a reconnect
 * asks only for what came after it).
 */
function historyParams(session, settings, after) {
    const runs = Math.floor(Number.isFinite(settings.runs) ? settings.runs : 0);
    if (runs <= 0) {
        return undefined;
    }
    const mb = Number.isFinite(settings.maxMb) ? settings.maxMb : 1;
    const params = {
        session,
        limit: Math.min(runs, exports.HISTORY_MAX_RUNS),
        maxBytes: Math.max(1, Math.min(Math.round(mb * 1024 * 1024), exports.HISTORY_MAX_BYTES)),
    };
    if (after) {
        params.after = { runId: after.runId, seq: after.seq };
    }
    return params;
}
/**
 * One session's output stream in a window: live notifications go straight through,
 * except while its history is fetched (`hold`), when they wait; `release` then returns
 * the history and the held notifications it does not already contain.
 */
class SessionStream {
    /** The last notification shown, for the next reconnect's `after`. */
    position;
    held;
    /** runId -> lastSeq of the runs of the last replay: later duplicates are dropped. */
    replayed = new Map();
    get holding() {
        return this.held !== undefined;
    }
    /** Hold live notifications until `release` (history is being fetched). */
    hold() {
        this.held ??= [];
    }
    /** A live notification: the ones to show now ([] while held, or when already shown). */
    live(params) {
        if (this.held) {
            this.held.push(params);
            return [];
        }
        return this.accept(params) ? [params] : [];
    }
    /** History arrived (undefined: none was fetched, or the request failed): stop holding. */
    release(history) {
        const held = this.held ?? [];
        this.held = undefined;
        const runs = history?.runs ?? [];
        this.replayed = new Map(runs.map((r) => [r.runId, r.lastSeq]));
        for (const run of runs) {
            const last = run.batches[run.batches.length - 1];
            if (last) {
                this.position = { runId: run.runId, seq: last.seq };
            }
        }
        const live = held.filter((p) => this.accept(p));
        return {
            runs,
            live,
            missed: history?.afterFound === false,
            more: history?.more ?? false,
        };
    }
    accept(params) {
        const last = this.replayed.get(params.runId);
        if (last !== undefined && params.seq <= last) {
            return false; // the replay showed it
        }
        this.position = { runId: params.runId, seq: params.seq };
        return true;
    }
}
exports.SessionStream = SessionStream;
const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';
const DEFAULT_FG = '\x1b[39m';
/** Control characters removed, so text from the wire cannot drive the terminal. */
function printable(s) {
    return s.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
}
/** The dim line before a replay: what is shown and from when. */
function replayBanner(session, stitched, reconnect) {
    const n = stitched.runs.length;
    const what = reconnect ? 'output while this window was away' : `the last ${n === 1 ? 'run' : `${n} runs`}`;
    const older = stitched.more ? ' (older output is in the transcript)' : '';
    return `${DIM}── session ${printable(session)}: ${what}${older} ──${UNDIM}\r\n`;
}
/** A yellow note: some output of the session went by while disconnected and is gone. */
function missedNote(session) {
    return (`\x1b[33m[runbridge: some output of session ${printable(session)} was sent while this window ` +
        `was away and is no longer in its history; the transcript keeps it]${DEFAULT_FG}\r\n`);
}
/** The line closing a replayed run (no duration: history does not keep the end time). */
function replayedFooter(run) {
    if (run.status === null) {
        return `${DIM}… still running${UNDIM}\r\n`;
    }
    const code = run.exitCode;
    let line;
    if (run.status === 'finished' && (code === 0 || code === null)) {
        line = '\x1b[32m✓ finished';
    }
    else if (run.status === 'finished') {
        line = `\x1b[31m✗ error (exit code ${code})`;
    }
    else if (run.status === 'interrupted') {
        line = '\x1b[33m■ interrupted';
    }
    else if (run.status === 'exec-timeout') {
        line = '\x1b[33m⏱ timed out';
    }
    else {
        line = `\x1b[31m✗ ${printable(run.status)}`;
    }
    return `${line}${DEFAULT_FG}\r\n`;
}
/** The dim line after a replay, before live output goes on. */
function replayEnd() {
    return `${DIM}── live ──${UNDIM}\r\n`;
}
/**
 * The host's terminals this window should show again: those it showed before (their ids
 * were remembered) and that still run, minus those open here now.
 */
function terminalsToReopen(listed, remembered, openHere) {
    const wanted = new Set(remembered);
    for (const id of openHere) {
        wanted.delete(id);
    }
    return listed.filter((t) => wanted.has(t.terminalId));
}
