// Cells: `# %%` markers (a regex per language, setting runbridge.cellMarkers),
// code lenses above each marker, and the `runbridge.hasCells` context key.

import * as vscode from 'vscode';
import { Cell, cellText, compileMarker, findCells, markerFor } from './core/cells';

const cache = new WeakMap<vscode.TextDocument, { version: number; cells: Cell[] }>();

export function markerRegex(languageId: string): RegExp {
  const markers = vscode.workspace
    .getConfiguration('runbridge')
    .get<Record<string, string>>('cellMarkers', {});
  return compileMarker(markerFor(languageId, markers));
}

export function documentLines(document: vscode.TextDocument): string[] {
  const lines: string[] = [];
  for (let i = 0; i < document.lineCount; i++) {
    lines.push(document.lineAt(i).text);
  }
  return lines;
}

export function cellsOf(document: vscode.TextDocument): Cell[] {
  const hit = cache.get(document);
  if (hit && hit.version === document.version) {
    return hit.cells;
  }
  let cells: Cell[];
  try {
    cells = findCells(documentLines(document), markerRegex(document.languageId));
  } catch (error) {
    void vscode.window.showErrorMessage(
      `runbridge.cellMarkers: ${error instanceof Error ? error.message : String(error)}`,
    );
    cells = [];
  }
  cache.set(document, { version: document.version, cells });
  return cells;
}

export function enabledFor(languageId: string): boolean {
  const languages = vscode.workspace.getConfiguration('runbridge').get<string[]>('languages', []);
  return languages.includes(languageId);
}

export class CellCodeLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!enabledFor(document.languageId)) {
      return [];
    }
    const lenses: vscode.CodeLens[] = [];
    const lines = documentLines(document);
    for (const cell of cellsOf(document)) {
      if (cell.header === null || !cellText(lines, cell).trim()) {
        continue; // no lens on an empty cell (e.g. a closing marker at the end)
      }
      const range = new vscode.Range(cell.header, 0, cell.header, 0);
      lenses.push(
        new vscode.CodeLens(range, {
          title: '$(play) Run Cell',
          command: 'runbridge.runCell',
          arguments: [document.uri, cell.header],
        }),
        new vscode.CodeLens(range, {
          title: 'Run Above',
          command: 'runbridge.runAbove',
          arguments: [document.uri, cell.header],
        }),
      );
    }
    return lenses;
  }
}

/** Keep `runbridge.enabledForLanguage` and `runbridge.hasCells` in step with the active editor. */
export function trackContext(): vscode.Disposable {
  const update = (): void => {
    const document = vscode.window.activeTextEditor?.document;
    const enabled = document !== undefined && enabledFor(document.languageId);
    void vscode.commands.executeCommand('setContext', 'runbridge.enabledForLanguage', enabled);
    void vscode.commands.executeCommand(
      'setContext',
      'runbridge.hasCells',
      enabled && document !== undefined && cellsOf(document).some((c) => c.header !== null),
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
