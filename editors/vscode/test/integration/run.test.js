"use strict";
// runbridge/run on the local backend: streaming, state, errors, interrupt, cancellation.
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
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const strict_1 = __importDefault(require("node:assert/strict"));
const fs = __importStar(require("node:fs"));
const node_test_1 = require("node:test");
const node_1 = require("vscode-jsonrpc/node");
const P = __importStar(require("../../src/protocol"));
const daemon_1 = require("./daemon");
const TIMEOUT = 45_000;
(0, node_test_1.describe)('runbridge/run', { timeout: 120_000 }, () => {
    let d;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'run' });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('output streams before the reply; busy then idle; state persists', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-run-stream';
        await d.api.openSession({ name: S });
        const changesBefore = d.events.sessionChanges.length;
        const started = performance.now();
        const pending = d.api.run({
            session: S,
            code: "import time\nprint('first', flush=True)\ntime.sleep(1)\nprint('second')\nx = 41\n",
        });
        const first = await d.waitFor(() => d.events.outputs.find((o) => o.session === S && o.console.some(([k, t]) => k === 'stdout' && t.includes('first'))), 'the first output notification');
        strict_1.default.ok(await (0, daemon_1.isPending)(pending), 'the run is still executing when its first output arrives');
        strict_1.default.ok(first.at - started < 900, `first output after ${first.at - started} ms (code sleeps 1 s)`);
        strict_1.default.equal(first.seq, 1);
        const result = await pending;
        strict_1.default.equal(result.status, 'finished');
        strict_1.default.equal(result.exitCode, 0);
        strict_1.default.equal(result.error, undefined);
        strict_1.default.equal(first.runId, result.runId);
        strict_1.default.equal(typeof result.transcript, 'string');
        const mine = d.events.outputsOf(result.runId);
        strict_1.default.deepEqual(mine.map((o) => o.seq), mine.map((_, i) => i + 1), 'seq counts 1, 2, 3, ... in arrival order');
        strict_1.default.ok(mine.every((o) => o.session === S));
        strict_1.default.equal(d.events.textOf(result.runId), 'first\nsecond\n');
        const states = () => d.events.sessionChanges.slice(changesBefore).filter((s) => s.name === S);
        await d.waitFor(() => states().some((s) => s.state === 'idle'), 'sessionChanged idle');
        const seen = states().map((s) => s.state);
        strict_1.default.deepEqual(seen, ['busy', 'idle'], `states during the run: ${seen}`);
        // State is kept: x from the previous run; a bare expression's value is stdout text.
        const next = await d.api.run({ session: S, code: 'x + 1' });
        strict_1.default.equal(next.status, 'finished');
        strict_1.default.notEqual(next.runId, result.runId);
        strict_1.default.deepEqual(d.events.consoleOf(next.runId), [['stdout', '42\n']]);
        strict_1.default.deepEqual(d.events.outputsOf(next.runId).map((o) => o.seq), [1], 'seq starts at 1 for each run');
    }));
    (0, node_test_1.test)('stderr records and an exception (exit 1, error.ename)', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-run-errors';
        const warn = await d.api.run({
            session: S,
            code: "import sys\nsys.stderr.write('careful\\n')\nsys.stderr.flush()\n",
        });
        strict_1.default.equal(warn.status, 'finished');
        strict_1.default.equal(warn.exitCode, 0);
        strict_1.default.deepEqual(d.events.consoleOf(warn.runId), [['stderr', 'careful\n']]);
        const boom = await d.api.run({ session: S, code: "print('hi')\n1/0\n" });
        strict_1.default.equal(boom.status, 'finished');
        strict_1.default.equal(boom.exitCode, 1);
        strict_1.default.ok(boom.error, `an error in ${JSON.stringify(boom)}`);
        strict_1.default.equal(boom.error.ename, 'ZeroDivisionError');
        strict_1.default.equal(boom.error.evalue, 'division by zero');
        strict_1.default.ok(Array.isArray(boom.error.traceback) && boom.error.traceback.length > 0);
        strict_1.default.ok(boom.error.traceback.every((line) => !line.includes('\x1b[')), 'traceback lines are plain text');
        strict_1.default.match(boom.error.traceback.join('\n'), /ZeroDivisionError: division by zero/);
        const console = d.events.consoleOf(boom.runId);
        strict_1.default.deepEqual(console[0], ['stdout', 'hi\n']);
        strict_1.default.ok(console.some(([k, t]) => k === 'stderr' && t.includes('ZeroDivisionError')), `the traceback is streamed as stderr: ${JSON.stringify(console)}`);
        // The transcript holds the run's records.
        const transcript = fs.readFileSync(boom.transcript, 'utf8');
        const lines = transcript.trim().split('\n').map((l) => JSON.parse(l));
        const ofRun = lines.filter((l) => l.run === boom.runId);
        strict_1.default.equal(ofRun[0].kind, 'runbridge/run-start');
        strict_1.default.equal(ofRun[ofRun.length - 1].kind, 'runbridge/run-end');
        strict_1.default.ok(ofRun.some((l) => l.kind === 'stdout' && l.data === 'hi\n'));
    }));
    (0, node_test_1.test)('interrupt stops a sleeping run quickly and keeps its output', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-run-interrupt';
        await d.api.openSession({ name: S });
        const pending = d.api.run({
            session: S,
            code: "import time\nprint('before', flush=True)\ntime.sleep(30)\nprint('after')\n",
        });
        // A run queued behind it is cancelled by the interrupt too.
        const queued = d.api.run({ session: S, code: "print('queued ran')" });
        const out = await d.waitFor(() => d.events.outputs.find((o) => o.session === S && JSON.stringify(o.console).includes('before')), 'output printed before the sleep');
        const t0 = performance.now();
        const info = await d.api.interrupt(S);
        strict_1.default.equal(info.name, S);
        const result = await d.withDeadline(pending, 5_000, 'the interrupted run');
        const elapsed = performance.now() - t0;
        strict_1.default.ok(elapsed < 5_000, `interrupted after ${elapsed} ms`);
        strict_1.default.equal(result.status, 'interrupted');
        strict_1.default.equal(result.exitCode, 130);
        strict_1.default.equal(result.runId, out.runId);
        strict_1.default.equal(d.events.textOf(result.runId), 'before\n', 'output before the interrupt is kept');
        const second = await d.withDeadline(queued, 5_000, 'the queued run');
        strict_1.default.equal(second.status, 'interrupted', 'the queued run is cancelled');
        strict_1.default.ok(!d.events.textOf(second.runId).includes('queued ran'));
        // The kernel survives and is usable.
        const alive = await d.api.run({ session: S, code: "print('alive')" });
        strict_1.default.equal(alive.status, 'finished');
        strict_1.default.equal(d.events.textOf(alive.runId), 'alive\n');
        // Interrupting an idle session is harmless.
        strict_1.default.equal((await d.api.interrupt(S)).state, 'idle');
    }));
    (0, node_test_1.test)('cancelling the run request interrupts it (-32800, run ends interrupted)', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-run-cancel';
        await d.api.openSession({ name: S });
        const cts = new node_1.CancellationTokenSource();
        const pending = d.api.run({ session: S, code: "import time\nprint('started', flush=True)\ntime.sleep(30)\nprint('late')\n" }, cts.token);
        const out = await d.waitFor(() => d.events.outputs.find((o) => o.session === S && JSON.stringify(o.console).includes('started')), 'output before the cancel');
        const t0 = performance.now();
        cts.cancel();
        const err = await d.withDeadline((0, daemon_1.rpcFailure)(pending), 5_000, 'the cancelled run request');
        strict_1.default.ok(performance.now() - t0 < 5_000);
        strict_1.default.equal(err.code, P.ErrorCodes.RequestCancelled);
        // The run still ended `interrupted` (its run-end record) and its output was kept.
        // A next run (queued behind the cancelled one, if still ending) works.
        const next = await d.api.run({ session: S, code: "print('after cancel')" });
        strict_1.default.equal(next.status, 'finished');
        strict_1.default.equal(d.events.textOf(next.runId), 'after cancel\n');
        const transcript = next.transcript;
        const runEnd = fs
            .readFileSync(transcript, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
            .find((l) => l.run === out.runId && l.kind === 'runbridge/run-end');
        strict_1.default.ok(runEnd, 'a run-end record for the cancelled run');
        strict_1.default.match(runEnd.data, /interrupted/);
        strict_1.default.equal(d.events.textOf(out.runId), 'started\n');
        strict_1.default.ok(!d.events.textOf(out.runId).includes('late'));
    }));
});
