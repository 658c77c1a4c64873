// initialize / sessions / errors / shutdown against the real daemon.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as P from '../../src/protocol';
import { RunbridgeApi } from '../../src/api';
import { Daemon, describeError, rawPeer, rpcFailure, sleep, withDaemon } from './daemon';

const TIMEOUT = 45_000;

describe('daemon lifecycle and sessions', { timeout: 120_000 }, () => {
  let d: Daemon | undefined;
  let stopped = false;

  before(async () => {
    d = await Daemon.start({
      label: 'lifecycle',
      // A bad option must not fail initialize: it is warned about and the default used.
      initializationOptions: { outputCapMb: 'lots' as unknown as number },
    });
  });

  after(async () => {
    if (d !== undefined && !stopped) {
      const code = await d.stop();
      assert.equal(code, 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('initialize announces protocol v1 and the local backend', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const info = d.serverInfo;
    assert.equal(info.protocolVersion, P.PROTOCOL_VERSION);
    assert.ok(info.backends.includes('local'), `backends: ${JSON.stringify(info.backends)}`);
    assert.equal(typeof info.version, 'string');
    assert.equal(info.defaultProfile, 'local');
    assert.equal(info.defaultSession, 'default');
    const local = info.profiles.find((p) => p.name === 'local');
    assert.ok(local, `profiles: ${JSON.stringify(info.profiles)}`);
    assert.equal(local.type, 'local');
    assert.equal(local.available, true);
    const warning = await d.waitFor(
      () => d.events.logMessages.find((m) => m.message.includes('outputCapMb')),
      'a window/logMessage naming outputCapMb',
    );
    assert.equal(warning.type, 2, `a warning, got ${JSON.stringify(warning)}`);
  }));

  test('openSession creates, then reuses; listSessions; closeSession', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const name = 'it-life-a';
    const first = await d.api.openSession({ name });
    assert.equal(first.name, name);
    assert.equal(first.created, true);
    assert.equal(first.state, 'idle');
    assert.equal(first.backend, 'local');
    assert.equal(first.profile, 'local');
    assert.equal(first.image, 'python3');
    assert.equal(first.workdir, path.join(d.env.RUNBRIDGE_DATA_DIR!, 'sessions', name));
    assert.ok(fs.statSync(first.workdir).isDirectory(), 'workdir exists');
    assert.deepEqual(d.events.statesOf(name).slice(0, 2), ['starting', 'idle']);
    // workDoneProgress: true -> a server-created progress bar while the kernel starts.
    const begin = d.events.progress.find(
      (p) => p.value.kind === 'begin' && (p.value.title ?? '').includes(name),
    );
    assert.ok(begin, `a $/progress begin for ${name}: ${JSON.stringify(d.events.progress)}`);
    assert.ok(d.events.progressCreated.includes(begin.token), 'token created by the server');
    await d.waitFor(
      () => d.events.progress.some((p) => p.token === begin.token && p.value.kind === 'end'),
      'the progress end',
    );

    const again = await d.api.openSession({ name });
    assert.equal(again.created, false);
    assert.equal(again.createdAt, first.createdAt);
    assert.equal(again.workdir, first.workdir);

    const conflict = await rpcFailure(d.api.openSession({ name, image: 'no-such-kernel' }));
    assert.equal(conflict.code, P.ErrorCodes.SessionConflict);
    assert.equal(conflict.data?.kind, 'SessionConflict');
    assert.equal((await d.api.listSessions()).find((s) => s.name === name)?.state, 'idle');

    const unknownImage = await rpcFailure(
      d.api.openSession({ name: 'it-life-bad-image', image: 'no-such-kernel' }),
    );
    assert.equal(unknownImage.code, P.ErrorCodes.KernelSpecNotFound);

    const listed = await d.api.listSessions();
    const mine = listed.find((s) => s.name === name);
    assert.ok(mine, `listed: ${JSON.stringify(listed)}`);
    assert.equal(mine.created, false);
    assert.ok(
      !listed.some((s) => s.name === 'it-life-bad-image'),
      'a session that failed to start is not listed',
    );

    const closed = await d.api.closeSession(name);
    assert.equal(closed.name, name);
    assert.equal(closed.state, 'closed');
    await d.waitFor(() => d.events.statesOf(name).includes('closed'), 'sessionChanged closed');
    assert.ok(!(await d.api.listSessions()).some((s) => s.name === name));

    const missing = await rpcFailure(d.api.closeSession(name));
    assert.equal(missing.code, P.ErrorCodes.SessionNotFound);
    assert.equal(missing.data?.kind, 'SessionNotFound');
    assert.equal(missing.data?.session, name);
  }));

  test('checkProfile says whether the default profile can open sessions', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const check = await d.api.checkProfile();
    assert.equal(check.ok, true, JSON.stringify(check));
    assert.equal(check.profile, 'local');
    assert.match(check.message, /kernelspec 'python3'/);
    const unknown = await rpcFailure(d.api.checkProfile('nope'));
    assert.equal(unknown.code, P.ErrorCodes.ConfigError);
  }));

  test('bad params give -32602 naming the field; the daemon keeps serving', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const badRun = await rpcFailure(
      d.connection.sendRequest(P.RUN, { session: 'it-life-bad', code: 42 }),
    );
    assert.equal(badRun.code, P.ErrorCodes.InvalidParams);
    assert.equal(badRun.data?.kind, 'InvalidParams');
    assert.equal(badRun.data?.field, 'code');
    assert.match(badRun.message, /code/);

    const badMode = await rpcFailure(
      d.connection.sendRequest(P.RUN, { session: 'it-life-bad', code: '1', mode: 'turbo' }),
    );
    assert.equal(badMode.code, P.ErrorCodes.InvalidParams);
    assert.equal(badMode.data?.field, 'mode');

    const noName = await rpcFailure(d.connection.sendRequest(P.OPEN_SESSION, {}));
    assert.equal(noName.code, P.ErrorCodes.InvalidParams);
    assert.equal(noName.data?.field, 'name');

    const badTerminal = await rpcFailure(d.api.closeTerminal('no-such-terminal'));
    assert.equal(badTerminal.code, P.ErrorCodes.TerminalNotFound);

    // Nothing half-done: the refused run did not open its session.
    assert.ok(!(await d.api.listSessions()).some((s) => s.name === 'it-life-bad'));
    // Still serving: a real run works.
    const r = await d.api.run({ session: 'it-life-b', code: 'print(6 * 7)' });
    assert.equal(r.status, 'finished');
    assert.equal(d.events.textOf(r.runId), '42\n');
  }));

  test('RunbridgeApi on the bare MessageConnection sends object params (api.ts token bug)', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    // Exactly what the extension does: the peer's sendRequest gets (method, params, undefined).
    // (It reuses the collecting handlers: vscode-jsonrpc keeps one handler per method.)
    const api = new RunbridgeApi(rawPeer(d.connection), d.sink);
    let sessions: unknown;
    try {
      sessions = await api.listSessions();
    } catch (err) {
      assert.fail(
        `${describeError(err)}\nsrc/api.ts passes an undefined CancellationToken to ` +
          'sendRequest; vscode-jsonrpc (and LanguageClient) then send params as ' +
          '[params, null]. Pass the token only when it is defined.',
      );
    }
    assert.ok(Array.isArray(sessions));
    const info = await api.openSession({ name: 'it-life-raw' });
    assert.equal(info.name, 'it-life-raw');
    const closed = await api.closeSession('it-life-raw');
    assert.equal(closed.state, 'closed');
  }));

  test('shutdown closes every session, exit ends the daemon with code 0', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const r = await d.api.run({ session: 'it-life-b', code: 'import os; print(os.getpid())' });
    const kernelPid = Number(d.events.textOf(r.runId).trim());
    assert.ok(
      Number.isInteger(kernelPid) && kernelPid > 0,
      `kernel pid from ${JSON.stringify(r)} ${JSON.stringify(d.events.consoleOf(r.runId))}`,
    );
    assert.ok(alive(kernelPid), 'kernel running before shutdown');
    await d.shutdown();
    assert.ok(!alive(kernelPid) || (await gone(kernelPid, 10_000)), 'kernel gone after shutdown');
    stopped = true;
    const code = await d.stop(); // sends exit (shutdown already answered)
    assert.equal(code, 0);
  }));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) {
      return true;
    }
    await sleep(50);
  }
  return !alive(pid);
}
