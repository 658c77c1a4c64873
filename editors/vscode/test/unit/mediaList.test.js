"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const mediaList_1 = require("../../src/core/mediaList");
let nextId = 1;
function item(data, runId = 'r1') {
    return { id: nextId++, runId, kind: 'text/html', data, label: `Out [${runId}] text/html`, time: 't' };
}
(0, node_test_1.describe)('placeMedia', () => {
    (0, node_test_1.it)('adds records newest first and keeps at most max', () => {
        const items = [];
        strict_1.default.equal((0, mediaList_1.placeMedia)(items, item('a'), undefined, 2), 'added');
        strict_1.default.equal((0, mediaList_1.placeMedia)(items, item('b'), undefined, 2), 'added');
        strict_1.default.equal((0, mediaList_1.placeMedia)(items, item('c'), undefined, 2), 'added');
        strict_1.default.deepEqual(items.map((i) => i.data), ['c', 'b']);
    });
    (0, node_test_1.it)('replaces every item of an updated display where it stands, keeping its id', () => {
        const items = [];
        (0, mediaList_1.placeMedia)(items, item('v1'), { displayId: 'd' }, 10);
        (0, mediaList_1.placeMedia)(items, item('other'), undefined, 10);
        (0, mediaList_1.placeMedia)(items, item('v1 again'), { displayId: 'd' }, 10); // shown twice, as in Jupyter
        const ids = items.map((i) => i.id);
        strict_1.default.equal((0, mediaList_1.placeMedia)(items, item('v2', 'r2'), { displayId: 'd', update: true }, 10), 'updated');
        strict_1.default.deepEqual(items.map((i) => i.data), ['v2', 'other', 'v2']);
        strict_1.default.deepEqual(items.map((i) => i.id), ids, 'positions and ids are kept');
        strict_1.default.deepEqual(items.map((i) => i.displayId), ['d', undefined, 'd']);
        strict_1.default.equal(items[0].runId, 'r2', 'the item now shows the updating run');
    });
    (0, node_test_1.it)('ignores an update of a display it does not show', () => {
        const items = [];
        (0, mediaList_1.placeMedia)(items, item('x'), { displayId: 'shown' }, 10);
        strict_1.default.equal((0, mediaList_1.placeMedia)(items, item('y'), { displayId: 'gone', update: true }, 10), 'ignored');
        strict_1.default.deepEqual(items.map((i) => i.data), ['x']);
    });
});
