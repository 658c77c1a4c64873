"use strict";
// Rich display output on the local backend becomes [mime, data] console records.
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const strict_1 = __importDefault(require("node:assert/strict"));
const node_test_1 = require("node:test");
const daemon_1 = require("./daemon");
const TIMEOUT = 45_000;
// A valid 2x1 RGB PNG built with zlib + struct; its base64 is printed for comparison.
const PNG_CODE = `
import base64, struct, zlib
from IPython.display import Image, display

def chunk(kind, data):
    body = kind + data
    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)

raw = b'\\x00' + b'\\xff\\x00\\x00' + b'\\x00\\x00\\xff'
png = (b'\\x89PNG\\r\\n\\x1a\\n'
       + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 1, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(raw))
       + chunk(b'IEND', b''))
print(base64.b64encode(png).decode(), flush=True)
display(Image(data=png))
`;
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>';
(0, node_test_1.describe)('media output', { timeout: 120_000 }, () => {
    let d;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'media' });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('a PNG display is an image/png data URI record', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const r = await d.api.run({ session: 'it-media', code: PNG_CODE });
        strict_1.default.equal(r.status, 'finished', JSON.stringify(r));
        const console = d.events.consoleOf(r.runId);
        const printed = d.events.textOf(r.runId).trim();
        const images = console.filter(([k]) => k === 'image/png');
        strict_1.default.equal(images.length, 1, JSON.stringify(console));
        const [, uri] = images[0];
        strict_1.default.ok(uri.startsWith('data:image/png;base64,'), uri.slice(0, 40));
        const payload = uri.slice('data:image/png;base64,'.length);
        strict_1.default.equal(payload, printed, 'the data URI carries exactly the PNG bytes');
        const bytes = Buffer.from(payload, 'base64');
        strict_1.default.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        // Record order is output order: the printed base64 first, then the image.
        strict_1.default.equal(console[0][0], 'stdout');
        strict_1.default.equal(console[console.length - 1][0], 'image/png');
    }));
    (0, node_test_1.test)('SVG, HTML and text/plain displays', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const r = await d.api.run({
            session: 'it-media',
            code: 'from IPython.display import SVG, HTML, display\n' +
                `display(SVG(${JSON.stringify(SVG)}))\n` +
                "display(HTML('<b>bold</b> <i>text</i>'))\n" +
                'display(12345)\n',
        });
        strict_1.default.equal(r.status, 'finished', JSON.stringify(r));
        const console = d.events.consoleOf(r.runId);
        strict_1.default.equal(console.length, 3, JSON.stringify(console));
        const [svg, html, plain] = console;
        strict_1.default.equal(svg[0], 'image/svg+xml');
        strict_1.default.ok(svg[1].startsWith('<svg'), svg[1]);
        strict_1.default.ok(svg[1].includes('<rect'), svg[1]);
        strict_1.default.deepEqual(html, ['text/html', '<b>bold</b> <i>text</i>']);
        // A bundle with only text/plain is stdout text ending in a newline.
        strict_1.default.deepEqual(plain, ['stdout', '12345\n']);
    }));
    (0, node_test_1.test)('a display with an id carries it, and its updates say so', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const r = await d.api.run({
            session: 'it-media',
            code: 'from IPython.display import HTML, display\n' +
                "h = display(HTML('<p>1</p>'), display_id='bar')\n" +
                "h.update(HTML('<p>2</p>'))\n",
        });
        strict_1.default.equal(r.status, 'finished', JSON.stringify(r));
        strict_1.default.deepEqual(d.events.consoleOf(r.runId), [
            ['text/html', '<p>1</p>', { displayId: 'bar' }],
            ['text/html', '<p>2</p>', { displayId: 'bar', update: true }],
        ]);
    }));
    (0, node_test_1.test)('a bundle with PNG and HTML picks the PNG (richest first)', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const r = await d.api.run({
            session: 'it-media',
            code: 'from IPython.display import display\n' +
                // `png` comes from the first test's run in this session.
                "display({'image/png': png, 'text/html': '<p>x</p>', 'text/plain': 'x'}, raw=True)\n",
        });
        strict_1.default.equal(r.status, 'finished', JSON.stringify(r));
        const console = d.events.consoleOf(r.runId);
        strict_1.default.equal(console.length, 1, JSON.stringify(console));
        strict_1.default.equal(console[0][0], 'image/png');
        strict_1.default.ok(console[0][1].startsWith('data:image/png;base64,iVBORw0KGgo'));
    }));
});
