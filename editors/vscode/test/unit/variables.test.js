"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const variables_1 = require("../../src/core/variables");
const protocol_1 = require("../../src/protocol");
(0, node_test_1.describe)('Variables view rows', () => {
    (0, node_test_1.it)('one row per variable: name, then type, size and value', () => {
        const rows = (0, variables_1.variableRows)({
            session: 's',
            variables: [
                { name: 'df', type: 'DataFrame', value: '   a\n0  1', size: '(1, 1)' },
                { name: 'n', type: 'int', value: '3', size: null },
            ],
        });
        strict_1.default.deepEqual(rows.map((r) => [r.label, r.description, r.message]), [
            ['df', 'DataFrame · (1, 1) =  a 0 1', false],
            ['n', 'int = 3', false],
        ]);
        strict_1.default.equal(rows[0].tooltip, 'df: DataFrame · (1, 1)\n   a\n0  1');
    });
    (0, node_test_1.it)('a truncated list ends with a message row', () => {
        const rows = (0, variables_1.variableRows)({ session: 's', truncated: true, variables: [{ name: 'a', type: 'int', value: '1', size: null }] });
        strict_1.default.deepEqual(rows.map((r) => r.message), [false, true]);
        strict_1.default.match(rows[1].label, /more variables than the 1 listed/);
    });
    (0, node_test_1.it)('no variables: one message row naming the session', () => {
        const rows = (0, variables_1.variableRows)({ session: 'gpu', variables: [] });
        strict_1.default.equal(rows.length, 1);
        strict_1.default.equal(rows[0].message, true);
        strict_1.default.match(rows[0].label, /no variables in session gpu/);
    });
    (0, node_test_1.it)('Unsupported: the daemon says why (not available for this kernel)', () => {
        const row = (0, variables_1.variablesErrorRow)('r', { code: protocol_1.ErrorCodes.Unsupported, message: 'not available for this kernel (ir)' });
        strict_1.default.equal(row.message, true);
        strict_1.default.equal(row.label, 'not available for this kernel (ir)');
    });
    (0, node_test_1.it)('a session not open yet, and other errors', () => {
        strict_1.default.match((0, variables_1.variablesErrorRow)('e2e', { code: protocol_1.ErrorCodes.SessionNotFound, message: 'no session' }).label, /session e2e is not open/);
        strict_1.default.equal((0, variables_1.variablesErrorRow)('e2e', new Error('gone')).label, 'session e2e: gone');
    });
});
