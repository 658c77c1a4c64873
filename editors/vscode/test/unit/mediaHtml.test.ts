import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, makeNonce, MediaItem, mediaItemHtml, mediaPage, safeRasterUri } from '../../src/core/mediaHtml';

const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const OPTS = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce: 'abcDEF123_-xyz', title: 'runbridge media' };

let nextId = 1;
function item(kind: string, data: string, label = `Out [3f2a] ${kind}`): MediaItem {
  return { id: nextId++, runId: '3f2a9c', kind, data, label, time: '12:00:01' };
}

/** The tag names of every element in `html` outside of attribute values. */
function tags(html: string): string[] {
  // Attribute values are quoted and escaped, so '<' never appears inside them.
  return [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1].toLowerCase());
}

describe('escapeHtml', () => {
  it('escapes the five significant characters', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    assert.equal(escapeHtml('plain text é'), 'plain text é');
  });
});

describe('makeNonce', () => {
  it('gives 32 base64url characters, different each time', () => {
    const a = makeNonce();
    const b = makeNonce();
    assert.match(a, /^[A-Za-z0-9_-]{32}$/);
    assert.match(b, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(a, b);
  });
});

describe('mediaItemHtml', () => {
  it('shows a caption with the label and time', () => {
    const html = mediaItemHtml(item('image/png', PNG));
    assert.match(html, /<div class="caption"><span class="label">Out \[3f2a\] image\/png<\/span><span class="time">12:00:01<\/span><\/div>/);
  });

  it('shows a PNG data URI as an <img>', () => {
    const html = mediaItemHtml(item('image/png', PNG));
    assert.ok(html.includes(`<img alt="image/png output" src="${PNG}">`));
  });

  it('accepts JPEG, GIF and WebP data URIs, with line breaks in the base64 removed', () => {
    assert.ok(mediaItemHtml(item('image/jpeg', 'data:image/jpeg;base64,/9j/4AAQ')).includes('src="data:image/jpeg;base64,/9j/4AAQ"'));
    assert.ok(mediaItemHtml(item('image/gif', 'data:image/gif;base64,R0lG\nODlh')).includes('src="data:image/gif;base64,R0lGODlh"'));
    assert.equal(safeRasterUri('data:image/webp;base64,UklGRg=='), 'data:image/webp;base64,UklGRg==');
  });

  it('refuses a fake data URI that would break out of the attribute', () => {
    const evil = 'data:image/png;base64,"><script>alert(1)</script>';
    const html = mediaItemHtml(item('image/png', evil));
    assert.ok(!html.includes('<img'));
    assert.ok(!html.includes('<script'));
    assert.deepEqual(tags(html), ['section', 'div', 'span', 'span', 'div', 'p']);
    assert.match(html, /<p class="error">Cannot show this image\/png output/);
  });

  it('refuses other schemes and types in an image record', () => {
    for (const data of ['javascript:alert(1)', 'https://example.com/x.png', 'data:text/html;base64,PHNjcmlwdD4=', 'data:image/png,rawbytes', 'data:image/svg+xml;base64,PHN2Zz4=']) {
      assert.equal(safeRasterUri(data), undefined, data);
      assert.ok(!mediaItemHtml(item('image/png', data)).includes('<img'), data);
    }
  });

  it('shows SVG as a base64 <img>, so its scripts never run', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><circle r="5"/></svg>';
    const html = mediaItemHtml(item('image/svg+xml', svg));
    const src = /<img alt="image\/svg\+xml output" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)">/.exec(html);
    assert.ok(src, html);
    assert.equal(Buffer.from(src[1], 'base64').toString('utf8'), svg);
    assert.ok(!html.includes('<script') && !html.includes('onload'));
    assert.ok(!html.includes('<svg'));
  });

  it('keeps an SVG that already is a base64 data URI', () => {
    const uri = 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=';
    assert.ok(mediaItemHtml(item('image/svg+xml', uri)).includes(`src="${uri}"`));
  });

  it('puts HTML in an iframe with an empty sandbox, escaped inside srcdoc', () => {
    const data = '<b>bold</b><script>alert(1)</script><img src=x onerror="alert(2)">';
    const html = mediaItemHtml(item('text/html', data));
    assert.ok(html.includes(`<iframe sandbox="" title="text/html output" srcdoc="${escapeHtml(data)}"></iframe>`));
    assert.ok(!html.includes('<script'));
    assert.ok(!html.includes('<b>'));
    assert.deepEqual(tags(html), ['section', 'div', 'span', 'span', 'div', 'iframe']);
  });

  it('shows any other kind as escaped <pre>', () => {
    const html = mediaItemHtml(item('text/markdown', '# T\n<script>x</script>'));
    assert.ok(html.includes('<pre># T\n&lt;script&gt;x&lt;/script&gt;</pre>'));
  });

  it('escapes labels, times and kinds', () => {
    const evil: MediaItem = {
      id: 7,
      runId: 'r',
      kind: 'image/<x onerror=alert(1)>',
      data: 'nope',
      label: 'Out <img src=x onerror="alert(1)">',
      time: '<script>t</script>',
    };
    const html = mediaItemHtml(evil);
    assert.ok(html.includes('Out &lt;img src=x onerror=&quot;alert(1)&quot;&gt;'));
    assert.ok(html.includes('&lt;script&gt;t&lt;/script&gt;'));
    assert.deepEqual(tags(html), ['section', 'div', 'span', 'span', 'div', 'p']);
  });
});

describe('mediaPage', () => {
  it('declares the strict CSP and tags its own style and script with the nonce', () => {
    const page = mediaPage([], OPTS);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(page);
    assert.ok(csp);
    assert.equal(
      csp[1],
      `default-src 'none'; img-src ${OPTS.cspSource} data:; style-src ${OPTS.cspSource} 'unsafe-inline'; ` +
        `script-src 'nonce-${OPTS.nonce}'; frame-src 'self' data:; font-src ${OPTS.cspSource};`,
    );
    assert.equal([...page.matchAll(/<style nonce="abcDEF123_-xyz">/g)].length, 1);
    assert.equal([...page.matchAll(/<script nonce="abcDEF123_-xyz">/g)].length, 1);
    assert.equal([...page.matchAll(/<(style|script)\b/g)].length, 2); // no untagged ones
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /<title>runbridge media<\/title>/);
    assert.match(page, /No media yet/);
  });

  it('puts the newest item first', () => {
    const old = { ...item('text/html', '<p>old</p>'), id: 1 };
    const mid = { ...item('image/png', PNG), id: 2 };
    const newest = { ...item('image/svg+xml', '<svg/>'), id: 3 };
    const page = mediaPage([old, mid, newest], OPTS);
    const order = [...page.matchAll(/<section class="item" id="item-(\d+)">/g)].map((m) => Number(m[1]));
    assert.deepEqual(order, [3, 2, 1]);
    assert.ok(!page.includes('No media yet'));
  });

  it('keeps injected markup inert everywhere', () => {
    const page = mediaPage(
      [
        item('text/html', '<script>alert(1)</script>'),
        item('image/png', 'data:image/png;base64,"><script>alert(2)</script>'),
        item('stdout', '</pre><script>alert(3)</script>', '<img src=x onerror=alert(4)>'),
      ],
      { ...OPTS, title: '</title><script>alert(5)</script>' },
    );
    // Only the page's own nonce-tagged script exists; every injected one is text.
    assert.equal([...page.matchAll(/<script/g)].length, 1);
    assert.ok(page.includes('srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"'));
    assert.ok(!tags(page).includes('img'));
    assert.ok(!/<[^>]*\sonerror=/i.test(page));
  });
});
