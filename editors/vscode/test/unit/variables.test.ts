import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { variableRows, variablesErrorRow } from '../../src/core/variables';
import { ErrorCodes } from '../../src/protocol';

describe('Variables view rows', () => {
  it('one row per variable: name, then type, size and value', () => {
    const rows = variableRows({
      session: 's',
      variables: [
        { name: 'df', type: 'DataFrame', value: '   a\n0  1', size: '(1, 1)' },
        { name: 'n', type: 'int', value: '3', size: null },
      ],
    });
    assert.deepEqual(
      rows.map((r) => [r.label, r.description, r.message]),
      [
        ['df', 'DataFrame · (1, 1) =  a 0 1', false],
        ['n', 'int = 3', false],
      ],
    );
    assert.equal(rows[0].tooltip, 'df: DataFrame · (1, 1)\n   a\n0  1');
  });

  it('a truncated list ends with a message row', () => {
    const rows = variableRows({ session: 's', truncated: true, variables: [{ name: 'a', type: 'int', value: '1', size: null }] });
    assert.deepEqual(rows.map((r) => r.message), [false, true]);
    assert.match(rows[1].label, /more variables than the 1 listed/);
  });

  it('no variables: one message row naming the session', () => {
    const rows = variableRows({ session: 'gpu', variables: [] });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].message, true);
    assert.match(rows[0].label, /no variables in session gpu/);
  });

  it('Unsupported: the daemon says why (not available for this kernel)', () => {
    const row = variablesErrorRow('r', { code: ErrorCodes.Unsupported, message: 'not available for this kernel (ir)' });
    assert.equal(row.message, true);
    assert.equal(row.label, 'not available for this kernel (ir)');
  });

  it('a session not open yet, and other errors', () => {
    assert.match(variablesErrorRow('e2e', { code: ErrorCodes.SessionNotFound, message: 'no session' }).label, /session e2e is not open/);
    assert.equal(variablesErrorRow('e2e', new Error('gone')).label, 'session e2e: gone');
  });
});
