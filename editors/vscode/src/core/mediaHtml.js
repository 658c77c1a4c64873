"use strict";
// The HTML of the media webview panel. Pure: no `vscode` import.
//
// Everything from the kernel is untrusted: text is escaped, raster images are accepted
// only as well-formed base64 data URIs, SVG is shown through <img> (which never runs
// SVG scripts), and HTML goes into an iframe with an empty sandbox (no scripts, no
// same-origin). The page's CSP allows only its own nonce-tagged <script>; styles may be
// inline (HTML output such as pandas tables carries its own), but nothing loads from
// outside: images are data: URIs or the webview's own resources.
Object.defineProperty(exports, "__esModule", { value: true });
exports.escapeHtml = escapeHtml;
exports.makeNonce = makeNonce;
exports.safeRasterUri = safeRasterUri;
exports.mediaItemHtml = mediaItemHtml;
exports.mediaPage = mediaPage;
const node_crypto_1 = require("node:crypto");
/** Escapes the five HTML-significant characters (safe in text and quoted attributes). */
function escapeHtml(s) {
    return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
/** 32 random base64url characters (24 bytes). */
function makeNonce() {
    return (0, node_crypto_1.randomBytes)(24).toString('base64url');
}
const RASTER_URI = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]*={0,2}$/;
const SVG_B64_URI = /^data:image\/svg\+xml;base64,[A-Za-z0-9+/]*={0,2}$/;
/** The data URI with whitespace removed, if it is a well-formed base64 raster image. */
function safeRasterUri(data) {
    const uri = data.replace(/\s+/g, '');
    return RASTER_URI.test(uri) ? uri : undefined;
}
function pre(text) {
    return `<pre>${escapeHtml(text)}</pre>`;
}
function body(item) {
    const { kind, data } = item;
    if (kind === 'image/svg+xml') {
        // SVG text as a base64 data URI; an already-encoded SVG data URI is accepted as is.
        const compact = data.replace(/\s+/g, '');
        const src = SVG_B64_URI.test(compact)
            ? compact
            : `data:image/svg+xml;base64,${Buffer.from(data, 'utf8').toString('base64')}`;
        return `<img alt="image/svg+xml output" src="${src}">`;
    }
    if (kind.startsWith('image/')) {
        const src = safeRasterUri(data);
        if (src)
            return `<img alt="${escapeHtml(kind)} output" src="${src}">`;
        return `<p class="error">Cannot show this ${escapeHtml(kind)} output: it is not a base64 PNG, JPEG, GIF or WebP data URI.</p>`;
    }
    if (kind === 'text/html') {
        return `<iframe sandbox="" title="text/html output" srcdoc="${escapeHtml(data)}"></iframe>`;
    }
    return pre(data);
}
/** One item: a caption (label and time) and the rendered output. */
function mediaItemHtml(item) {
    return (`<section class="item" id="item-${Number(item.id)}">` +
        `<div class="caption"><span class="label">${escapeHtml(item.label)}</span>` +
        `<span class="time">${escapeHtml(item.time)}</span></div>` +
        `<div class="output">${body(item)}</div></section>`);
}
const STYLE = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); background: var(--vscode-editor-background); margin: 0; padding: 8px; }
.item { margin: 0 0 16px; border-bottom: 1px solid var(--vscode-panel-border, #8884); padding-bottom: 12px; }
.caption { display: flex; justify-content: space-between; gap: 12px; font-size: 0.9em; opacity: 0.8; margin-bottom: 6px; }
.output img { max-width: 100%; height: auto; background: #fff; }
.output iframe { width: 100%; height: 360px; border: 1px solid var(--vscode-panel-border, #8884); background: #fff; resize: vertical; overflow: auto; }
.output pre { white-space: pre-wrap; word-break: break-word; font-family: var(--vscode-editor-font-family); margin: 0; }
.error { color: var(--vscode-errorForeground); }
.note, .empty { opacity: 0.7; }
`;
// Scrolls back to the newest item when the extension posts {type: 'scrollTop'}.
const SCRIPT = `window.addEventListener('message', (e) => { if (e.data && e.data.type === 'scrollTop') window.scrollTo(0, 0); });`;
/** The whole panel document, newest item (highest id) first. */
function mediaPage(items, opts) {
    const csp = escapeHtml(opts.cspSource);
    const nonce = escapeHtml(opts.nonce);
    const policy = `default-src 'none'; img-src ${csp} data:; style-src ${csp} 'unsafe-inline'; ` +
        `script-src 'nonce-${nonce}'; frame-src 'self' data:; font-src ${csp};`;
    const newestFirst = [...items].sort((a, b) => b.id - a.id);
    const content = newestFirst.length
        ? newestFirst.map(mediaItemHtml).join('\n')
        : '<p class="empty">No media yet: images, SVG and HTML produced by runs appear here.</p>';
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(opts.title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${content}
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
