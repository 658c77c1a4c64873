// Apps through the real daemon: a local session has none (Unsupported, saying why), and an
// unknown forward id is InvalidParams naming appId (Backend.AI forwards: tests/backendai).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as P from '../../src/protocol';
import { Daemon, rpcFailure, withDaemon } from './daemon';

describe('apps', { timeout: 120_000 }, () => {
  let d: Daemon | undefined;

  before(async () => {
    d = await Daemon.start({ label: 'apps' });
  });

  after(async () => {
    if (d !== undefined) {
      assert.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('listApps, openApp and closeApp errors', { timeout: 45_000 }, withDaemon(() => d!, async (d) => {
    await d.api.openSession({ name: 'it-apps' });
    const listed = await rpcFailure(d.api.listApps('it-apps'));
    assert.equal(listed.code, P.ErrorCodes.Unsupported);
    assert.match(listed.message, /Backend\.AI feature/);
    const opened = await rpcFailure(d.api.openApp({ session: 'it-apps', app: 'jupyter' }));
    assert.equal(opened.code, P.ErrorCodes.Unsupported);
    const closed = await rpcFailure(d.api.closeApp('no-such-app'));
    assert.equal(closed.code, P.ErrorCodes.InvalidParams);
    assert.equal(closed.data?.field, 'appId');
  }));
});
