// The sessions the daemon reported, the session of each document (the daemon's
// `runbridge/documentBound`), the window's session (for documents not bound yet and
// commands without a document), and the status bar item that shows the active
// editor's session (click to switch).

import * as vscode from 'vscode';
import { DocumentSessions } from './core/documentSessions';
import { DocumentBound, SessionInfo, SessionState } from './protocol';

const STATE_ICONS: Record<SessionState, string> = {
  starting: '$(loading~spin)',
  idle: '$(circle-large-outline)',
  busy: '$(sync~spin)',
  dead: '$(error)',
  closed: '$(circle-slash)',
};

export class Sessions implements vscode.Disposable {
  private readonly infos = new Map<string, SessionInfo>();
  private readonly item: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<SessionInfo>();
  readonly onDidChange = this.changed.event;
  private readonly currentChanged = new vscode.EventEmitter<string>();
  /** The active editor's session (the one the status bar shows) is another one. */
  readonly onDidChangeCurrent = this.currentChanged.event;
  private rendered: string | undefined;
  /** The window's session: documents not bound yet get it, commands without a document use it. */
  private windowName: string;
  private readonly documents = new DocumentSessions();
  private daemonDown: string | undefined;
  private readonly editorSubscription: vscode.Disposable;

  constructor(
    private readonly state: vscode.Memento,
    defaultSession: string,
  ) {
    this.windowName = state.get<string>('runbridge.currentSession') ?? defaultSession;
    this.item = vscode.window.createStatusBarItem('runbridge.session', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'runbridge session';
    this.item.command = 'runbridge.selectSession';
    this.editorSubscription = vscode.window.onDidChangeActiveTextEditor(() => this.render());
    this.render();
    this.item.show();
  }

  /** The active editor's session (as the daemon bound its document), else the window's. */
  get current(): string {
    const document = vscode.window.activeTextEditor?.document;
    return (document && this.documents.get(document.uri.toString())) ?? this.windowName;
  }

  /** The session runs and language features of `document` use. */
  forDocument(document: vscode.TextDocument): string {
    return this.documents.get(document.uri.toString()) ?? this.windowName;
  }

  /** The user picked `name`: the window's session from now on, and `document`'s when given
   * (the caller sends runbridge/bindDocument). */
  async select(name: string, document?: vscode.TextDocument): Promise<void> {
    this.windowName = name;
    if (document) {
      this.documents.claim(document.uri.toString(), name);
    }
    await this.state.update('runbridge.currentSession', name);
    this.render();
  }

  /**
   * `runbridge/documentBound`: shown when it is the active editor's document. Returns the
   * session to bind the document to instead (see DocumentSessions.update), if any.
   */
  documentBound(params: DocumentBound, daemonDefault: string | undefined): string | undefined {
    const rebind = this.documents.update(params, daemonDefault, this.windowName);
    if (rebind !== undefined) {
      this.documents.claim(params.uri, rebind);
    }
    this.render();
    return rebind;
  }

  /** A new connection to the daemon: it knows none of this window's bindings yet. */
  forgetBindings(): void {
    this.documents.clear();
    this.render();
  }

  info(name: string): SessionInfo | undefined {
    return this.infos.get(name);
  }

  all(): SessionInfo[] {
    return [...this.infos.values()].filter((s) => s.state !== 'closed');
  }

  update(info: SessionInfo): void {
    if (info.state === 'closed') {
      this.infos.delete(info.name);
    } else {
      this.infos.set(info.name, info);
    }
    this.changed.fire(info);
    if (info.name === this.current) {
      this.render();
    }
    void vscode.commands.executeCommand(
      'setContext',
      'runbridge.busy',
      [...this.infos.values()].some((s) => s.state === 'busy'),
    );
  }

  replaceAll(infos: SessionInfo[]): void {
    this.infos.clear();
    for (const info of infos) {
      this.infos.set(info.name, info);
    }
    this.render();
  }

  /** The daemon stopped (or could not start): say so in the status bar. */
  setDaemonDown(reason: string | undefined): void {
    this.daemonDown = reason;
    if (reason) {
      this.infos.clear();
    }
    this.render();
  }

  private render(): void {
    const name = this.current;
    if (name !== this.rendered) {
      this.rendered = name;
      this.currentChanged.fire(name);
    }
    const info = this.infos.get(name);
    if (this.daemonDown) {
      this.item.text = `$(debug-disconnect) runbridge: ${name}`;
      this.item.tooltip = `runbridge daemon is not running: ${this.daemonDown}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    this.item.backgroundColor =
      info?.state === 'dead' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    if (!info) {
      this.item.text = `$(circle-large-outline) runbridge: ${name}`;
      this.item.tooltip = `Session ${name} (opens on the first run). Click to switch.`;
      return;
    }
    const status = info.backendStatus && info.state === 'starting' ? ` ${info.backendStatus}` : '';
    this.item.text = `${STATE_ICONS[info.state]} runbridge: ${info.name} (${info.profile}) ${info.state}${status}`;
    this.item.tooltip = new vscode.MarkdownString(
      [
        `**${info.name}** — ${info.state}${info.backendStatus ? ` (${info.backendStatus})` : ''}`,
        `profile \`${info.profile}\`, backend \`${info.backend}\`${info.image ? `, image \`${info.image}\`` : ''}`,
        info.workdir !== null ? `work folder \`${info.workdir}\`` : 'work folder unknown (an attached kernel of no notebook)',
        ...(info.attached ? ['Attached: closing it lets go of it (it keeps running on the server).'] : []),
        'Click to switch session.',
      ].join('\n\n'),
    );
  }

  dispose(): void {
    this.editorSubscription.dispose();
    this.item.dispose();
    this.changed.dispose();
    this.currentChanged.dispose();
  }
}
