"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const documentSessions_1 = require("../../src/core/documentSessions");
const A = 'file:///work/a.py';
const B = 'untitled:Untitled-1';
(0, node_test_1.describe)('DocumentSessions', () => {
    (0, node_test_1.it)('a document opened in the daemon default is bound to the window session, once', () => {
        const docs = new documentSessions_1.DocumentSessions();
        strict_1.default.equal(docs.update({ uri: A, session: 'default' }, 'default', 'e2e'), 'e2e');
        docs.claim(A, 'e2e');
        strict_1.default.equal(docs.get(A), 'e2e');
        // the daemon confirms; later bindings (a run in another session) are taken as they are
        strict_1.default.equal(docs.update({ uri: A, session: 'e2e' }, 'default', 'e2e'), undefined);
        strict_1.default.equal(docs.update({ uri: A, session: 'default' }, 'default', 'e2e'), undefined);
        strict_1.default.equal(docs.get(A), 'default');
    });
    (0, node_test_1.it)('leaves a document alone when the window session is the daemon default', () => {
        const docs = new documentSessions_1.DocumentSessions();
        strict_1.default.equal(docs.update({ uri: A, session: 'default' }, 'default', 'default'), undefined);
        strict_1.default.equal(docs.get(A), 'default');
    });
    (0, node_test_1.it)('keeps a binding the daemon made from a run (not its default)', () => {
        const docs = new documentSessions_1.DocumentSessions();
        strict_1.default.equal(docs.update({ uri: B, session: 'gpu' }, 'default', 'e2e'), undefined);
        strict_1.default.equal(docs.get(B), 'gpu');
    });
    (0, node_test_1.it)('does not rebind a document the user bound', () => {
        const docs = new documentSessions_1.DocumentSessions();
        docs.claim(A, 'default');
        strict_1.default.equal(docs.update({ uri: A, session: 'default' }, 'default', 'e2e'), undefined);
    });
    (0, node_test_1.it)('without the daemon default (no initialize answer) binds nothing', () => {
        const docs = new documentSessions_1.DocumentSessions();
        strict_1.default.equal(docs.update({ uri: A, session: 'default' }, undefined, 'e2e'), undefined);
    });
    (0, node_test_1.it)('forgets every binding on a new connection', () => {
        const docs = new documentSessions_1.DocumentSessions();
        docs.claim(A, 'x');
        docs.clear();
        strict_1.default.equal(docs.get(A), undefined);
        strict_1.default.equal(docs.update({ uri: A, session: 'default' }, 'default', 'x'), 'x');
    });
});
