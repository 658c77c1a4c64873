import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaItem } from '../../src/core/mediaHtml';
import { placeMedia } from '../../src/core/mediaList';

let nextId = 1;
function item(data: string, runId = 'r1'): MediaItem {
  return { id: nextId++, runId, kind: 'text/html', data, label: `Out [${runId}] text/html`, time: 't' };
}

describe('placeMedia', () => {
  it('adds records newest first and keeps at most max', () => {
    const items: MediaItem[] = [];
    assert.equal(placeMedia(items, item('a'), undefined, 2), 'added');
    assert.equal(placeMedia(items, item('b'), undefined, 2), 'added');
    assert.equal(placeMedia(items, item('c'), undefined, 2), 'added');
    assert.deepEqual(items.map((i) => i.data), ['c', 'b']);
  });

  it('replaces every item of an updated display where it stands, keeping its id', () => {
    const items: MediaItem[] = [];
    placeMedia(items, item('v1'), { displayId: 'd' }, 10);
    placeMedia(items, item('other'), undefined, 10);
    placeMedia(items, item('v1 again'), { displayId: 'd' }, 10); // shown twice, as in Jupyter
    const ids = items.map((i) => i.id);
    assert.equal(placeMedia(items, item('v2', 'r2'), { displayId: 'd', update: true }, 10), 'updated');
    assert.deepEqual(items.map((i) => i.data), ['v2', 'other', 'v2']);
    assert.deepEqual(items.map((i) => i.id), ids, 'positions and ids are kept');
    assert.deepEqual(items.map((i) => i.displayId), ['d', undefined, 'd']);
    assert.equal(items[0].runId, 'r2', 'the item now shows the updating run');
  });

  it('ignores an update of a display it does not show', () => {
    const items: MediaItem[] = [];
    placeMedia(items, item('x'), { displayId: 'shown' }, 10);
    assert.equal(placeMedia(items, item('y'), { displayId: 'gone', update: true }, 10), 'ignored');
    assert.deepEqual(items.map((i) => i.data), ['x']);
  });
});
