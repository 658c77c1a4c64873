// What a window does each time it (re)connects to the session host: list the sessions,
// follow those it shows, replay their last runs from runbridge/history into their output
// terminals (media into their media panels), stitched with the live output that goes on,
// and reopen or redraw its remote terminals. "Shows": the current session and the
// sessions this window ran in, remembered in the workspace state across reloads.

import * as vscode from 'vscode';
import { RunbridgeApi, errorMessage } from './api';
import { Daemon } from './daemon';
import {
  HistorySettings,
  historyParams,
  missedNote,
  replayBanner,
  replayEnd,
  replayedFooter,
  SessionStream,
} from './core/replay';
import { runHeader } from './core/terminalText';
import { OutputTerminals } from './outputTerminal';
import { HistoryResult, OutputParams } from './protocol';
import { RemoteTerminals } from './remoteTerminal';
import { RunAttachment } from './runner';
import { Sessions } from './sessions';

const SHOWN_KEY = 'runbridge.shownSessions';
/** A run waits at most this long for the replay before it goes on anyway. */
const READY_TIMEOUT_MS = 15_000;

export function historySettings(): HistorySettings {
  const config = vscode.workspace.getConfiguration('runbridge');
  return {
    runs: config.get<number>('history.runs', 5),
    maxMb: config.get<number>('history.maxMb', 1),
  };
}

export class Reattachment implements RunAttachment, vscode.Disposable {
  private readonly streams = new Map<string, SessionStream>();
  private syncing: Promise<void> = Promise.resolve();
  private readonly subscription: vscode.Disposable;

  constructor(
    daemon: Daemon,
    private readonly state: vscode.Memento,
    private readonly sessions: Sessions,
    private readonly outputs: OutputTerminals,
    private readonly terminals: RemoteTerminals,
    private readonly render: (params: OutputParams, replayed: boolean) => void,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = daemon.onDidConnect((api) => {
      this.syncing = this.sync(api).catch((error: unknown) => {
        log.warn(`reattaching to the daemon's sessions: ${errorMessage(error)}`);
      });
    });
  }

  ready(): Promise<void> {
    return Promise.race([this.syncing, new Promise<void>((r) => setTimeout(r, READY_TIMEOUT_MS))]);
  }

  shown(session: string): void {
    const names = this.shownSessions().filter((n) => n !== session);
    void this.state.update(SHOWN_KEY, [...names, session].slice(-20));
  }

  /** A live `runbridge/output` notification. */
  output(params: OutputParams): void {
    for (const p of this.stream(params.session).live(params)) {
      this.render(p, false);
    }
  }

  /** Follow `session` and show its history (a session picked in this window). */
  async showSession(api: RunbridgeApi, session: string): Promise<void> {
    this.shown(session);
    const caught = this.catchUp(api, session);
    // a run started meanwhile waits for it too, so its output comes after this history
    this.syncing = Promise.all([this.syncing, caught]).then(
      () => undefined,
      () => undefined,
    );
    await caught;
  }

  private shownSessions(): string[] {
    return this.state.get<string[]>(SHOWN_KEY, []);
  }

  private stream(session: string): SessionStream {
    let stream = this.streams.get(session);
    if (!stream) {
      stream = new SessionStream();
      this.streams.set(session, stream);
    }
    return stream;
  }

  private async sync(api: RunbridgeApi): Promise<void> {
    const open = await api.listSessions();
    this.sessions.replaceAll(open);
    const names = new Set(open.filter((s) => s.state !== 'closed').map((s) => s.name));
    const wanted = new Set([...this.shownSessions(), this.sessions.current]);
    const targets = [...wanted].filter((n) => names.has(n));
    await Promise.all([
      ...targets.map((session) => this.catchUp(api, session)),
      this.terminals.reattach(api).catch((error: unknown) => {
        this.log.warn(`reattaching the remote terminals: ${errorMessage(error)}`);
      }),
    ]);
  }

  /** Follow the session, fetch what this window has not shown of it, write it, go live. */
  private async catchUp(api: RunbridgeApi, session: string): Promise<void> {
    const stream = this.stream(session);
    const reconnect = stream.position !== undefined;
    const params = historyParams(session, historySettings(), stream.position);
    stream.hold();
    let history: HistoryResult | undefined;
    try {
      await api.follow(session);
      if (params) {
        history = await api.history(params);
      }
    } catch (error) {
      this.log.warn(`history of session ${session}: ${errorMessage(error)}`);
    }
    const stitched = stream.release(history);
    if (stitched.missed) {
      this.outputs.write(session, missedNote(session));
    }
    if (stitched.runs.length > 0) {
      this.outputs.write(session, replayBanner(session, stitched, reconnect));
      for (const run of stitched.runs) {
        if (!reconnect || run.batches[0]?.seq === 1 || run.batches.length === 0) {
          this.outputs.write(session, runHeader(session, run.code));
        }
        for (const batch of run.batches) {
          this.render({ session, runId: run.runId, seq: batch.seq, console: batch.console }, true);
        }
        this.outputs.write(session, replayedFooter(run));
      }
      this.outputs.write(session, replayEnd());
    }
    for (const p of stitched.live) {
      this.render(p, false);
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
