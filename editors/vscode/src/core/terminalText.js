"use strict";
// Console records as text for a VS Code Pseudoterminal (xterm.js). Pure: no `vscode` import.
//
// xterm.js needs "\r\n" to start a new line at column 0; a bare "\n" only moves down.
// Rich records (images, SVG, HTML) go to the media panel and leave a dim
// one-line note in the terminal.
Object.defineProperty(exports, "__esModule", { value: true });
exports.toTerminal = toTerminal;
exports.isMediaKind = isMediaKind;
exports.renderRecord = renderRecord;
exports.runHeader = runHeader;
exports.formatDuration = formatDuration;
exports.runFooter = runFooter;
exports.humanSize = humanSize;
exports.dataUriBytes = dataUriBytes;
const protocol_1 = require("../protocol");
const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';
const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const DEFAULT_FG = '\x1b[39m';
/** '\n' not preceded by '\r' becomes '\r\n'; '\r\n', lone '\r' (progress bars) and ANSI escapes are kept. */
function toTerminal(text) {
    return text.replace(/\r?\n/g, '\r\n');
}
/** Kinds shown in the media panel rather than in the terminal. */
function isMediaKind(kind) {
    return kind.startsWith('image/') || kind === 'text/html';
}
/** Control characters removed, so a kind or label from the wire cannot drive the terminal. */
function printable(s) {
    return s.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
}
function note(s) {
    return `${DIM}[${printable(s)}]${UNDIM}\r\n`;
}
/** `text` for the terminal, ending with a line break. */
function asLines(text) {
    const t = toTerminal(text);
    return t === '' || t.endsWith('\n') ? t : t + '\r\n';
}
/**
 * One console record as terminal text.
 * - `stdout`: the text; `stderr`: the text in red, unless it already carries ANSI escapes
 *   (an IPython traceback is coloured already; we do not fight its colours).
 * - images, SVG and HTML: a dim note with the size, and `media` for the panel.
 * - Markdown and LaTeX: their text (readable as is); JSON: pretty-printed.
 * - the clear-output record: `clear` (and `wait`), no text.
 * - anything else: a dim note with the kind and size.
 */
function renderRecord(kind, data) {
    if (kind === 'stdout')
        return { text: toTerminal(data) };
    if (kind === 'stderr') {
        const text = toTerminal(data);
        return { text: data.includes('\x1b') || text === '' ? text : RED + text + DEFAULT_FG };
    }
    if (kind === protocol_1.CLEAR_OUTPUT_KIND) {
        let wait = false;
        try {
            wait = JSON.parse(data)?.wait === true;
        }
        catch {
            // A malformed payload still clears, at once.
        }
        return { text: '', clear: true, wait };
    }
    if (isMediaKind(kind)) {
        return { text: note(`${kind} ${humanSize(dataUriBytes(data))} → media panel`), media: { kind, data } };
    }
    if (kind === 'text/markdown' || kind === 'text/latex')
        return { text: asLines(data) };
    if (kind === 'application/json') {
        let pretty = data;
        try {
            pretty = JSON.stringify(JSON.parse(data), null, 2);
        }
        catch {
            // Not JSON after all: show it as it came.
        }
        return { text: asLines(pretty) };
    }
    return { text: note(`${kind} ${dataUriBytes(data)} bytes`) };
}
/** Code points of `s`, cut to `width` with an ellipsis when longer. */
function truncate(s, width) {
    const chars = Array.from(s);
    if (chars.length <= width)
        return s;
    return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}
/**
 * A dim separator line announcing a run, with the first non-blank line of its code:
 * "── In [python] print(1) ──", at most `width` characters (code points), then "\r\n".
 * A code of several lines gets " …" after its first line.
 */
function runHeader(label, code, width = 80) {
    const lines = code.split(/\r?\n|\r/);
    const first = lines.find((line) => line.trim() !== '') ?? '';
    const more = lines.filter((line) => line.trim() !== '').length > 1 ? ' …' : '';
    const head = `── In [${printable(label)}] `;
    const tail = ' ──';
    const room = Math.max(1, width - Array.from(head).length - Array.from(tail).length);
    const shown = truncate(printable(first.trim()) + more, room);
    return `${DIM}${head}${shown}${tail}${UNDIM}\r\n`;
}
/** "12 ms", "1.5 s", "2 min 5 s". */
function formatDuration(ms) {
    if (ms < 1000)
        return `${Math.round(ms)} ms`;
    if (ms < 60_000)
        return `${(ms / 1000).toFixed(1)} s`;
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)} min ${s % 60} s`;
}
/**
 * The line closing a run, then "\r\n":
 * finished with exit code 0 (or null) -> green "✓ finished in 12 ms";
 * finished with another exit code (user code raised) -> red "✗ error (exit code 1) after 12 ms";
 * interrupted -> yellow "■ interrupted after 12 ms"; exec-timeout -> yellow "⏱ timed out after 30.0 s";
 * failed (or an unknown status) -> red "✗ failed: <message>".
 * A `message`, when given, is appended after ": " (except to a clean finish).
 */
function runFooter(status, exitCode, ms, message) {
    const took = formatDuration(ms);
    const why = message ? `: ${printable(message)}` : '';
    let line;
    if (status === 'finished' && (exitCode === 0 || exitCode === null)) {
        line = `${GREEN}✓ finished in ${took}`;
    }
    else if (status === 'finished') {
        line = `${RED}✗ error (exit code ${exitCode}) after ${took}${why}`;
    }
    else if (status === 'interrupted') {
        line = `${YELLOW}■ interrupted after ${took}${why}`;
    }
    else if (status === 'exec-timeout') {
        line = `${YELLOW}⏱ timed out after ${took}${why}`;
    }
    else {
        line = `${RED}✗ ${printable(status)}${why || ` after ${took}`}`;
    }
    return line + DEFAULT_FG + '\r\n';
}
/** "512 B", "12.3 KB", "4.0 MB", "1.2 GB" (powers of 1024). */
function humanSize(bytes) {
    if (bytes < 1024)
        return `${bytes} B`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return `${value.toFixed(1)} ${units[unit]}`;
}
/**
 * The decoded size of a `data:...;base64,` URI, computed from the base64 length
 * (whitespace ignored); for anything else, the UTF-8 byte length of the text.
 */
function dataUriBytes(data) {
    const m = /^data:[^,]*;base64,/i.exec(data);
    if (!m)
        return Buffer.byteLength(data, 'utf8');
    const b64 = data.slice(m[0].length).replace(/\s+/g, '');
    const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
    return Math.max(0, Math.floor((b64.length * 3) / 4) - padding);
}
