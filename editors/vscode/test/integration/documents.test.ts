// Documents and language features, through the API the extension uses and the LSP
// messages vscode-languageclient sends (didOpen / didChange, completion, hover, code
// lenses, executeCommand), against the real daemon and a real local kernel.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { initializationOptions } from '../../src/core/clientOptions';
import * as P from '../../src/protocol';
import { Daemon, repoRoot, rpcFailure, withDaemon } from './daemon';

const TIMEOUT = 60_000;

/** The settings' defaults, as the extension sends them. */
function defaultOptions(): P.InitializationOptions {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'editors', 'vscode', 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties;
  return initializationOptions({
    outputCapMb: 10,
    defaultProfile: '',
    languages: props['runbridge.languages'].default,
    cellMarkers: props['runbridge.cellMarkers'].default,
  });
}

const TEXT = [
  'import os', //                                   0
  '# %% setup', //                                  1
  'kernel_only_name_42 = 1', //                     2
  'def rb_documented(a, b):', //                    3
  '    """rb docstring for the hover"""', //        4
  '    return a + b', //                            5
  '', //                                            6
  '# %% use', //                                    7
  'print("cell says", kernel_only_name_42 * 42)', // 8
  '', //                                            9
].join('\n');

interface CompletionItem {
  label: string;
}

describe('documents and language features', { timeout: 180_000 }, () => {
  let d: Daemon | undefined;
  const S = 'it-docs';
  const uri = 'file:///rb-it/documents/demo.py';

  before(async () => {
    d = await Daemon.start({ label: 'docs', initializationOptions: defaultOptions() });
  });

  after(async () => {
    if (d !== undefined) {
      assert.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('capabilities: incremental sync, completion, hover, signature help, code lenses, symbols', withDaemon(() => d!, async (d) => {
    const caps = d.initializeResult.capabilities as Record<string, unknown> & {
      textDocumentSync?: { change?: number; openClose?: boolean } | number;
      executeCommandProvider?: { commands: string[] };
    };
    const sync = caps.textDocumentSync;
    assert.equal(typeof sync === 'object' ? sync.change : sync, 2);
    for (const provider of ['completionProvider', 'hoverProvider', 'signatureHelpProvider', 'codeLensProvider', 'documentSymbolProvider']) {
      assert.ok(caps[provider], provider);
    }
    assert.ok(caps.executeCommandProvider?.commands.includes(P.SERVER_RUN_CELL));
    assert.ok(caps.executeCommandProvider?.commands.includes(P.SERVER_RUN_ABOVE));
  }));

  test('an opened document is bound; its cells from the default markers; runs bind it; bindDocument rebinds', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    await d.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'python', version: 1, text: TEXT },
    });
    const opened = await d.waitFor(() => d.events.documentBounds.find((b) => b.uri === uri), 'documentBound after didOpen');
    assert.equal(opened.session, d.serverInfo.defaultSession);

    const at = await d.api.cellAt(uri, { line: 4, character: 2 });
    assert.ok(at.cell, JSON.stringify(at));
    assert.equal(at.cell.title, 'setup');
    assert.deepEqual(at.cell.codeRange, { start: { line: 2, character: 0 }, end: { line: 6, character: 0 } });
    assert.equal(at.cell.code, TEXT.split('\n').slice(2, 6).join('\n'));
    assert.deepEqual(at.next, { line: 8, character: 0 });
    assert.deepEqual(at.above.map((c) => c.code), ['import os']);
    const none = await d.api.cellAt('file:///rb-it/not-open.py', { line: 0, character: 0 });
    assert.deepEqual(none, { cell: null, next: null, above: [] });

    const lenses = await d.connection.sendRequest<Array<{ range: P.Range; command: { title: string; command: string; arguments: unknown[] } }>>(
      'textDocument/codeLens', { textDocument: { uri } },
    );
    const runCell = lenses.filter((l) => l.command.command === P.SERVER_RUN_CELL);
    assert.deepEqual(runCell.map((l) => l.range.start.line), [1, 7]);
    assert.ok(runCell.every((l) => /Run Cell/.test(l.command.title)));
    assert.deepEqual(runCell[1].command.arguments, [{ uri, line: 7 }]);

    // the key binding's path: the cell from cellAt, run with uri + codeRange
    await d.api.openSession({ name: S });
    const result = await d.api.run({ session: S, code: at.cell.code, uri, range: at.cell.codeRange, languageId: 'python' });
    assert.equal(result.status, 'finished');
    await d.waitFor(() => d.events.documentBounds.find((b) => b.uri === uri && b.session === S), 'documentBound after a run in another session');

    const bound = await d.api.bindDocument(uri, 'elsewhere');
    assert.deepEqual(bound, { uri, session: 'elsewhere' });
    await d.waitFor(() => d.events.documentBounds.find((b) => b.uri === uri && b.session === 'elsewhere'), 'documentBound after bindDocument');
    assert.deepEqual(await d.api.bindDocument(uri, S), { uri, session: S });
    const bad = await rpcFailure(d.api.bindDocument(42 as unknown as string, S));
    assert.equal(bad.code, P.ErrorCodes.InvalidParams);
  }));

  test('runbridge/variables lists what the runs defined, no private names, no modules, functions or classes', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const vars = await d.api.variables(S);
    assert.equal(vars.session, S);
    const v = vars.variables.find((x) => x.name === 'kernel_only_name_42');
    assert.ok(v, JSON.stringify(vars.variables));
    assert.deepEqual(v, { name: 'kernel_only_name_42', type: 'int', value: '1', size: null });
    assert.ok(!vars.variables.some((x) => x.name === 'rb_documented'), 'a function is code, not data');
    assert.ok(!vars.variables.some((x) => x.name.startsWith('_') || x.name === 'os'), 'no private names, no modules');
    const missing = await rpcFailure(d.api.variables('it-docs-never-opened'));
    assert.equal(missing.code, P.ErrorCodes.SessionNotFound);
  }));

  test('completion and hover come from the live session', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    // the user types a new line at the end (incremental didChange)
    await d.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 9, character: 0 }, end: { line: 9, character: 0 } }, text: 'kernel_only_n' }],
    });
    // The kernel's first completion can miss the daemon's 1 s budget (IPython loads its
    // completer): that answer is empty, as the editor's is; asking again, as typing does, gets it.
    const complete = async (): Promise<CompletionItem[]> => {
      const completion = await d.connection.sendRequest<{ isIncomplete: boolean; items: CompletionItem[] } | CompletionItem[]>(
        'textDocument/completion', { textDocument: { uri }, position: { line: 9, character: 13 } },
      );
      if (!Array.isArray(completion)) {
        assert.equal(completion.isIncomplete, true, 'marked incomplete, so editors merge their own sources');
      }
      return Array.isArray(completion) ? completion : completion.items;
    };
    let items: CompletionItem[] = [];
    for (let attempt = 1; attempt <= 20; attempt++) {
      items = await complete();
      if (items.some((i) => i.label === 'kernel_only_name_42')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(items.some((i) => i.label === 'kernel_only_name_42'), JSON.stringify(items.slice(0, 20)));

    // (a kernel that answers past the daemon's budget gives an empty hover: ask again)
    let hover: { contents: { kind: string; value: string } } | null = null;
    for (let attempt = 1; attempt <= 10 && !hover; attempt++) {
      hover = await d.connection.sendRequest<{ contents: { kind: string; value: string } } | null>(
        'textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 6 } },
      );
      if (!hover) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(hover, 'a hover on rb_documented');
    assert.match(JSON.stringify(hover.contents), /rb docstring for the hover/);
  }));

  test('the lens command runs its cell in the document session, as a run with uri and range', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const result = await d.connection.sendRequest<P.RunResult>('workspace/executeCommand', {
      command: P.SERVER_RUN_CELL,
      arguments: [{ uri, line: 7 }],
    });
    assert.equal(result.status, 'finished');
    assert.equal(d.events.textOf(result.runId), 'cell says 42\n');
  }));
});
