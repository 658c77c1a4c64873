"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const remotePicks_1 = require("../../src/core/remotePicks");
function entry(id, label, attachedAs = null) {
    return { id, label, description: `python3 · idle · ${id}`, state: 'idle', lastActivity: null, attachedAs, suggestedName: id, details: {} };
}
(0, node_test_1.describe)('remotePicks', () => {
    (0, node_test_1.it)('puts the entries under one "on the server" separator, in the server order, as the daemon wrote them', () => {
        const rows = (0, remotePicks_1.remotePicks)([{ profile: 'jup', sessions: [entry('k1', 'work/a.ipynb'), entry('k2', 'python3 k2', 'viewer')] }]);
        strict_1.default.deepEqual(rows.map((r) => [r.label, r.separator ?? false, r.description, r.profile]), [
            [remotePicks_1.SERVER_SEPARATOR, true, undefined, undefined],
            ['work/a.ipynb', false, 'python3 · idle · k1', 'jup'],
            ['python3 k2', false, 'python3 · idle · k2 · attached as viewer', 'jup'],
        ]);
        strict_1.default.equal(rows[1].remote?.id, 'k1');
        strict_1.default.equal(rows[1].detail, undefined);
    });
    (0, node_test_1.it)('names the profile of each entry when several profiles list some, and shows nothing when none do', () => {
        const rows = (0, remotePicks_1.remotePicks)([
            { profile: 'jup', sessions: [entry('k1', 'a')] },
            { profile: 'bai', sessions: [entry('s1', 'web-made')] },
            { profile: 'empty', sessions: [] },
        ]);
        strict_1.default.deepEqual(rows.slice(1).map((r) => r.detail), ['profile jup', 'profile bai']);
        strict_1.default.deepEqual((0, remotePicks_1.remotePicks)([{ profile: 'jup', sessions: [] }]), []);
    });
});
