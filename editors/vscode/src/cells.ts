// Cells, as the daemon finds them (its marker rules: the runbridge.cellMarkers setting).
// The daemon's code lenses run its runbridge.server.runCell / runAbove commands; the key
// bindings ask it which cell holds the cursor (runbridge/cellAt) and run that cell here.
// Also the `runbridge.enabledForLanguage` and `runbridge.hasCells` context keys.

import * as vscode from 'vscode';
import { Daemon } from './daemon';
import { CellAtResult, CellCommandArgs, Range, RunResult, SERVER_RUN_ABOVE, SERVER_RUN_CELL } from './protocol';
import { Runner } from './runner';
import { Sessions } from './sessions';

export function enabledFor(languageId: string): boolean {
  const languages = vscode.workspace.getConfiguration('runbridge').get<string[]>('languages', []);
  return languages.includes(languageId);
}

/** The active editor; else a warning to open a file first. */
export function editorOrWarn(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage('runbridge: open a file first.');
  }
  return editor;
}

/** The document a command was given (an explorer or editor-title uri), else the active one. */
export async function documentFor(uri: unknown): Promise<vscode.TextDocument | undefined> {
  if (uri instanceof vscode.Uri) {
    return vscode.workspace.openTextDocument(uri);
  }
  return editorOrWarn()?.document;
}

function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export class CellRunner {
  constructor(
    private readonly daemon: Daemon,
    private readonly runner: Runner,
    private readonly sessions: Sessions,
  ) {}

  private async cellAt(document: vscode.TextDocument, line: number): Promise<CellAtResult> {
    const api = await this.daemon.ensure();
    return api.cellAt(document.uri.toString(), { line, character: 0 });
  }

  /** The line a command acts on: its argument (a lens), else the cursor's in `document`. */
  private lineOf(document: vscode.TextDocument, line: unknown): number {
    if (typeof line === 'number') {
      return line;
    }
    const editor = vscode.window.activeTextEditor;
    return editor?.document === document ? editor.selection.active.line : 0;
  }

  /** Run the cell at the cursor (or `line`); with `advance`, move the cursor to the next cell. */
  async runCell(uri?: unknown, line?: unknown, advance = false): Promise<void> {
    const document = await documentFor(uri);
    if (!document) {
      return;
    }
    const at = await this.cellAt(document, this.lineOf(document, line));
    const editor = vscode.window.activeTextEditor;
    if (advance && editor?.document === document && at.next) {
      const pos = new vscode.Position(at.next.line, at.next.character);
      editor.selection = new vscode.Selection(pos, pos);
      editor.revealRange(new vscode.Range(pos, pos));
    }
    if (!at.cell) {
      // no cell here (a document without markers): the whole document, as Run File
      const last = Math.max(0, document.lineCount - 1);
      const range = new vscode.Range(0, 0, last, document.lineAt(last).text.length);
      await this.runner.run({ code: document.getText(), origin: { document, range } });
      return;
    }
    if (!at.cell.code.trim()) {
      void vscode.window.showInformationMessage('runbridge: this cell is empty.');
      return;
    }
    await this.runner.run({ code: at.cell.code, origin: { document, range: toRange(at.cell.codeRange) } });
  }

  /** Run the cells above the cursor's (or `line`'s) cell, one by one, stopping at a failure. */
  async runAbove(uri?: unknown, line?: unknown): Promise<void> {
    const document = await documentFor(uri);
    if (!document) {
      return;
    }
    const at = await this.cellAt(document, this.lineOf(document, line));
    for (const cell of at.above) {
      if (!cell.code.trim()) {
        continue;
      }
      const result = await this.runner.run({ code: cell.code, origin: { document, range: toRange(cell.codeRange) } });
      if (!result || result.status !== 'finished' || result.exitCode) {
        return; // stop at the first cell that failed
      }
    }
  }

  /**
   * The language client's executeCommand middleware: the daemon's cell commands (from its
   * code lenses) run in the daemon, shown in the output terminal as the window's own runs.
   */
  async serverCommand(command: string, args: unknown[], next: () => Promise<unknown>): Promise<unknown> {
    const arg = args[0] as Partial<CellCommandArgs> | undefined;
    if (
      (command !== SERVER_RUN_CELL && command !== SERVER_RUN_ABOVE) ||
      typeof arg?.uri !== 'string' ||
      typeof arg.line !== 'number'
    ) {
      return next();
    }
    const uri = arg.uri;
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    const session = document ? this.sessions.forDocument(document) : this.sessions.current;
    let code = '';
    const api = this.daemon.current();
    if (api) {
      const at = await api.cellAt(uri, { line: arg.line, character: 0 }).catch(() => undefined);
      code = (command === SERVER_RUN_CELL ? (at?.cell ? [at.cell] : []) : (at?.above ?? []))
        .map((c) => c.code)
        .join('\n');
    }
    return this.runner.runBy(session, code, () => next() as Promise<RunResult>);
  }
}

/**
 * Keep `runbridge.enabledForLanguage` and `runbridge.hasCells` in step with the active
 * editor. The daemon starts (quietly, once) when an editor of a runbridge language is
 * active: its language features and code lenses need it.
 */
export function trackContext(daemon: Daemon): vscode.Disposable {
  let autoStarted = false;
  let asked = 0;
  const update = (): void => {
    const document = vscode.window.activeTextEditor?.document;
    const enabled = document !== undefined && enabledFor(document.languageId);
    void vscode.commands.executeCommand('setContext', 'runbridge.enabledForLanguage', enabled);
    if (enabled && !daemon.running && !autoStarted) {
      autoStarted = true;
      void daemon.ensure(true).then(update, () => undefined);
    }
    const api = daemon.current();
    if (!enabled || !document || !api) {
      void vscode.commands.executeCommand('setContext', 'runbridge.hasCells', false);
      return;
    }
    const mine = ++asked;
    api.cellAt(document.uri.toString(), { line: 0, character: 0 }).then(
      (at) => {
        if (mine === asked) {
          void vscode.commands.executeCommand('setContext', 'runbridge.hasCells', at.cell !== null || at.next !== null);
        }
      },
      () => undefined,
    );
  };
  let timer: NodeJS.Timeout | undefined;
  const later = (): void => {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(update, 200);
  };
  update();
  const subscriptions = [
    vscode.window.onDidChangeActiveTextEditor(update),
    daemon.onDidConnect(() => later()),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === vscode.window.activeTextEditor?.document) {
        later();
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('runbridge')) {
        update();
      }
    }),
  ];
  return new vscode.Disposable(() => {
    if (timer) {
      clearTimeout(timer);
    }
    subscriptions.forEach((s) => s.dispose());
  });
}
