// Reattaching to the session host: the history request, stitching history with live
// output held meanwhile (no gap, no duplicate), the replay's lines, terminals to reopen.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  HISTORY_MAX_BYTES,
  historyParams,
  missedNote,
  replayBanner,
  replayedFooter,
  SessionStream,
  terminalsToReopen,
} from '../../src/core/replay';
import type { HistoryResult, HistoryRun, OutputParams } from '../../src/protocol';

const out = (runId: string, seq: number, text = `${runId}:${seq}`): OutputParams => ({
  session: 's',
  runId,
  seq,
  console: [['stdout', text]],
});

const run = (runId: string, seqs: number[], status: string | null = 'finished'): HistoryRun => ({
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

const history = (runs: HistoryRun[], extra: Partial<HistoryResult> = {}): HistoryResult => ({
  session: 's',
  transcript: '/t',
  more: false,
  runs,
  ...extra,
});

describe('historyParams', () => {
  it('asks for the last N runs and at most M MB', () => {
    assert.deepEqual(historyParams('s', { runs: 5, maxMb: 1 }), { session: 's', limit: 5, maxBytes: 1024 * 1024 });
  });

  it('asks only for what came after the last notification shown', () => {
    assert.deepEqual(historyParams('s', { runs: 5, maxMb: 1 }, { runId: 'r1', seq: 3 })?.after, { runId: 'r1', seq: 3 });
  });

  it('is off with 0 runs (or nonsense)', () => {
    assert.equal(historyParams('s', { runs: 0, maxMb: 1 }), undefined);
    assert.equal(historyParams('s', { runs: Number.NaN, maxMb: 1 }), undefined);
  });

  it('keeps to the daemon bounds (1..1000 runs, 1 byte..48 MiB)', () => {
    const p = historyParams('s', { runs: 5000, maxMb: 500 });
    assert.equal(p?.limit, 1000);
    assert.equal(p?.maxBytes, HISTORY_MAX_BYTES);
    assert.equal(historyParams('s', { runs: 1, maxMb: 0 })?.maxBytes, 1);
  });
});

describe('SessionStream', () => {
  it('passes live output through when nothing is held, and tracks the position', () => {
    const s = new SessionStream();
    assert.deepEqual(s.live(out('a', 1)), [out('a', 1)]);
    assert.deepEqual(s.position, { runId: 'a', seq: 1 });
  });

  it('holds live output during the history request, then drops what history already has', () => {
    const s = new SessionStream();
    s.hold();
    // a run in progress: history has 1..3, live notifications 3 (a duplicate), 4, 5 came
    // meanwhile, and a new run b started
    assert.deepEqual(s.live(out('a', 3)), []);
    assert.deepEqual(s.live(out('a', 4)), []);
    assert.deepEqual(s.live(out('b', 1)), []);
    assert.deepEqual(s.live(out('a', 5)), []);
    const stitched = s.release(history([run('z', [1]), run('a', [1, 2, 3], null)]));
    assert.deepEqual(stitched.runs.map((r) => r.runId), ['z', 'a']);
    assert.deepEqual(stitched.live, [out('a', 4), out('b', 1), out('a', 5)]);
    assert.equal(stitched.missed, false);
    assert.deepEqual(s.position, { runId: 'a', seq: 5 });
    // after the release, a late duplicate is still dropped and new output passes
    assert.deepEqual(s.live(out('a', 2)), []);
    assert.deepEqual(s.live(out('a', 6)), [out('a', 6)]);
    assert.equal(s.holding, false);
  });

  it('with no history (off, or the request failed) shows every held notification', () => {
    const s = new SessionStream();
    s.hold();
    s.live(out('a', 1));
    assert.deepEqual(s.release(undefined), { runs: [], live: [out('a', 1)], missed: false, more: false });
  });

  it('reports a gap it cannot fill (afterFound false) and older output left out', () => {
    const s = new SessionStream();
    s.hold();
    const stitched = s.release(history([run('c', [1])], { afterFound: false, more: true }));
    assert.equal(stitched.missed, true);
    assert.equal(stitched.more, true);
  });

  it('a run with no notification yet leaves the position where it was', () => {
    const s = new SessionStream();
    s.live(out('a', 2));
    s.hold();
    s.release(history([run('b', [])]));
    assert.deepEqual(s.position, { runId: 'a', seq: 2 });
  });
});

describe('replay text', () => {
  it('a banner naming the session and how many runs', () => {
    const stitched = { runs: [run('a', [1]), run('b', [1])], live: [], missed: false, more: true };
    const text = replayBanner('e2e', stitched, false);
    assert.match(text, /session e2e: the last 2 runs \(older output is in the transcript\)/);
    assert.match(replayBanner('e2e', { ...stitched, more: false }, true), /output while this window was away ──/);
  });

  it('a footer per status, none of them with a duration', () => {
    assert.equal(replayedFooter(run('a', [1])), '\x1b[32m✓ finished\x1b[39m\r\n');
    assert.match(replayedFooter({ ...run('a', [1]), exitCode: 1 }), /error \(exit code 1\)/);
    assert.match(replayedFooter(run('a', [1], 'interrupted')), /■ interrupted/);
    assert.match(replayedFooter(run('a', [1], null)), /still running/);
  });

  it('control characters of a session name do not reach the terminal', () => {
    assert.ok(!missedNote('a\x1b]0;x\x07b').includes('\x1b]'));
  });
});

describe('terminalsToReopen', () => {
  const listed = [
    { terminalId: 't1', session: 's', attached: 0 },
    { terminalId: 't2', session: 's', attached: 1 },
    { terminalId: 't3', session: 'other', attached: 0 },
  ];

  it('reopens the remembered terminals that still run and are not open here', () => {
    assert.deepEqual(terminalsToReopen(listed, ['t1', 't2', 'gone'], ['t2']).map((t) => t.terminalId), ['t1']);
  });

  it('never another window\'s terminal it did not show', () => {
    assert.deepEqual(terminalsToReopen(listed, [], []), []);
  });
});
