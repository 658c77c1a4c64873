import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentSessions } from '../../src/core/documentSessions';

const A = 'file:///work/a.py';
const B = 'untitled:Untitled-1';

describe('DocumentSessions', () => {
  it('a document opened in the daemon default is bound to the window session, once', () => {
    const docs = new DocumentSessions();
    assert.equal(docs.update({ uri: A, session: 'default' }, 'default', 'e2e'), 'e2e');
    docs.claim(A, 'e2e');
    assert.equal(docs.get(A), 'e2e');
    // the daemon confirms; later bindings (a run in another session) are taken as they are
    assert.equal(docs.update({ uri: A, session: 'e2e' }, 'default', 'e2e'), undefined);
    assert.equal(docs.update({ uri: A, session: 'default' }, 'default', 'e2e'), undefined);
    assert.equal(docs.get(A), 'default');
  });

  it('leaves a document alone when the window session is the daemon default', () => {
    const docs = new DocumentSessions();
    assert.equal(docs.update({ uri: A, session: 'default' }, 'default', 'default'), undefined);
    assert.equal(docs.get(A), 'default');
  });

  it('keeps a binding the daemon made from a run (not its default)', () => {
    const docs = new DocumentSessions();
    assert.equal(docs.update({ uri: B, session: 'gpu' }, 'default', 'e2e'), undefined);
    assert.equal(docs.get(B), 'gpu');
  });

  it('does not rebind a document the user bound', () => {
    const docs = new DocumentSessions();
    docs.claim(A, 'default');
    assert.equal(docs.update({ uri: A, session: 'default' }, 'default', 'e2e'), undefined);
  });

  it('without the daemon default (no initialize answer) binds nothing', () => {
    const docs = new DocumentSessions();
    assert.equal(docs.update({ uri: A, session: 'default' }, undefined, 'e2e'), undefined);
  });

  it('forgets every binding on a new connection', () => {
    const docs = new DocumentSessions();
    docs.claim(A, 'x');
    docs.clear();
    assert.equal(docs.get(A), undefined);
    assert.equal(docs.update({ uri: A, session: 'default' }, 'default', 'x'), 'x');
  });
});
