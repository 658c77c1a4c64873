"use strict";
// Reattaching to the session host: the history request, stitching history with live
// output held meanwhile (no gap, no duplicate), the replay's lines, terminals to reopen.
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const replay_1 = require("../../src/core/replay");
const out = (runId, seq, text = `${runId}:${seq}`) => ({
    session: 's',
    runId,
    seq,
    console: [['stdout', text]],
});
const run = (runId, seqs, status = 'finished') => ({
    runId,
    mode: 'query',
    code: `print("${runId}")`,
    started: 1,
    status,
    exitCode: status === null ? null : 0,
    truncated: false,
    lastSeq: seqs.length ? seqs[seqs.length - 1] : 0,
    batches: seqs.map((seq) => ({ seq, console: [['stdout', `${runId}:${seq}`]] })),
});
const history = (runs, extra = {}) => ({
    session: 's',
    transcript: '/t',
    more: false,
    runs,
    ...extra,
});
(0, node_test_1.describe)('historyParams', () => {
    (0, node_test_1.it)('asks for the last N runs and at most M MB', () => {
        strict_1.default.deepEqual((0, replay_1.historyParams)('s', { runs: 5, maxMb: 1 }), { session: 's', limit: 5, maxBytes: 1024 * 1024 });
    });
    (0, node_test_1.it)('asks only for what came after the last notification shown', () => {
        strict_1.default.deepEqual((0, replay_1.historyParams)('s', { runs: 5, maxMb: 1 }, { runId: 'r1', seq: 3 })?.after, { runId: 'r1', seq: 3 });
    });
    (0, node_test_1.it)('is off with 0 runs (or nonsense)', () => {
        strict_1.default.equal((0, replay_1.historyParams)('s', { runs: 0, maxMb: 1 }), undefined);
        strict_1.default.equal((0, replay_1.historyParams)('s', { runs: Number.NaN, maxMb: 1 }), undefined);
    });
    (0, node_test_1.it)('keeps to the daemon bounds (1..1000 runs, 1 byte..48 MiB)', () => {
        const p = (0, replay_1.historyParams)('s', { runs: 5000, maxMb: 500 });
        strict_1.default.equal(p?.limit, 1000);
        strict_1.default.equal(p?.maxBytes, replay_1.HISTORY_MAX_BYTES);
        strict_1.default.equal((0, replay_1.historyParams)('s', { runs: 1, maxMb: 0 })?.maxBytes, 1);
    });
});
(0, node_test_1.describe)('SessionStream', () => {
    (0, node_test_1.it)('passes live output through when nothing is held, and tracks the position', () => {
        const s = new replay_1.SessionStream();
        strict_1.default.deepEqual(s.live(out('a', 1)), [out('a', 1)]);
        strict_1.default.deepEqual(s.position, { runId: 'a', seq: 1 });
    });
    (0, node_test_1.it)('holds live output during the history request, then drops what history already has', () => {
        const s = new replay_1.SessionStream();
        s.hold();
        // a run in progress: history has 1..3, live notifications 3 (a duplicate), 4, 5 came
        // meanwhile, and a new run b started
        strict_1.default.deepEqual(s.live(out('a', 3)), []);
        strict_1.default.deepEqual(s.live(out('a', 4)), []);
        strict_1.default.deepEqual(s.live(out('b', 1)), []);
        strict_1.default.deepEqual(s.live(out('a', 5)), []);
        const stitched = s.release(history([run('z', [1]), run('a', [1, 2, 3], null)]));
        strict_1.default.deepEqual(stitched.runs.map((r) => r.runId), ['z', 'a']);
        strict_1.default.deepEqual(stitched.live, [out('a', 4), out('b', 1), out('a', 5)]);
        strict_1.default.equal(stitched.missed, false);
        strict_1.default.deepEqual(s.position, { runId: 'a', seq: 5 });
        // after the release, a late duplicate is still dropped and new output passes
        strict_1.default.deepEqual(s.live(out('a', 2)), []);
        strict_1.default.deepEqual(s.live(out('a', 6)), [out('a', 6)]);
        strict_1.default.equal(s.holding, false);
    });
    (0, node_test_1.it)('with no history (off, or the request failed) shows every held notification', () => {
        const s = new replay_1.SessionStream();
        s.hold();
        s.live(out('a', 1));
        strict_1.default.deepEqual(s.release(undefined), { runs: [], live: [out('a', 1)], missed: false, more: false });
    });
    (0, node_test_1.it)('reports a gap it cannot fill (afterFound false) and older output left out', () => {
        const s = new replay_1.SessionStream();
        s.hold();
        const stitched = s.release(history([run('c', [1])], { afterFound: false, more: true }));
        strict_1.default.equal(stitched.missed, true);
        strict_1.default.equal(stitched.more, true);
    });
    (0, node_test_1.it)('a run with no notification yet leaves the position where it was', () => {
        const s = new replay_1.SessionStream();
        s.live(out('a', 2));
        s.hold();
        s.release(history([run('b', [])]));
        strict_1.default.deepEqual(s.position, { runId: 'a', seq: 2 });
    });
});
(0, node_test_1.describe)('replay text', () => {
    (0, node_test_1.it)('a banner naming the session and how many runs', () => {
        const stitched = { runs: [run('a', [1]), run('b', [1])], live: [], missed: false, more: true };
        const text = (0, replay_1.replayBanner)('e2e', stitched, false);
        strict_1.default.match(text, /session e2e: the last 2 runs \(older output is in the transcript\)/);
        strict_1.default.match((0, replay_1.replayBanner)('e2e', { ...stitched, more: false }, true), /output while this window was away ──/);
    });
    (0, node_test_1.it)('a footer per status, none of them with a duration', () => {
        strict_1.default.equal((0, replay_1.replayedFooter)(run('a', [1])), '\x1b[32m✓ finished\x1b[39m\r\n');
        strict_1.default.match((0, replay_1.replayedFooter)({ ...run('a', [1]), exitCode: 1 }), /error \(exit code 1\)/);
        strict_1.default.match((0, replay_1.replayedFooter)(run('a', [1], 'interrupted')), /■ interrupted/);
        strict_1.default.match((0, replay_1.replayedFooter)(run('a', [1], null)), /still running/);
    });
    (0, node_test_1.it)('control characters of a session name do not reach the terminal', () => {
        strict_1.default.ok(!(0, replay_1.missedNote)('a\x1b]0;x\x07b').includes('\x1b]'));
    });
});
(0, node_test_1.describe)('terminalsToReopen', () => {
    const listed = [
        { terminalId: 't1', session: 's', attached: 0 },
        { terminalId: 't2', session: 's', attached: 1 },
        { terminalId: 't3', session: 'other', attached: 0 },
    ];
    (0, node_test_1.it)('reopens the remembered terminals that still run and are not open here', () => {
        strict_1.default.deepEqual((0, replay_1.terminalsToReopen)(listed, ['t1', 't2', 'gone'], ['t2']).map((t) => t.terminalId), ['t1']);
    });
    (0, node_test_1.it)('never another window\'s terminal it did not show', () => {
        strict_1.default.deepEqual((0, replay_1.terminalsToReopen)(listed, [], []), []);
    });
});
