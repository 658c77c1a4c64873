import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { remotePicks, SERVER_SEPARATOR } from '../../src/core/remotePicks';
import { RemoteSession } from '../../src/protocol';

function entry(id: string, label: string, attachedAs: string | null = null, profile = 'jup'): RemoteSession {
  const attached = attachedAs ? ` · attached as ${attachedAs}` : ''; // (as the daemon writes it)
  return { id, profile, label, description: `python3 · idle · ${id}${attached}`, state: 'idle', lastActivity: null, attachedAs, suggestedName: id, details: {} };
}

describe('remotePicks', () => {
  it('puts the entries under one "on the server" separator, in the daemon order, as the daemon wrote them', () => {
    const rows = remotePicks({ profile: null, sessions: [entry('k1', 'work/a.ipynb'), entry('k2', 'python3 k2', 'viewer')], failures: [] });
    assert.deepEqual(
      rows.map((r) => [r.label, r.separator ?? false, r.description, r.remote?.profile]),
      [
        [SERVER_SEPARATOR, true, undefined, undefined],
        ['work/a.ipynb', false, 'python3 · idle · k1', 'jup'],
        ['python3 k2', false, 'python3 · idle · k2 · attached as viewer', 'jup'],
      ],
    );
    assert.equal(rows[1].remote?.id, 'k1');
    assert.equal(rows[1].detail, undefined);
  });

  it('names the profile of each entry when entries of several profiles are listed, and shows nothing when none are', () => {
    const rows = remotePicks({
      profile: null,
      sessions: [entry('k1', 'a'), entry('s1', 'web-made', null, 'bai')],
      failures: [{ profile: 'down', code: -32020, kind: 'JupyterUnreachable', message: 'cannot reach' }],
    });
    assert.deepEqual(rows.slice(1).map((r) => r.detail), ['profile jup', 'profile bai']);
    assert.deepEqual(remotePicks({ profile: 'jup', sessions: [], failures: [] }), []);
  });
});
