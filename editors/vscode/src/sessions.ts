// The sessions the daemon reported, the one the user works in now, and the status
// bar item that shows it (click to switch).

import * as vscode from 'vscode';
import { SessionInfo, SessionState } from './protocol';

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
  private currentName: string;
  private daemonDown: string | undefined;

  constructor(
    private readonly state: vscode.Memento,
    defaultSession: string,
  ) {
    this.currentName = state.get<string>('runbridge.currentSession') ?? defaultSession;
    this.item = vscode.window.createStatusBarItem('runbridge.session', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'runbridge session';
    this.item.command = 'runbridge.selectSession';
    this.render();
    this.item.show();
  }

  get current(): string {
    return this.currentName;
  }

  async select(name: string): Promise<void> {
    this.currentName = name;
    await this.state.update('runbridge.currentSession', name);
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
    if (info.name === this.currentName) {
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
    const info = this.infos.get(this.currentName);
    if (this.daemonDown) {
      this.item.text = `$(debug-disconnect) runbridge: ${this.currentName}`;
      this.item.tooltip = `runbridge daemon is not running: ${this.daemonDown}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    this.item.backgroundColor =
      info?.state === 'dead' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    if (!info) {
      this.item.text = `$(circle-large-outline) runbridge: ${this.currentName}`;
      this.item.tooltip = `Session ${this.currentName} (opens on the first run). Click to switch.`;
      return;
    }
    const status = info.backendStatus && info.state === 'starting' ? ` ${info.backendStatus}` : '';
    this.item.text = `${STATE_ICONS[info.state]} runbridge: ${info.name} (${info.profile}) ${info.state}${status}`;
    this.item.tooltip = new vscode.MarkdownString(
      [
        `**${info.name}** — ${info.state}${info.backendStatus ? ` (${info.backendStatus})` : ''}`,
        `profile \`${info.profile}\`, backend \`${info.backend}\`${info.image ? `, image \`${info.image}\`` : ''}`,
        `work folder \`${info.workdir}\``,
        'Click to switch session.',
      ].join('\n\n'),
    );
  }

  dispose(): void {
    this.item.dispose();
    this.changed.dispose();
  }
}
