import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMsgpack, drawingToSvg, parseDrawing, replayDrawing } from '../../src/core/drawing';

// Backend.AI's encode_commands of Canvas(100, 120) + line(20, 20, 50, 50)
// (known-answer vector from the shared Backend.AI reference).
const VECTOR = 'kpYApmNhbnZhc2R4qSNmZmZmZmZmZqkjMDAwMDAwZmaUAKNvYmoAlqRsaW5lFBQyMqkjMDAwMDAwZmY=';

test('the msgpack of a Backend.AI drawing decodes to its commands', () => {
  assert.deepEqual(decodeMsgpack(Buffer.from(VECTOR, 'base64')), [
    [0, 'canvas', 100, 120, '#ffffffff', '#000000ff'],
    [0, 'obj', 0, ['line', 20, 20, 50, 50, '#000000ff']],
  ]);
});

test('msgpack scalars: negative ints, floats, wide strings, maps, nil and booleans', () => {
  // [-1, -200, 1.5, "é", {"a": null}, true, false, 70000]
  const bytes = Uint8Array.from([
    0x98, 0xff, 0xd1, 0xff, 0x38, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa2, 0xc3, 0xa9, 0x81, 0xa1, 0x61,
    0xc0, 0xc3, 0xc2, 0xce, 0x00, 0x01, 0x11, 0x70,
  ]);
  assert.deepEqual(decodeMsgpack(bytes), [-1, -200, 1.5, 'é', { a: null }, true, false, 70000]);
  assert.throws(() => decodeMsgpack(Uint8Array.from([0x92, 0x01])), /truncated/);
});

test('the vector renders as an SVG canvas with its line', () => {
  const svg = drawingToSvg(VECTOR);
  assert.ok(svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="100" height="120"/);
  assert.match(svg, /<rect width="100" height="120" fill="#ffffffff"\/>/);
  assert.match(svg, /<line x1="20" y1="20" x2="50" y2="50" stroke="#000000ff"\/>/);
});

test('updates move, recolour and rotate objects; the last state is drawn', () => {
  const commands = [
    [1, 'canvas', 200, 100, '#ffffffff', '#000000ff'],
    [1, 'obj', 0, ['circle', 10, 10, 5, '#ff0000ff', '#00ff00ff', 0]],
    [1, 'obj', 1, ['rect', 50, 20, 30, 40, '#000000ff', '#00000000', 0]],
    [1, 'obj', 2, ['triangle', 100, 10, 40, 20, '#0000ffff', '#0000ffff', 0]],
    [1, 'update', 0, 'x', 60],
    [1, 'update', 0, 'fill', '#123456ff'],
    [1, 'update', 1, 'rotate', 15],
    [1, 'update', 1, 'rotate', 15],
    [1, 'stop-anim'],
  ];
  const [canvas] = replayDrawing(commands);
  assert.equal(canvas.objects.size, 3);
  const svg = drawingToSvg(JSON.stringify(commands));
  assert.ok(svg);
  assert.match(svg, /<circle cx="60" cy="10" r="5" stroke="#ff0000ff" fill="#123456ff"\/>/);
  assert.match(svg, /<rect x="50" y="20" width="30" height="40" [^>]*transform="rotate\(30 50 20\)"\/>/);
  assert.match(svg, /<polygon points="120,10 140,30 100,30"/);
});

test('hostile values never reach the SVG as markup', () => {
  const commands = [
    [0, 'canvas', 10, 10, '"/><script>alert(1)</script>', '#000000ff'],
    [0, 'obj', 0, ['line', 0, 0, 5, 5, 'red" onload="alert(1)']],
  ];
  const svg = drawingToSvg(JSON.stringify(commands));
  assert.ok(svg);
  assert.ok(!svg.includes('<script'), svg);
  assert.ok(!svg.includes('onload'), svg);
});

test('data that is not a drawing gives undefined', () => {
  assert.equal(parseDrawing('not a drawing!'), undefined);
  assert.equal(drawingToSvg('{"a": 1}'), undefined);
  assert.equal(drawingToSvg('[]'), undefined);
  assert.equal(drawingToSvg(Buffer.from([0xc1]).toString('base64')), undefined);
});
