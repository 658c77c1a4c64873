// runbridge/run on the local backend: streaming, state, errors, interrupt, cancellation.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';

import * as P from '../../src/protocol';
import { Daemon, isPending, rpcFailure, withDaemon } from './daemon';

const TIMEOUT = 45_000;

describe('runbridge/run', { timeout: 120_000 }, () => {
  let d: Daemon | undefined;

  before(async () => {
    d = await Daemon.start({ label: 'run' });
  });

  after(async () => {
    if (d !== undefined) {
      assert.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('output streams before the reply; busy then idle; state persists', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-run-stream';
    await d.api.openSession({ name: S });
    const changesBefore = d.events.sessionChanges.length;
    const pending = d.api.run({
      session: S,
      code: "import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second')\nx = 41\n",
    });
    const first = await d.waitFor(
      () =>
        d.events.outputs.find(
          (o) => o.session === S && o.console.some(([k, t]) => k === 'stdout' && t.includes('first')),
        ),
      'the first output notification',
    );
    assert.ok(await isPending(pending), 'the run is still executing when its first output arrives');
    assert.ok(!first.console.some(([, t]) => t.includes('second')), 'the first output came before the sleep ended');
    assert.equal(first.seq, 1);

    const result = await pending;
    assert.equal(result.status, 'finished');
    assert.equal(result.exitCode, 0);
    assert.equal(result.error, undefined);
    assert.equal(first.runId, result.runId);
    assert.equal(typeof result.transcript, 'string');
    const mine = d.events.outputsOf(result.runId);
    assert.deepEqual(
      mine.map((o) => o.seq),
      mine.map((_, i) => i + 1),
      'seq counts 1, 2, 3, ... in arrival order',
    );
    assert.ok(mine.every((o) => o.session === S));
    assert.equal(d.events.textOf(result.runId), 'first\nsecond\n');

    const states = () => d.events.sessionChanges.slice(changesBefore).filter((s) => s.name === S);
    await d.waitFor(() => states().some((s) => s.state === 'idle'), 'sessionChanged idle');
    const seen = states().map((s) => s.state);
    assert.deepEqual(seen, ['busy', 'idle'], `states during the run: ${seen}`);

    // State is kept: x from the previous run; a bare expression's value is stdout text.
    const next = await d.api.run({ session: S, code: 'x + 1' });
    assert.equal(next.status, 'finished');
    assert.notEqual(next.runId, result.runId);
    assert.deepEqual(d.events.consoleOf(next.runId), [['stdout', '42\n']]);
    assert.deepEqual(
      d.events.outputsOf(next.runId).map((o) => o.seq),
      [1],
      'seq starts at 1 for each run',
    );
  }));

  test('stderr records and an exception (exit 1, error.ename)', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-run-errors';
    const warn = await d.api.run({
      session: S,
      code: "import sys\nsys.stderr.write('careful\\n')\nsys.stderr.flush()\n",
    });
    assert.equal(warn.status, 'finished');
    assert.equal(warn.exitCode, 0);
    assert.deepEqual(d.events.consoleOf(warn.runId), [['stderr', 'careful\n']]);

    const boom = await d.api.run({ session: S, code: "print('hi')\n1/0\n" });
    assert.equal(boom.status, 'finished');
    assert.equal(boom.exitCode, 1);
    assert.ok(boom.error, `an error in ${JSON.stringify(boom)}`);
    assert.equal(boom.error.ename, 'ZeroDivisionError');
    assert.equal(boom.error.evalue, 'division by zero');
    assert.ok(Array.isArray(boom.error.traceback) && boom.error.traceback.length > 0);
    assert.ok(
      boom.error.traceback.every((line) => !line.includes('\x1b[')),
      'traceback lines are plain text',
    );
    assert.match(boom.error.traceback.join('\n'), /ZeroDivisionError: division by zero/);
    const console = d.events.consoleOf(boom.runId);
    assert.deepEqual(console[0], ['stdout', 'hi\n']);
    assert.ok(
      console.some(([k, t]) => k === 'stderr' && t.includes('ZeroDivisionError')),
      `the traceback is streamed as stderr: ${JSON.stringify(console)}`,
    );

    // The transcript holds the run's records.
    const transcript = fs.readFileSync(boom.transcript!, 'utf8');
    const lines = transcript.trim().split('\n').map((l) => JSON.parse(l) as { run: string; kind: string; data: string });
    const ofRun = lines.filter((l) => l.run === boom.runId);
    assert.equal(ofRun[0].kind, 'runbridge/run-start');
    assert.equal(ofRun[ofRun.length - 1].kind, 'runbridge/run-end');
    assert.ok(ofRun.some((l) => l.kind === 'stdout' && l.data === 'hi\n'));
  }));

  test('interrupt stops a sleeping run quickly and keeps its output', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-run-interrupt';
    await d.api.openSession({ name: S });
    const pending = d.api.run({
      session: S,
      code: "import time\nprint('before', flush=True)\ntime.sleep(30)\nprint('after')\n",
    });
    // A run queued behind it is cancelled by the interrupt too.
    const queued = d.api.run({ session: S, code: "print('queued ran')" });
    const out = await d.waitFor(
      () => d.events.outputs.find((o) => o.session === S && JSON.stringify(o.console).includes('before')),
      'output printed before the sleep',
    );
    const t0 = performance.now();
    const info = await d.api.interrupt(S);
    assert.equal(info.name, S);
    const result = await d.withDeadline(pending, 5_000, 'the interrupted run');
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 5_000, `interrupted after ${elapsed} ms`);
    assert.equal(result.status, 'interrupted');
    assert.equal(result.exitCode, 130);
    assert.equal(result.runId, out.runId);
    assert.equal(d.events.textOf(result.runId), 'before\n', 'output before the interrupt is kept');

    const second = await d.withDeadline(queued, 5_000, 'the queued run');
    assert.equal(second.status, 'interrupted', 'the queued run is cancelled');
    assert.ok(!d.events.textOf(second.runId).includes('queued ran'));

    // The kernel survives and is usable.
    const alive = await d.api.run({ session: S, code: "print('alive')" });
    assert.equal(alive.status, 'finished');
    assert.equal(d.events.textOf(alive.runId), 'alive\n');
    // Interrupting an idle session is harmless.
    assert.equal((await d.api.interrupt(S)).state, 'idle');
  }));

  test('cancelling the run request interrupts it (-32800, run ends interrupted)', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-run-cancel';
    await d.api.openSession({ name: S });
    const cts = new CancellationTokenSource();
    const pending = d.api.run(
      { session: S, code: "import time\nprint('started', flush=True)\ntime.sleep(30)\nprint('late')\n" },
      cts.token,
    );
    const out = await d.waitFor(
      () => d.events.outputs.find((o) => o.session === S && JSON.stringify(o.console).includes('started')),
      'output before the cancel',
    );
    const t0 = performance.now();
    cts.cancel();
    const err = await d.withDeadline(rpcFailure(pending), 5_000, 'the cancelled run request');
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(err.code, P.ErrorCodes.RequestCancelled);

    // The run still ended `interrupted` (its run-end record) and its output was kept.
    // A next run (queued behind the cancelled one, if still ending) works.
    const next = await d.api.run({ session: S, code: "print('after cancel')" });
    assert.equal(next.status, 'finished');
    assert.equal(d.events.textOf(next.runId), 'after cancel\n');
    const transcript = next.transcript!;
    const runEnd = fs
      .readFileSync(transcript, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { run: string; kind: string; data: string })
      .find((l) => l.run === out.runId && l.kind === 'runbridge/run-end');
    assert.ok(runEnd, 'a run-end record for the cancelled run');
    assert.match(runEnd.data, /interrupted/);
    assert.equal(d.events.textOf(out.runId), 'started\n');
    assert.ok(!d.events.textOf(out.runId).includes('late'));
  }));
});
