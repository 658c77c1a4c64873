"use strict";
// runbridge/input: the daemon asks the editor for input() / getpass() answers.
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const strict_1 = __importDefault(require("node:assert/strict"));
const node_test_1 = require("node:test");
const daemon_1 = require("./daemon");
const TIMEOUT = 45_000;
(0, node_test_1.describe)('runbridge/input', { timeout: 120_000 }, () => {
    let d;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'input' });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('input() is answered through events.input', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-input-plain';
        let outputBeforeAnswer = '';
        d.answerInput = (p) => {
            // What was printed before the prompt, and the prompt itself, arrived already.
            outputBeforeAnswer = d.events.textOf(p.runId);
            return 'Ada';
        };
        const r = await d.api.run({
            session: S,
            code: "print('ready', flush=True)\nname = input('Name: ')\nprint('Hello ' + name)\n",
        });
        strict_1.default.equal(r.status, 'finished');
        strict_1.default.equal(r.exitCode, 0);
        const asked = d.events.inputs.filter((i) => i.session === S);
        strict_1.default.equal(asked.length, 1);
        strict_1.default.equal(asked[0].prompt, 'Name: ');
        strict_1.default.equal(asked[0].password, false);
        strict_1.default.equal(asked[0].runId, r.runId);
        strict_1.default.equal(outputBeforeAnswer, 'ready\nName: ');
        const text = d.events.textOf(r.runId);
        strict_1.default.ok(text.includes('Hello Ada'), text);
        // The daemon echoes the answer and a newline, so the output reads like a terminal.
        strict_1.default.equal(text, 'ready\nName: Ada\nHello Ada\n');
        // The answer is kept in the kernel.
        const again = await d.api.run({ session: S, code: 'print(name * 2)' });
        strict_1.default.equal(d.events.textOf(again.runId), 'AdaAda\n');
    }));
    (0, node_test_1.test)('getpass() asks with password: true and does not echo the answer', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-input-secret';
        d.answerInput = () => 'hunter22';
        const r = await d.api.run({
            session: S,
            code: "import getpass\npw = getpass.getpass('Secret: ')\nprint(len(pw))\n",
        });
        strict_1.default.equal(r.status, 'finished');
        const asked = d.events.inputs.filter((i) => i.session === S);
        strict_1.default.equal(asked.length, 1);
        strict_1.default.equal(asked[0].password, true);
        strict_1.default.equal(asked[0].prompt, 'Secret: ');
        const text = d.events.textOf(r.runId);
        strict_1.default.ok(!text.includes('hunter22'), `the password is not echoed: ${JSON.stringify(text)}`);
        // Prompt, then only the newline for a password, then what the code printed.
        strict_1.default.equal(text, 'Secret: \n8\n');
    }));
    (0, node_test_1.test)('answering null interrupts the run', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-input-cancel';
        d.answerInput = () => null;
        const t0 = performance.now();
        const r = await d.api.run({
            session: S,
            code: "name = input('Name: ')\nprint('not reached')\n",
        });
        strict_1.default.ok(performance.now() - t0 < 10_000);
        strict_1.default.equal(r.status, 'interrupted');
        strict_1.default.equal(r.exitCode, 130);
        strict_1.default.ok(!d.events.textOf(r.runId).includes('not reached'));
        // The session is usable afterwards.
        d.answerInput = () => 'again';
        const next = await d.api.run({ session: S, code: "print(input('? '))" });
        strict_1.default.equal(next.status, 'finished');
        strict_1.default.ok(d.events.textOf(next.runId).endsWith('again\n'));
    }));
    (0, node_test_1.test)('an error answering the input request interrupts the run', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-input-error';
        d.answerInput = () => {
            throw new Error('the input box was closed');
        };
        const r = await d.api.run({ session: S, code: "input('Name: ')\nprint('not reached')\n" });
        strict_1.default.equal(r.status, 'interrupted');
        strict_1.default.equal(r.exitCode, 130);
        strict_1.default.ok(!d.events.textOf(r.runId).includes('not reached'));
    }));
});
