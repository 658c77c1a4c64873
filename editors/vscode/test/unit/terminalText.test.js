"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const terminalText_1 = require("../../src/core/terminalText");
// A 1x1 transparent PNG (68 bytes decoded).
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const PNG = `data:image/png;base64,${PNG_B64}`;
(0, node_test_1.describe)('toTerminal', () => {
    (0, node_test_1.it)('turns bare \\n into \\r\\n', () => {
        strict_1.default.equal((0, terminalText_1.toTerminal)('a\nb\n'), 'a\r\nb\r\n');
        strict_1.default.equal((0, terminalText_1.toTerminal)('\n\n'), '\r\n\r\n');
    });
    (0, node_test_1.it)('keeps \\r\\n as is and lone \\r (progress bars)', () => {
        strict_1.default.equal((0, terminalText_1.toTerminal)('a\r\nb'), 'a\r\nb');
        strict_1.default.equal((0, terminalText_1.toTerminal)(' 10%\r 50%\r100%\n'), ' 10%\r 50%\r100%\r\n');
        strict_1.default.equal((0, terminalText_1.toTerminal)('\r\r\n'), '\r\r\n');
    });
    (0, node_test_1.it)('leaves ANSI escapes untouched', () => {
        const s = '\x1b[31mred\x1b[0m\n\x1b[2K\x1b[1Gdone';
        strict_1.default.equal((0, terminalText_1.toTerminal)(s), '\x1b[31mred\x1b[0m\r\n\x1b[2K\x1b[1Gdone');
    });
});
(0, node_test_1.describe)('renderRecord', () => {
    (0, node_test_1.it)('prints stdout as terminal text', () => {
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('stdout', 'hi\n'), { text: 'hi\r\n' });
    });
    (0, node_test_1.it)('colours plain stderr red and leaves coloured stderr alone', () => {
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('stderr', 'warn\n'), { text: '\x1b[31mwarn\r\n\x1b[39m' });
        const ipython = '\x1b[31mZeroDivisionError\x1b[39m: division by zero\n';
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('stderr', ipython), { text: '\x1b[31mZeroDivisionError\x1b[39m: division by zero\r\n' });
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('stderr', ''), { text: '' });
    });
    (0, node_test_1.it)('sends images, SVG and HTML to the media panel with a dim note', () => {
        const png = (0, terminalText_1.renderRecord)('image/png', PNG);
        strict_1.default.deepEqual(png.media, { kind: 'image/png', data: PNG });
        strict_1.default.equal(png.text, '\x1b[2m[image/png 68 B → media panel]\x1b[22m\r\n');
        const svg = '<svg xmlns="http://www.w3.org/2000/svg"/>';
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('image/svg+xml', svg).media, { kind: 'image/svg+xml', data: svg });
        strict_1.default.match((0, terminalText_1.renderRecord)('image/svg+xml', svg).text, /\[image\/svg\+xml 41 B → media panel\]/);
        const html = (0, terminalText_1.renderRecord)('text/html', '<b>x</b>'.repeat(2000));
        strict_1.default.equal(html.media?.kind, 'text/html');
        strict_1.default.match(html.text, /\[text\/html 15\.6 KB → media panel\]/);
        strict_1.default.equal((0, terminalText_1.renderRecord)('image/gif', 'data:image/gif;base64,R0lG').media?.kind, 'image/gif');
    });
    (0, node_test_1.it)('prints Markdown and LaTeX as text, ending the line', () => {
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('text/markdown', '# Title\n*x*'), { text: '# Title\r\n*x*\r\n' });
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('text/latex', '$x^2$\n'), { text: '$x^2$\r\n' });
    });
    (0, node_test_1.it)('pretty-prints JSON, and shows invalid JSON as it came', () => {
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('application/json', '{"a": [1, 2]}'), {
            text: '{\r\n  "a": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n',
        });
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('application/json', '{oops'), { text: '{oops\r\n' });
    });
    (0, node_test_1.it)('turns the clear-output record into clear, with its wait flag', () => {
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('application/x-runbridge-clear-output', '{"wait": false}'), {
            text: '',
            clear: true,
            wait: false,
        });
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('application/x-runbridge-clear-output', '{"wait": true}'), {
            text: '',
            clear: true,
            wait: true,
        });
        strict_1.default.equal((0, terminalText_1.renderRecord)('application/x-runbridge-clear-output', 'garbage').clear, true);
    });
    (0, node_test_1.it)('notes unknown kinds with their size, without control characters', () => {
        strict_1.default.deepEqual((0, terminalText_1.renderRecord)('application/pdf', 'abcd'), { text: '\x1b[2m[application/pdf 4 bytes]\x1b[22m\r\n' });
        const evil = (0, terminalText_1.renderRecord)('x/\x1b]0;pwned\x07', 'é');
        strict_1.default.equal(evil.text, '\x1b[2m[x/ ]0;pwned  2 bytes]\x1b[22m\r\n');
        strict_1.default.equal(evil.media, undefined);
    });
    (0, node_test_1.it)('isMediaKind covers exactly the panel kinds', () => {
        strict_1.default.deepEqual(['image/png', 'image/svg+xml', 'text/html', 'text/markdown', 'application/json', 'stdout'].map(terminalText_1.isMediaKind), [true, true, true, false, false, false]);
    });
});
(0, node_test_1.describe)('runHeader', () => {
    (0, node_test_1.it)('shows the label and the first line of code, dim, ending the line', () => {
        strict_1.default.equal((0, terminalText_1.runHeader)('python', 'print(1)'), '\x1b[2m── In [python] print(1) ──\x1b[22m\r\n');
    });
    (0, node_test_1.it)('skips leading blank lines and marks more lines with …', () => {
        strict_1.default.equal((0, terminalText_1.runHeader)('py', '\n\n  x = 1\ny = 2\n'), '\x1b[2m── In [py] x = 1 … ──\x1b[22m\r\n');
    });
    (0, node_test_1.it)('truncates to the width', () => {
        const header = (0, terminalText_1.runHeader)('python', 'a'.repeat(200), 40);
        const visible = header.replace(/\x1b\[\d+m/g, '').replace(/\r\n$/, '');
        strict_1.default.equal(Array.from(visible).length, 40);
        strict_1.default.ok(visible.endsWith('a… ──'));
        strict_1.default.ok(Array.from((0, terminalText_1.runHeader)('python', 'x'.repeat(200)).replace(/\x1b\[\d+m/g, '').trimEnd()).length <= 80);
    });
    (0, node_test_1.it)('removes control characters from the code', () => {
        strict_1.default.equal((0, terminalText_1.runHeader)('sh', 'echo \x1b[2J\tx'), '\x1b[2m── In [sh] echo  [2J x ──\x1b[22m\r\n');
    });
});
(0, node_test_1.describe)('runFooter', () => {
    (0, node_test_1.it)('finished cleanly: green tick with the time', () => {
        strict_1.default.equal((0, terminalText_1.runFooter)('finished', 0, 12), '\x1b[32m✓ finished in 12 ms\x1b[39m\r\n');
    });
    (0, node_test_1.it)('finished with an exception: red, with the exit code', () => {
        strict_1.default.equal((0, terminalText_1.runFooter)('finished', 1, 2500), '\x1b[31m✗ error (exit code 1) after 2.5 s\x1b[39m\r\n');
    });
    (0, node_test_1.it)('failed: red with the message', () => {
        strict_1.default.equal((0, terminalText_1.runFooter)('failed', null, 10, 'the kernel died'), '\x1b[31m✗ failed: the kernel died\x1b[39m\r\n');
        strict_1.default.equal((0, terminalText_1.runFooter)('failed', null, 10), '\x1b[31m✗ failed after 10 ms\x1b[39m\r\n');
    });
    (0, node_test_1.it)('interrupted and timed out: yellow', () => {
        strict_1.default.equal((0, terminalText_1.runFooter)('interrupted', 130, 61_000), '\x1b[33m■ interrupted after 1 min 1 s\x1b[39m\r\n');
        strict_1.default.equal((0, terminalText_1.runFooter)('exec-timeout', 124, 30_000, 'timed out after 30 s'), '\x1b[33m⏱ timed out after 30.0 s: timed out after 30 s\x1b[39m\r\n');
    });
});
(0, node_test_1.describe)('sizes and durations', () => {
    (0, node_test_1.it)('humanSize', () => {
        strict_1.default.equal((0, terminalText_1.humanSize)(0), '0 B');
        strict_1.default.equal((0, terminalText_1.humanSize)(512), '512 B');
        strict_1.default.equal((0, terminalText_1.humanSize)(1023), '1023 B');
        strict_1.default.equal((0, terminalText_1.humanSize)(1024), '1.0 KB');
        strict_1.default.equal((0, terminalText_1.humanSize)(12_595), '12.3 KB');
        strict_1.default.equal((0, terminalText_1.humanSize)(4 * 1024 * 1024), '4.0 MB');
        strict_1.default.equal((0, terminalText_1.humanSize)(3 * 1024 ** 3), '3.0 GB');
    });
    (0, node_test_1.it)('dataUriBytes decodes the base64 size, and counts UTF-8 bytes of text', () => {
        strict_1.default.equal((0, terminalText_1.dataUriBytes)(PNG), Buffer.from(PNG_B64, 'base64').length);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)(PNG), 68);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)('data:image/png;base64,QQ=='), 1);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)('data:image/png;base64,QUI='), 2);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)('data:image/png;base64,QUJD'), 3);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)('data:image/png;base64,QUJD\nREVG'), 6);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)('hello'), 5);
        strict_1.default.equal((0, terminalText_1.dataUriBytes)('héllo'), 6);
    });
    (0, node_test_1.it)('formatDuration', () => {
        strict_1.default.equal((0, terminalText_1.formatDuration)(0), '0 ms');
        strict_1.default.equal((0, terminalText_1.formatDuration)(999), '999 ms');
        strict_1.default.equal((0, terminalText_1.formatDuration)(1000), '1.0 s');
        strict_1.default.equal((0, terminalText_1.formatDuration)(59_940), '59.9 s');
        strict_1.default.equal((0, terminalText_1.formatDuration)(125_000), '2 min 5 s');
    });
});
