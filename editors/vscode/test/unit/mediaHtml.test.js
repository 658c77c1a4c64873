"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const mediaHtml_1 = require("../../src/core/mediaHtml");
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const OPTS = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce: 'abcDEF123_-xyz', title: 'runbridge media' };
let nextId = 1;
function item(kind, data, label = `Out [3f2a] ${kind}`) {
    return { id: nextId++, runId: '3f2a9c', kind, data, label, time: '12:00:01' };
}
/** The tag names of every element in `html` outside of attribute values. */
function tags(html) {
    // Attribute values are quoted and escaped, so '<' never appears inside them.
    return [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1].toLowerCase());
}
(0, node_test_1.describe)('escapeHtml', () => {
    (0, node_test_1.it)('escapes the five significant characters', () => {
        strict_1.default.equal((0, mediaHtml_1.escapeHtml)(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
        strict_1.default.equal((0, mediaHtml_1.escapeHtml)('plain text é'), 'plain text é');
    });
});
(0, node_test_1.describe)('makeNonce', () => {
    (0, node_test_1.it)('gives 32 base64url characters, different each time', () => {
        const a = (0, mediaHtml_1.makeNonce)();
        const b = (0, mediaHtml_1.makeNonce)();
        strict_1.default.match(a, /^[A-Za-z0-9_-]{32}$/);
        strict_1.default.match(b, /^[A-Za-z0-9_-]{32}$/);
        strict_1.default.notEqual(a, b);
    });
});
(0, node_test_1.describe)('mediaItemHtml', () => {
    (0, node_test_1.it)('shows a caption with the label and time', () => {
        const html = (0, mediaHtml_1.mediaItemHtml)(item('image/png', PNG));
        strict_1.default.match(html, /<div class="caption"><span class="label">Out \[3f2a\] image\/png<\/span><span class="time">12:00:01<\/span><\/div>/);
    });
    (0, node_test_1.it)('shows a PNG data URI as an <img>', () => {
        const html = (0, mediaHtml_1.mediaItemHtml)(item('image/png', PNG));
        strict_1.default.ok(html.includes(`<img alt="image/png output" src="${PNG}">`));
    });
    (0, node_test_1.it)('accepts JPEG, GIF and WebP data URIs, with line breaks in the base64 removed', () => {
        strict_1.default.ok((0, mediaHtml_1.mediaItemHtml)(item('image/jpeg', 'data:image/jpeg;base64,/9j/4AAQ')).includes('src="data:image/jpeg;base64,/9j/4AAQ"'));
        strict_1.default.ok((0, mediaHtml_1.mediaItemHtml)(item('image/gif', 'data:image/gif;base64,R0lG\nODlh')).includes('src="data:image/gif;base64,R0lGODlh"'));
        strict_1.default.equal((0, mediaHtml_1.safeRasterUri)('data:image/webp;base64,UklGRg=='), 'data:image/webp;base64,UklGRg==');
    });
    (0, node_test_1.it)('refuses a fake data URI that would break out of the attribute', () => {
        const evil = 'data:image/png;base64,"><script>alert(1)</script>';
        const html = (0, mediaHtml_1.mediaItemHtml)(item('image/png', evil));
        strict_1.default.ok(!html.includes('<img'));
        strict_1.default.ok(!html.includes('<script'));
        strict_1.default.deepEqual(tags(html), ['section', 'div', 'span', 'span', 'div', 'p']);
        strict_1.default.match(html, /<p class="error">Cannot show this image\/png output/);
    });
    (0, node_test_1.it)('refuses other schemes and types in an image record', () => {
        for (const data of ['javascript:alert(1)', 'https://example.com/x.png', 'data:text/html;base64,PHNjcmlwdD4=', 'data:image/png,rawbytes', 'data:image/svg+xml;base64,PHN2Zz4=']) {
            strict_1.default.equal((0, mediaHtml_1.safeRasterUri)(data), undefined, data);
            strict_1.default.ok(!(0, mediaHtml_1.mediaItemHtml)(item('image/png', data)).includes('<img'), data);
        }
    });
    (0, node_test_1.it)('shows SVG as a base64 <img>, so its scripts never run', () => {
        const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><circle r="5"/></svg>';
        const html = (0, mediaHtml_1.mediaItemHtml)(item('image/svg+xml', svg));
        const src = /<img alt="image\/svg\+xml output" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)">/.exec(html);
        strict_1.default.ok(src, html);
        strict_1.default.equal(Buffer.from(src[1], 'base64').toString('utf8'), svg);
        strict_1.default.ok(!html.includes('<script') && !html.includes('onload'));
        strict_1.default.ok(!html.includes('<svg'));
    });
    (0, node_test_1.it)('keeps an SVG that already is a base64 data URI', () => {
        const uri = 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=';
        strict_1.default.ok((0, mediaHtml_1.mediaItemHtml)(item('image/svg+xml', uri)).includes(`src="${uri}"`));
    });
    (0, node_test_1.it)('puts HTML in an iframe with an empty sandbox, escaped inside srcdoc', () => {
        const data = '<b>bold</b><script>alert(1)</script><img src=x onerror="alert(2)">';
        const html = (0, mediaHtml_1.mediaItemHtml)(item('text/html', data));
        strict_1.default.ok(html.includes(`<iframe sandbox="" title="text/html output" srcdoc="${(0, mediaHtml_1.escapeHtml)(data)}"></iframe>`));
        strict_1.default.ok(!html.includes('<script'));
        strict_1.default.ok(!html.includes('<b>'));
        strict_1.default.deepEqual(tags(html), ['section', 'div', 'span', 'span', 'div', 'iframe']);
    });
    (0, node_test_1.it)('shows any other kind as escaped <pre>', () => {
        const html = (0, mediaHtml_1.mediaItemHtml)(item('text/markdown', '# T\n<script>x</script>'));
        strict_1.default.ok(html.includes('<pre># T\n&lt;script&gt;x&lt;/script&gt;</pre>'));
    });
    (0, node_test_1.it)('escapes labels, times and kinds', () => {
        const evil = {
            id: 7,
            runId: 'r',
            kind: 'image/<x onerror=alert(1)>',
            data: 'nope',
            label: 'Out <img src=x onerror="alert(1)">',
            time: '<script>t</script>',
        };
        const html = (0, mediaHtml_1.mediaItemHtml)(evil);
        strict_1.default.ok(html.includes('Out &lt;img src=x onerror=&quot;alert(1)&quot;&gt;'));
        strict_1.default.ok(html.includes('&lt;script&gt;t&lt;/script&gt;'));
        strict_1.default.deepEqual(tags(html), ['section', 'div', 'span', 'span', 'div', 'p']);
    });
});
(0, node_test_1.describe)('mediaPage', () => {
    (0, node_test_1.it)('declares the strict CSP and tags its own style and script with the nonce', () => {
        const page = (0, mediaHtml_1.mediaPage)([], OPTS);
        const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(page);
        strict_1.default.ok(csp);
        strict_1.default.equal(csp[1], `default-src 'none'; img-src ${OPTS.cspSource} data:; style-src ${OPTS.cspSource} 'unsafe-inline'; ` +
            `script-src 'nonce-${OPTS.nonce}'; frame-src 'self' data:; font-src ${OPTS.cspSource};`);
        strict_1.default.equal([...page.matchAll(/<style nonce="abcDEF123_-xyz">/g)].length, 1);
        strict_1.default.equal([...page.matchAll(/<script nonce="abcDEF123_-xyz">/g)].length, 1);
        strict_1.default.equal([...page.matchAll(/<(style|script)\b/g)].length, 2); // no untagged ones
        strict_1.default.match(page, /^<!DOCTYPE html>/);
        strict_1.default.match(page, /<title>runbridge media<\/title>/);
        strict_1.default.match(page, /No media yet/);
    });
    (0, node_test_1.it)('puts the newest item first', () => {
        const old = { ...item('text/html', '<p>old</p>'), id: 1 };
        const mid = { ...item('image/png', PNG), id: 2 };
        const newest = { ...item('image/svg+xml', '<svg/>'), id: 3 };
        const page = (0, mediaHtml_1.mediaPage)([old, mid, newest], OPTS);
        const order = [...page.matchAll(/<section class="item" id="item-(\d+)">/g)].map((m) => Number(m[1]));
        strict_1.default.deepEqual(order, [3, 2, 1]);
        strict_1.default.ok(!page.includes('No media yet'));
    });
    (0, node_test_1.it)('keeps injected markup inert everywhere', () => {
        const page = (0, mediaHtml_1.mediaPage)([
            item('text/html', '<script>alert(1)</script>'),
            item('image/png', 'data:image/png;base64,"><script>alert(2)</script>'),
            item('stdout', '</pre><script>alert(3)</script>', '<img src=x onerror=alert(4)>'),
        ], { ...OPTS, title: '</title><script>alert(5)</script>' });
        // Only the page's own nonce-tagged script exists; every injected one is text.
        strict_1.default.equal([...page.matchAll(/<script/g)].length, 1);
        strict_1.default.ok(page.includes('srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"'));
        strict_1.default.ok(!tags(page).includes('img'));
        strict_1.default.ok(!/<[^>]*\sonerror=/i.test(page));
    });
});
