// The "Runbridge: Variables" view: `runbridge/variables` of the active editor's session,
// asked again when the view is shown, when the active editor's session changes, when a
// run of that session ends (it goes idle) and on its refresh button.

import * as vscode from 'vscode';
import { variableRows, variablesErrorRow, VariableRow } from './core/variables';
import { Daemon } from './daemon';
import { Sessions } from './sessions';

export const VARIABLES_VIEW = 'runbridge.variables';

export class VariablesView implements vscode.TreeDataProvider<VariableRow>, vscode.Disposable {
  private rows: VariableRow[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<VariableRow>;
  private readonly subscriptions: vscode.Disposable[];
  /** The latest request: older answers are dropped. */
  private asked = 0;
  private shownSession: string | undefined;

  constructor(
    private readonly daemon: Daemon,
    private readonly sessions: Sessions,
  ) {
    this.view = vscode.window.createTreeView(VARIABLES_VIEW, { treeDataProvider: this });
    this.subscriptions = [
      this.view,
      this.changed,
      this.view.onDidChangeVisibility(() => void this.refresh()),
      sessions.onDidChangeCurrent(() => void this.refresh()),
      sessions.onDidChange((info) => {
        if (info.name === this.sessions.current && info.state !== 'busy' && info.state !== 'starting') {
          void this.refresh(); // a run ended (idle), or the session closed or died
        }
      }),
      daemon.onDidChangeState(() => void this.refresh()),
    ];
  }

  getTreeItem(row: VariableRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.message ? 'info' : 'symbol-variable');
    return item;
  }

  getChildren(element?: VariableRow): VariableRow[] {
    return element ? [] : this.rows;
  }

  /** Ask the daemon again (only while the view is visible; nothing starts a daemon). */
  async refresh(): Promise<void> {
    if (!this.view.visible) {
      return;
    }
    const mine = ++this.asked;
    const session = this.sessions.current;
    const api = this.daemon.current();
    let rows: VariableRow[];
    if (!api) {
      rows = [{ label: 'the runbridge daemon is not running', description: '', tooltip: '', message: true }];
    } else {
      try {
        rows = variableRows(await api.variables(session));
      } catch (error) {
        rows = [variablesErrorRow(session, error)];
      }
    }
    if (mine !== this.asked) {
      return;
    }
    this.rows = rows;
    this.shownSession = session;
    this.view.description = session;
    this.changed.fire();
  }

  /** The session whose variables are shown (for tests and the status of the view). */
  get session(): string | undefined {
    return this.shownSession;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
  }
}
