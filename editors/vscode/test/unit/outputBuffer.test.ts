import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputBuffer, Scheduler, skippedNote } from '../../src/core/outputBuffer';

/** A scheduler the test advances by hand. */
function manualScheduler(): { schedule: Scheduler; runNext(): boolean; pending(): number } {
  const queue: (() => void)[] = [];
  return {
    schedule: (fn) => {
      queue.push(fn);
      let cancelled = false;
      const wrapped = (): void => {
        if (!cancelled) {
          fn();
        }
      };
      queue[queue.length - 1] = wrapped;
      return { cancel: () => (cancelled = true) };
    },
    runNext: () => {
      const fn = queue.shift();
      fn?.();
      return fn !== undefined;
    },
    pending: () => queue.length,
  };
}

const small = { chunkChars: 10, maxPendingChars: 40, intervalMs: 16 };

test('the first write of a quiet stream goes out at once', () => {
  const out: string[] = [];
  const clock = manualScheduler();
  const buffer = new OutputBuffer((t) => out.push(t), small, clock.schedule);
  buffer.write('hello');
  assert.deepEqual(out, ['hello']);
});

test('writes behind it are paced in chunks, in order, nothing lost', () => {
  const out: string[] = [];
  const clock = manualScheduler();
  const buffer = new OutputBuffer((t) => out.push(t), small, clock.schedule);
  buffer.write('a');
  buffer.write('0123456789abcdef');
  buffer.write('XYZ');
  assert.deepEqual(out, ['a']);
  while (clock.runNext()) {
    // drain
  }
  assert.ok(out.every((chunk) => chunk.length <= small.chunkChars), JSON.stringify(out));
  assert.equal(out.join(''), 'a0123456789abcdefXYZ');
  assert.equal(buffer.waiting, 0);
});

test('a flood keeps only the newest text and says how much was skipped', () => {
  const out: string[] = [];
  const clock = manualScheduler();
  const buffer = new OutputBuffer((t) => out.push(t), small, clock.schedule);
  buffer.write('start\n');
  for (let i = 0; i < 100; i++) {
    buffer.write(`line ${String(i).padStart(3, '0')}\n`);
  }
  assert.ok(buffer.waiting <= small.maxPendingChars, `waiting ${buffer.waiting}`);
  buffer.flushAll();
  const text = out.join('');
  assert.ok(text.startsWith('start\n'));
  assert.match(text, /KB of output skipped here/);
  assert.ok(text.endsWith('line 099\n'), text.slice(-40));
  assert.ok(!text.includes('line 050\n'), 'the middle of the flood was dropped');
  // the text after the note starts at a line boundary
  const after = text.split('transcript keeps all of it]\x1b[39m\r\n')[1];
  assert.match(after, /^line \d{3}\n/);
});

test('chunks never split a surrogate pair', () => {
  const out: string[] = [];
  const clock = manualScheduler();
  const buffer = new OutputBuffer((t) => out.push(t), { ...small, chunkChars: 3 }, clock.schedule);
  buffer.write('x');
  buffer.write('ab😀cd😀');
  while (clock.runNext()) {
    // drain
  }
  assert.equal(out.join(''), 'xab😀cd😀');
  for (const chunk of out) {
    assert.ok(!/[\ud800-\udbff]$/.test(chunk), `chunk ends with a lone high surrogate: ${JSON.stringify(chunk)}`);
  }
});

test('clear drops what waits; dispose stops the timer', () => {
  const out: string[] = [];
  const clock = manualScheduler();
  const buffer = new OutputBuffer((t) => out.push(t), small, clock.schedule);
  buffer.write('first');
  buffer.write('second');
  buffer.clear();
  while (clock.runNext()) {
    // drain
  }
  assert.deepEqual(out, ['first']);
  buffer.write('third');
  buffer.write('fourth');
  buffer.dispose();
  while (clock.runNext()) {
    // drain
  }
  assert.deepEqual(out, ['first', 'third']);
});

test('the skipped note names the amount in KB', () => {
  assert.match(skippedNote(5 * 1024), /5 KB of output skipped/);
  assert.match(skippedNote(10), /1 KB of output skipped/);
});
