// Remote terminals on the local backend: a shell in a PTY in the session's work folder.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as P from '../../src/protocol';
import { Daemon, rpcFailure, withDaemon } from './daemon';

const TIMEOUT = 45_000;

describe('terminals', { timeout: 120_000 }, () => {
  let d: Daemon | undefined;

  before(async () => {
    d = await Daemon.start({ label: 'terminal' });
  });

  after(async () => {
    if (d !== undefined) {
      assert.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('open, type, resize, close', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-term';
    const session = await d.api.openSession({ name: S });
    const id = await d.api.openTerminal(S, 24, 80);
    assert.equal(typeof id, 'string');
    assert.ok(id.length > 0);

    await d.api.terminalInput(id, 'echo rb-$((6*7))\r');
    await d.waitFor(() => d.events.terminalText(id).includes('rb-42'), "'rb-42' in the terminal");

    // The shell's initial size, then a resize.
    await d.api.terminalInput(id, 'echo size=$(stty size)\r');
    await d.waitFor(() => d.events.terminalText(id).includes('size=24 80'), "'size=24 80'");
    await d.api.resizeTerminal(id, 40, 120);
    await d.api.terminalInput(id, 'echo size=$(stty size)\r');
    await d.waitFor(() => d.events.terminalText(id).includes('size=40 120'), "'size=40 120'");

    // Work folder and TERM as documented.
    await d.api.terminalInput(id, 'echo "cwd=$PWD term=$TERM"\r');
    await d.waitFor(
      () =>
        d.events.terminalText(id).includes(`cwd=${session.workdir} term=xterm-256color`),
      'cwd and TERM echoed',
    );
    // Multi-byte text arrives intact.
    await d.api.terminalInput(id, "printf '%s\\n' \"héllo wörld ✓\"\r");
    await d.waitFor(() => d.events.terminalText(id).includes('héllo wörld ✓\r\n'), 'UTF-8 text');

    await d.api.closeTerminal(id);
    const exit = await d.waitFor(
      () => d.events.terminalExits.find((e) => e.terminalId === id),
      'runbridge/terminalExit',
      15_000,
    );
    assert.ok(exit.exitCode === null || Number.isInteger(exit.exitCode), JSON.stringify(exit));

    // The terminal is gone: closing again is TerminalNotFound; input to it is logged.
    const again = await rpcFailure(d.api.closeTerminal(id));
    assert.equal(again.code, P.ErrorCodes.TerminalNotFound);
    assert.equal(again.data?.terminal, id);
    const logsBefore = d.events.logMessages.length;
    await d.api.terminalInput(id, 'echo nobody\r');
    const warning = await d.waitFor(
      () => d.events.logMessages.slice(logsBefore).find((m) => m.message.includes(id)),
      'a window/logMessage about the unknown terminal',
    );
    assert.equal(warning.type, 2, JSON.stringify(warning));
  }));

  test('a shell that exits by itself reports its exit code', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const id = await d.api.openTerminal('it-term');
    await d.api.terminalInput(id, 'exit 3\r');
    const exit = await d.waitFor(
      () => d.events.terminalExits.find((e) => e.terminalId === id),
      'runbridge/terminalExit',
      15_000,
    );
    assert.equal(exit.exitCode, 3);
  }));

  test('closing the session ends its terminals', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-term-close';
    // like run and upload, openTerminal opens a session that is not open yet
    const id = await d.api.openTerminal(S, 10, 40);
    assert.ok((await d.api.listSessions()).some((s) => s.name === S && s.state === 'idle'));
    await d.api.terminalInput(id, 'echo up\r');
    await d.waitFor(() => d.events.terminalText(id).includes('up\r\n'), "'up' echoed");
    await d.api.closeSession(S);
    await d.waitFor(
      () => d.events.terminalExits.find((e) => e.terminalId === id),
      'terminalExit after closeSession',
      15_000,
    );
  }));
});
