// Remote terminals: a VS Code terminal bound to runbridge/openTerminal, with
// keystrokes, resize and close forwarded to the daemon.

import * as vscode from 'vscode';
import { RunbridgeApi, errorMessage } from './api';
import { TerminalExitParams, TerminalOutputParams } from './protocol';

export function remoteTerminalName(session: string): string {
  return `runbridge terminal: ${session}`;
}

class RemoteTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidClose = this.closeEmitter.event;
  terminalId: string | undefined;
  private exited = false;
  /** Output that arrived before VS Code opened the terminal, or before the id was known. */
  private early: string[] = [];
  private opened = false;
  private size: vscode.TerminalDimensions | undefined;

  constructor(
    private readonly api: () => RunbridgeApi,
    readonly session: string,
    private readonly register: (term: RemoteTerminal) => void,
    private readonly unregister: (term: RemoteTerminal) => void,
  ) {}

  async open(dims: vscode.TerminalDimensions | undefined): Promise<void> {
    this.size = dims;
    this.opened = true;
    this.writeEmitter.fire(`\x1b[2mrunbridge: opening a terminal in session ${this.session}…\x1b[22m\r\n`);
    try {
      this.terminalId = await this.api().openTerminal(this.session, dims?.rows, dims?.columns);
    } catch (error) {
      this.writeEmitter.fire(`\x1b[31mrunbridge: ${errorMessage(error)}\x1b[39m\r\n`);
      this.exited = true;
      return;
    }
    this.register(this);
    for (const text of this.early.splice(0)) {
      this.writeEmitter.fire(text);
    }
    // a resize that came while the terminal was opening
    if (this.size && dims && (this.size.rows !== dims.rows || this.size.columns !== dims.columns)) {
      this.setDimensions(this.size);
    }
  }

  output(data: string): void {
    if (this.opened && this.terminalId) {
      this.writeEmitter.fire(data);
    } else {
      this.early.push(data);
    }
  }

  exit(exitCode: number | null): void {
    this.exited = true;
    this.unregister(this);
    this.writeEmitter.fire(
      `\r\n\x1b[2mrunbridge: the remote shell ended${exitCode === null ? '' : ` (exit code ${exitCode})`}; press any key to close\x1b[22m\r\n`,
    );
  }

  handleInput(data: string): void {
    if (this.exited) {
      this.closeEmitter.fire();
      return;
    }
    if (this.terminalId) {
      void this.api()
        .terminalInput(this.terminalId, data)
        .catch(() => undefined);
    }
  }

  setDimensions(dims: vscode.TerminalDimensions): void {
    this.size = dims;
    if (this.terminalId && !this.exited) {
      void this.api()
        .resizeTerminal(this.terminalId, dims.rows, dims.columns)
        .catch(() => undefined);
    }
  }

  close(): void {
    this.unregister(this);
    if (this.terminalId && !this.exited) {
      this.exited = true;
      void this.api()
        .closeTerminal(this.terminalId)
        .catch(() => undefined);
    }
  }
}

export class RemoteTerminals implements vscode.Disposable {
  private readonly byId = new Map<string, RemoteTerminal>();
  private readonly terminals = new Set<vscode.Terminal>();

  constructor(private readonly api: () => RunbridgeApi) {}

  open(session: string): vscode.Terminal {
    const pty = new RemoteTerminal(
      this.api,
      session,
      (t) => t.terminalId && this.byId.set(t.terminalId, t),
      (t) => t.terminalId && this.byId.delete(t.terminalId),
    );
    const terminal = vscode.window.createTerminal({
      name: remoteTerminalName(session),
      pty,
      iconPath: new vscode.ThemeIcon('remote'),
    });
    this.terminals.add(terminal);
    terminal.show();
    return terminal;
  }

  output(params: TerminalOutputParams): void {
    this.byId.get(params.terminalId)?.output(params.data);
  }

  exit(params: TerminalExitParams): void {
    this.byId.get(params.terminalId)?.exit(params.exitCode);
  }

  dispose(): void {
    for (const terminal of this.terminals) {
      terminal.dispose();
    }
    this.terminals.clear();
    this.byId.clear();
  }
}
