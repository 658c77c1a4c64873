// Remote terminals: a VS Code terminal bound to a terminal of the session host
// (runbridge/openTerminal, or runbridge/attachTerminal for one that already runs), with
// keystrokes, resize and close forwarded. The host keeps its terminals when a window
// reloads or quits; the ids this window shows are remembered (workspace state), so the
// next window on this folder reopens them with their recent output. Closing the tab
// ends the shell.

import * as vscode from 'vscode';
import { RunbridgeApi, errorMessage } from './api';
import { ListedTerminal, terminalsToReopen } from './core/replay';
import { TerminalExitParams, TerminalOutputParams } from './protocol';

export function remoteTerminalName(session: string): string {
  return `runbridge terminal: ${session}`;
}

const REMEMBERED_KEY = 'runbridge.remoteTerminals';

class RemoteTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidClose = this.closeEmitter.event;
  terminalId: string | undefined;
  exited = false;
  /** Output that arrived before VS Code opened the terminal, or before the id was known. */
  private early: string[] = [];
  private opened = false;
  private size: vscode.TerminalDimensions | undefined;

  constructor(
    private readonly api: () => RunbridgeApi,
    readonly session: string,
    private readonly register: (term: RemoteTerminal) => void,
    private readonly unregister: (term: RemoteTerminal) => void,
    /** A terminal of the host to attach to (else a new one is opened). */
    private readonly attachTo?: string,
  ) {}

  async open(dims: vscode.TerminalDimensions | undefined): Promise<void> {
    this.size = dims;
    this.opened = true;
    let replay = '';
    try {
      if (this.attachTo) {
        // registered first: live output that comes with the reply is kept in `early`
        this.terminalId = this.attachTo;
        this.register(this);
        replay = (await this.api().attachTerminal(this.attachTo)).replay;
      } else {
        this.writeEmitter.fire(`\x1b[2mrunbridge: opening a terminal in session ${this.session}…\x1b[22m\r\n`);
        this.terminalId = await this.api().openTerminal(this.session, dims?.rows, dims?.columns);
        this.register(this);
      }
    } catch (error) {
      this.writeEmitter.fire(`\x1b[31mrunbridge: ${errorMessage(error)}\x1b[39m\r\n`);
      this.exited = true;
      this.unregister(this);
      return;
    }
    this.ready = true;
    this.writeEmitter.fire(replay + this.early.splice(0).join(''));
    // a resize that came while the terminal was opening, or this window's size on attach
    if (this.size && (this.attachTo || (dims && (this.size.rows !== dims.rows || this.size.columns !== dims.columns)))) {
      this.setDimensions(this.size);
    }
  }

  private ready = false;

  output(data: string): void {
    if (this.opened && this.ready) {
      this.writeEmitter.fire(data);
    } else {
      this.early.push(data);
    }
  }

  /** Show the terminal's recent output again (after a reconnect: what the screen missed). */
  redraw(replay: string): void {
    if (this.ready) {
      this.writeEmitter.fire('\x1b[2J\x1b[3J\x1b[H' + replay);
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
    if (this.terminalId && !this.exited && this.ready) {
      void this.api()
        .resizeTerminal(this.terminalId, dims.rows, dims.columns)
        .catch(() => undefined);
    }
  }

  close(): void {
    // What ends the shell is decided in RemoteTerminals (closing the tab does; a window
    // that reloads or quits does not).
  }
}

export class RemoteTerminals implements vscode.Disposable {
  private readonly byId = new Map<string, RemoteTerminal>();
  private readonly ptys = new Map<vscode.Terminal, RemoteTerminal>();
  private shuttingDown = false;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly api: () => RunbridgeApi,
    private readonly state: vscode.Memento,
  ) {
    this.subscription = vscode.window.onDidCloseTerminal((terminal) => this.closed(terminal));
  }

  /** A new terminal of `session` (runbridge/openTerminal). */
  open(session: string): vscode.Terminal {
    return this.create(session, undefined, true);
  }

  /** The ids of the host's terminals shown here now. */
  openIds(): string[] {
    return [...this.byId.keys()];
  }

  /**
   * After a (re)connect: reattach the terminals open here (their screen redrawn from the
   * host's replay; those that ended are said to have ended), then reopen the terminals
   * this window showed before a reload that still run.
   */
  async reattach(api: RunbridgeApi): Promise<void> {
    const listed: ListedTerminal[] = await api.listTerminals();
    const running = new Set(listed.map((t) => t.terminalId));
    for (const [id, pty] of [...this.byId]) {
      if (!running.has(id)) {
        pty.exit(null);
        continue;
      }
      try {
        pty.redraw((await api.attachTerminal(id)).replay);
      } catch {
        pty.exit(null);
      }
    }
    const reopen = terminalsToReopen(listed, this.remembered(), this.byId.keys());
    for (const t of reopen) {
      this.create(t.session, t.terminalId, false);
    }
    // forget what no longer runs
    void this.state.update(
      REMEMBERED_KEY,
      this.remembered().filter((id) => running.has(id)),
    );
  }

  output(params: TerminalOutputParams): void {
    this.byId.get(params.terminalId)?.output(params.data);
  }

  exit(params: TerminalExitParams): void {
    this.byId.get(params.terminalId)?.exit(params.exitCode);
  }

  private create(session: string, attachTo: string | undefined, show: boolean): vscode.Terminal {
    const pty = new RemoteTerminal(
      this.api,
      session,
      (t) => {
        if (t.terminalId) {
          this.byId.set(t.terminalId, t);
          this.remember(t.terminalId);
        }
      },
      (t) => {
        if (t.terminalId && this.byId.get(t.terminalId) === t) {
          this.byId.delete(t.terminalId);
        }
      },
      attachTo,
    );
    const terminal = vscode.window.createTerminal({
      name: remoteTerminalName(session),
      pty,
      iconPath: new vscode.ThemeIcon('remote'),
      // VS Code cannot bring a pseudoterminal back itself: the next window reattaches it
      isTransient: true,
    });
    this.ptys.set(terminal, pty);
    if (show) {
      terminal.show();
    }
    return terminal;
  }

  /** A terminal tab closed: the user (or a shell that ended) ends it on the host; a window
   * that reloads or quits leaves it running for the next window. */
  private closed(terminal: vscode.Terminal): void {
    const pty = this.ptys.get(terminal);
    if (!pty) {
      return;
    }
    this.ptys.delete(terminal);
    if (this.shuttingDown || terminal.exitStatus?.reason === vscode.TerminalExitReason.Shutdown) {
      return;
    }
    const id = pty.terminalId;
    if (id && this.byId.get(id) === pty) {
      this.byId.delete(id);
    }
    if (id) {
      this.forget(id);
    }
    if (id && !pty.exited) {
      pty.exited = true;
      try {
        void this.api()
          .closeTerminal(id)
          .catch(() => undefined);
      } catch {
        // not connected: the host keeps it; the next window no longer reopens it
      }
    }
  }

  private remembered(): string[] {
    return this.state.get<string[]>(REMEMBERED_KEY, []);
  }

  private remember(id: string): void {
    const ids = this.remembered().filter((x) => x !== id);
    void this.state.update(REMEMBERED_KEY, [...ids, id].slice(-20));
  }

  private forget(id: string): void {
    void this.state.update(
      REMEMBERED_KEY,
      this.remembered().filter((x) => x !== id),
    );
  }

  dispose(): void {
    // The window goes (reload, quit, extension stopped): the host keeps the shells.
    this.shuttingDown = true;
    this.subscription.dispose();
    for (const terminal of this.ptys.keys()) {
      terminal.dispose();
    }
    this.ptys.clear();
    this.byId.clear();
  }
}
