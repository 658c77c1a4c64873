// The command lines that start the session host or the in-process daemon, and the host's
// environment (pure parts of src/core/sessionHost.ts; connecting is in test/integration).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostCommand, hostEnvironment, standaloneCommand } from '../../src/core/sessionHost';

const script = { command: '/venv/bin/runbridge', args: ['serve'], source: 'path' as const };
const viaPython = { command: '/usr/bin/python3', args: ['-m', 'runbridge', 'serve', '--log-level', 'DEBUG'], source: 'python' as const };

describe('hostCommand', () => {
  it('appends --host --socket PATH to the daemon command', () => {
    assert.deepEqual(hostCommand(script, '/run/user/1000/runbridge/host.sock'), {
      command: '/venv/bin/runbridge',
      args: ['serve', '--host', '--socket', '/run/user/1000/runbridge/host.sock'],
      source: 'path',
    });
  });

  it('keeps the user arguments and the python -m form', () => {
    assert.deepEqual(hostCommand(viaPython, '/tmp/runbridge-5/host.sock').args, [
      '-m', 'runbridge', 'serve', '--log-level', 'DEBUG', '--host', '--socket', '/tmp/runbridge-5/host.sock',
    ]);
    assert.deepEqual(viaPython.args, ['-m', 'runbridge', 'serve', '--log-level', 'DEBUG'], 'the input is not changed');
  });
});

describe('standaloneCommand', () => {
  it('appends --standalone (plain `serve` would be a relay to the host)', () => {
    assert.deepEqual(standaloneCommand(script).args, ['serve', '--standalone']);
    assert.deepEqual(script.args, ['serve']);
  });
});

describe('hostEnvironment', () => {
  it('drops RUNBRIDGE_STANDALONE and keeps everything else', () => {
    const env = { RUNBRIDGE_STANDALONE: '1', RUNBRIDGE_DATA_DIR: '/d', PATH: '/bin' };
    assert.deepEqual(hostEnvironment(env), { RUNBRIDGE_DATA_DIR: '/d', PATH: '/bin' });
    assert.equal(env.RUNBRIDGE_STANDALONE, '1', 'the input is not changed');
  });
});
