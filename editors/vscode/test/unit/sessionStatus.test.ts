import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sessionStatusText, sessionTooltipLines } from '../../src/core/sessionStatus';
import { SessionInfo } from '../../src/protocol';

const base: SessionInfo = {
  name: 'train',
  profile: 'bai',
  backend: 'backendai',
  image: 'python:3.11',
  state: 'idle',
  created: false,
  workdir: '/home/work',
};

describe('Session status bar item', () => {
  it("shows the daemon's summary of the session options as it is", () => {
    const info = { ...base, summary: 'cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount' };
    assert.equal(
      sessionStatusText(info),
      '$(circle-large-outline) runbridge: train (bai) idle · cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount',
    );
    assert.ok(sessionTooltipLines(info).includes('options: cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount'));
  });

  it('shows nothing more without a summary (other backends) or with an empty one', () => {
    for (const info of [base, { ...base, summary: '' }]) {
      assert.equal(sessionStatusText(info), '$(circle-large-outline) runbridge: train (bai) idle');
      assert.ok(!sessionTooltipLines(info).some((line) => line.startsWith('options:')));
    }
  });

  it('keeps the scheduler status while starting', () => {
    const info: SessionInfo = { ...base, state: 'starting', backendStatus: 'PENDING', summary: 'cpu 2' };
    assert.equal(sessionStatusText(info), '$(loading~spin) runbridge: train (bai) starting PENDING · cpu 2');
  });
});
