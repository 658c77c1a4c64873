// runbridge/input: the daemon asks the editor for input() / getpass() answers.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daemon, withDaemon } from './daemon';

const TIMEOUT = 45_000;

describe('runbridge/input', { timeout: 120_000 }, () => {
  let d: Daemon | undefined;

  before(async () => {
    d = await Daemon.start({ label: 'input' });
  });

  after(async () => {
    if (d !== undefined) {
      assert.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('input() is answered through events.input', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
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
    assert.equal(r.status, 'finished');
    assert.equal(r.exitCode, 0);
    const asked = d.events.inputs.filter((i) => i.session === S);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].prompt, 'Name: ');
    assert.equal(asked[0].password, false);
    assert.equal(asked[0].runId, r.runId);
    assert.equal(outputBeforeAnswer, 'ready\nName: ');
    const text = d.events.textOf(r.runId);
    assert.ok(text.includes('Hello Ada'), text);
    // The daemon echoes the answer and a newline, so the output reads like a terminal.
    assert.equal(text, 'ready\nName: Ada\nHello Ada\n');
    // The answer is kept in the kernel.
    const again = await d.api.run({ session: S, code: 'print(name * 2)' });
    assert.equal(d.events.textOf(again.runId), 'AdaAda\n');
  }));

  test('getpass() asks with password: true and does not echo the answer', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-input-secret';
    d.answerInput = () => 'hunter22';
    const r = await d.api.run({
      session: S,
      code: "import getpass\npw = getpass.getpass('Secret: ')\nprint(len(pw))\n",
    });
    assert.equal(r.status, 'finished');
    const asked = d.events.inputs.filter((i) => i.session === S);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].password, true);
    assert.equal(asked[0].prompt, 'Secret: ');
    const text = d.events.textOf(r.runId);
    assert.ok(!text.includes('hunter22'), `the password is not echoed: ${JSON.stringify(text)}`);
    // Prompt, then only the newline for a password, then what the code printed.
    assert.equal(text, 'Secret: \n8\n');
  }));

  test('answering null interrupts the run', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-input-cancel';
    d.answerInput = () => null;
    const t0 = performance.now();
    const r = await d.api.run({
      session: S,
      code: "name = input('Name: ')\nprint('not reached')\n",
    });
    assert.ok(performance.now() - t0 < 30_000, 'the run ended (its kernel started first)');
    assert.equal(r.status, 'interrupted');
    assert.equal(r.exitCode, 130);
    assert.ok(!d.events.textOf(r.runId).includes('not reached'));
    // The session is usable afterwards.
    d.answerInput = () => 'again';
    const next = await d.api.run({ session: S, code: "print(input('? '))" });
    assert.equal(next.status, 'finished');
    assert.ok(d.events.textOf(next.runId).endsWith('again\n'));
  }));

  test('an error answering the input request interrupts the run', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-input-error';
    d.answerInput = () => {
      throw new Error('the input box was closed');
    };
    const r = await d.api.run({ session: S, code: "input('Name: ')\nprint('not reached')\n" });
    assert.equal(r.status, 'interrupted');
    assert.equal(r.exitCode, 130);
    assert.ok(!d.events.textOf(r.runId).includes('not reached'));
  }));
});
