// One output terminal per session, built on a Pseudoterminal so ANSI colours and
// `\r` progress bars render as they would in a shell. Text is paced through an
// OutputBuffer so a flood never freezes the window.

import * as vscode from 'vscode';
import { OutputBuffer } from './core/outputBuffer';

export function outputTerminalName(session: string): string {
  return `runbridge: ${session}`;
}

class OutputTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly closeEmitter = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closeEmitter.event;
  /** Text written before VS Code opened the terminal. */
  private early: string[] = [];
  private opened = false;
  readonly buffer: OutputBuffer;
  readonly terminal: vscode.Terminal;

  constructor(
    readonly session: string,
    private readonly onUserClose: () => void,
  ) {
    this.buffer = new OutputBuffer((text) => this.emit(text));
    this.terminal = vscode.window.createTerminal({
      name: outputTerminalName(session),
      pty: this,
      iconPath: new vscode.ThemeIcon('output'),
      isTransient: true,
    });
  }

  open(): void {
    this.opened = true;
    for (const text of this.early.splice(0)) {
      this.writeEmitter.fire(text);
    }
  }

  close(): void {
    this.buffer.dispose();
    this.onUserClose();
  }

  handleInput(data: string): void {
    // Ctrl+C in the output terminal interrupts the session's run.
    if (data === '\x03') {
      void vscode.commands.executeCommand('runbridge.interrupt', this.session);
    }
  }

  write(text: string): void {
    this.buffer.write(text);
  }

  clear(): void {
    this.buffer.clear();
    this.emit('\x1b[2J\x1b[3J\x1b[H');
  }

  private emit(text: string): void {
    if (this.opened) {
      this.writeEmitter.fire(text);
    } else {
      this.early.push(text);
    }
  }

  dispose(): void {
    this.buffer.dispose();
    this.terminal.dispose();
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }
}

export class OutputTerminals implements vscode.Disposable {
  private readonly terminals = new Map<string, OutputTerminal>();

  private get(session: string): OutputTerminal {
    let term = this.terminals.get(session);
    if (!term) {
      const created = new OutputTerminal(session, () => {
        if (this.terminals.get(session) === created) {
          this.terminals.delete(session);
        }
      });
      term = created;
      this.terminals.set(session, term);
    }
    return term;
  }

  write(session: string, text: string): void {
    this.get(session).write(text);
  }

  clear(session: string): void {
    this.terminals.get(session)?.clear();
  }

  show(session: string, preserveFocus = true): void {
    this.get(session).terminal.show(preserveFocus);
  }

  has(session: string): boolean {
    return this.terminals.has(session);
  }

  dispose(): void {
    for (const term of this.terminals.values()) {
      term.dispose();
    }
    this.terminals.clear();
  }
}
