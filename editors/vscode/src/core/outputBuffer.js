"use strict";
// Paces text into a terminal so a flood never freezes the editor: writes are
// gathered and handed out in chunks of at most `chunkChars` per tick; when more
// than `maxPendingChars` wait, the oldest waiting text is dropped and replaced by
// one note (the daemon's transcript keeps everything). No `vscode` import.
Object.defineProperty(exports, "__esModule", { value: true });
exports.OutputBuffer = exports.timerScheduler = exports.DEFAULT_BUFFER_OPTIONS = void 0;
exports.skippedNote = skippedNote;
exports.DEFAULT_BUFFER_OPTIONS = {
    chunkChars: 64 * 1024,
    maxPendingChars: 2 * 1024 * 1024,
    intervalMs: 16,
};
const timerScheduler = (fn, ms) => {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
};
exports.timerScheduler = timerScheduler;
function skippedNote(chars) {
    const kb = Math.max(1, Math.round(chars / 1024));
    return `\r\n\x1b[33m[runbridge: ${kb} KB of output skipped here to keep the editor responsive; the session transcript keeps all of it]\x1b[39m\r\n`;
}
class OutputBuffer {
    sink;
    options;
    schedule;
    pending = [];
    pendingChars = 0;
    skipped = 0;
    timer;
    constructor(sink, options = exports.DEFAULT_BUFFER_OPTIONS, schedule = exports.timerScheduler) {
        this.sink = sink;
        this.options = options;
        this.schedule = schedule;
    }
    /** Characters waiting to be written. */
    get waiting() {
        return this.pendingChars;
    }
    write(text) {
        if (!text) {
            return;
        }
        this.pending.push(text);
        this.pendingChars += text.length;
        this.trim();
        if (!this.timer) {
            // the first write of a quiet stream goes out at once
            this.tick();
        }
    }
    /** Drop everything waiting (a cleared output). */
    clear() {
        this.pending = [];
        this.pendingChars = 0;
        this.skipped = 0;
    }
    /** Write everything now (closing). */
    flushAll() {
        this.timer?.cancel();
        this.timer = undefined;
        const text = this.takeNote() + this.pending.join('');
        this.clear();
        if (text) {
            this.sink(text);
        }
    }
    dispose() {
        this.timer?.cancel();
        this.timer = undefined;
        this.clear();
    }
    trim() {
        const max = this.options.maxPendingChars;
        while (this.pendingChars > max && this.pending.length > 0) {
            const over = this.pendingChars - max;
            const first = this.pending[0];
            if (first.length <= over) {
                this.pending.shift();
                this.pendingChars -= first.length;
                this.skipped += first.length;
            }
            else {
                // cut at a line start where possible, so a half line is not shown
                let cut = first.indexOf('\n', over);
                cut = cut === -1 ? first.length : cut + 1;
                this.pending[0] = first.slice(cut);
                this.pendingChars -= cut;
                this.skipped += cut;
                if (!this.pending[0]) {
                    this.pending.shift();
                }
            }
        }
    }
    takeNote() {
        if (this.skipped === 0) {
            return '';
        }
        const note = skippedNote(this.skipped);
        this.skipped = 0;
        return note;
    }
    tick() {
        this.timer = undefined;
        if (this.pendingChars === 0 && this.skipped === 0) {
            return;
        }
        let out = this.takeNote();
        let budget = this.options.chunkChars;
        while (budget > 0 && this.pending.length > 0) {
            const first = this.pending[0];
            if (first.length <= budget) {
                out += first;
                budget -= first.length;
                this.pending.shift();
                this.pendingChars -= first.length;
            }
            else {
                let end = budget;
                // never split a surrogate pair
                const code = first.charCodeAt(end - 1);
                if (code >= 0xd800 && code <= 0xdbff) {
                    end -= 1;
                }
                out += first.slice(0, end);
                this.pending[0] = first.slice(end);
                this.pendingChars -= end;
                budget = 0;
            }
        }
        this.sink(out);
        // Tick again after an interval even when nothing waits now, so that a burst
        // right behind this write is paced too (an idle tick just ends the cycle).
        this.timer = this.schedule(() => this.tick(), this.options.intervalMs);
    }
}
exports.OutputBuffer = OutputBuffer;
