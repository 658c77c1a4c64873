"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const strict_1 = __importDefault(require("node:assert/strict"));
const node_test_1 = require("node:test");
const outputBuffer_1 = require("../../src/core/outputBuffer");
/** A scheduler the test advances by hand. */
function manualScheduler() {
    const queue = [];
    return {
        schedule: (fn) => {
            queue.push(fn);
            let cancelled = false;
            const wrapped = () => {
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
(0, node_test_1.test)('the first write of a quiet stream goes out at once', () => {
    const out = [];
    const clock = manualScheduler();
    const buffer = new outputBuffer_1.OutputBuffer((t) => out.push(t), small, clock.schedule);
    buffer.write('hello');
    strict_1.default.deepEqual(out, ['hello']);
});
(0, node_test_1.test)('writes behind it are paced in chunks, in order, nothing lost', () => {
    const out = [];
    const clock = manualScheduler();
    const buffer = new outputBuffer_1.OutputBuffer((t) => out.push(t), small, clock.schedule);
    buffer.write('a');
    buffer.write('0123456789abcdef');
    buffer.write('XYZ');
    strict_1.default.deepEqual(out, ['a']);
    while (clock.runNext()) {
        // drain
    }
    strict_1.default.ok(out.every((chunk) => chunk.length <= small.chunkChars), JSON.stringify(out));
    strict_1.default.equal(out.join(''), 'a0123456789abcdefXYZ');
    strict_1.default.equal(buffer.waiting, 0);
});
(0, node_test_1.test)('a flood keeps only the newest text and says how much was skipped', () => {
    const out = [];
    const clock = manualScheduler();
    const buffer = new outputBuffer_1.OutputBuffer((t) => out.push(t), small, clock.schedule);
    buffer.write('start\n');
    for (let i = 0; i < 100; i++) {
        buffer.write(`line ${String(i).padStart(3, '0')}\n`);
    }
    strict_1.default.ok(buffer.waiting <= small.maxPendingChars, `waiting ${buffer.waiting}`);
    buffer.flushAll();
    const text = out.join('');
    strict_1.default.ok(text.startsWith('start\n'));
    strict_1.default.match(text, /KB of output skipped here/);
    strict_1.default.ok(text.endsWith('line 099\n'), text.slice(-40));
    strict_1.default.ok(!text.includes('line 050\n'), 'the middle of the flood was dropped');
    // the text after the note starts at a line boundary
    const after = text.split('transcript keeps all of it]\x1b[39m\r\n')[1];
    strict_1.default.match(after, /^line \d{3}\n/);
});
(0, node_test_1.test)('chunks never split a surrogate pair', () => {
    const out = [];
    const clock = manualScheduler();
    const buffer = new outputBuffer_1.OutputBuffer((t) => out.push(t), { ...small, chunkChars: 3 }, clock.schedule);
    buffer.write('x');
    buffer.write('ab😀cd😀');
    while (clock.runNext()) {
        // drain
    }
    strict_1.default.equal(out.join(''), 'xab😀cd😀');
    for (const chunk of out) {
        strict_1.default.ok(!/[\ud800-\udbff]$/.test(chunk), `chunk ends with a lone high surrogate: ${JSON.stringify(chunk)}`);
    }
});
(0, node_test_1.test)('clear drops what waits; dispose stops the timer', () => {
    const out = [];
    const clock = manualScheduler();
    const buffer = new outputBuffer_1.OutputBuffer((t) => out.push(t), small, clock.schedule);
    buffer.write('first');
    buffer.write('second');
    buffer.clear();
    while (clock.runNext()) {
        // drain
    }
    strict_1.default.deepEqual(out, ['first']);
    buffer.write('third');
    buffer.write('fourth');
    buffer.dispose();
    while (clock.runNext()) {
        // drain
    }
    strict_1.default.deepEqual(out, ['first', 'third']);
});
(0, node_test_1.test)('the skipped note names the amount in KB', () => {
    strict_1.default.match((0, outputBuffer_1.skippedNote)(5 * 1024), /5 KB of output skipped/);
    strict_1.default.match((0, outputBuffer_1.skippedNote)(10), /1 KB of output skipped/);
});
