// Runs code in a session and shows what comes back: text in the session's output
// terminal, media in its panel. An exception's diagnostic on the failing line is the
// daemon's (textDocument/publishDiagnostics, shown by the language client).

import * as vscode from 'vscode';
import { errorMessage, isRpcError } from './api';
import { Daemon } from './daemon';
import { MediaPanels } from './mediaPanel';
import { OutputTerminals } from './outputTerminal';
import { ErrorCodes, OutputParams, RunOptions, RunParams, RunResult } from './protocol';
import { Sessions } from './sessions';
import { renderRecord, runFooter, runHeader } from './core/terminalText';

export interface RunOrigin {
  document: vscode.TextDocument;
  /** The document range the code came from (the daemon places diagnostics relative to it). */
  range: vscode.Range;
}

export interface RunRequest {
  code: string;
  origin?: RunOrigin;
  mode?: 'query' | 'batch';
  options?: RunOptions;
  session?: string;
  /** A short label for the header line (default: the code's first line). */
  label?: string;
}

/** What a run waits for and tells: the window's reattachment to the host (reattach.ts). */
export interface RunAttachment {
  /** Resolves once the sessions' history shown after a (re)connect is written. */
  ready(): Promise<void>;
  /** This window shows `session` (it ran there): replayed after a reload. */
  shown(session: string): void;
}

export class Runner {
  /** Runs started here and not answered yet, per session (Escape in the input box etc.). */
  private readonly active = new Map<string, Set<vscode.CancellationTokenSource>>();

  constructor(
    private readonly daemon: Daemon,
    private readonly sessions: Sessions,
    private readonly outputs: OutputTerminals,
    private readonly media: MediaPanels,
    private readonly attachment: RunAttachment,
  ) {}

  /** A `runbridge/output` notification (live, or replayed from history with `replayed`:
   * then the media panel is never revealed for it). */
  render(params: OutputParams, replayed = false): void {
    const reveal =
      !replayed && vscode.workspace.getConfiguration('runbridge').get<boolean>('showMediaPanel', true);
    for (const record of params.console) {
      const [kind, data] = record;
      const display = record[2];
      const rendered = renderRecord(kind, data);
      if (rendered.clear) {
        this.outputs.clear(params.session);
      }
      if (rendered.media && display?.update) {
        // replaced in the media panel where it stands; no new note in the terminal
        this.media.add(params.session, params.runId, rendered.media.kind, rendered.media.data, false, display);
        continue;
      }
      if (rendered.text) {
        this.outputs.write(params.session, rendered.text);
      }
      if (rendered.media) {
        this.media.add(params.session, params.runId, rendered.media.kind, rendered.media.data, reveal, display);
      }
    }
  }

  async run(request: RunRequest): Promise<RunResult | undefined> {
    const origin = request.origin;
    const session =
      request.session ?? (origin ? this.sessions.forDocument(origin.document) : this.sessions.current);
    if (!request.code.trim() && request.mode !== 'batch') {
      void vscode.window.showInformationMessage('runbridge: nothing to run (the code is empty).');
      return undefined;
    }
    const api = await this.daemon.ensure();
    const params: RunParams = { session, code: request.code, mode: request.mode ?? 'query' };
    if (request.options) {
      params.options = request.options;
    }
    if (origin) {
      params.uri = origin.document.uri.toString();
      params.languageId = origin.document.languageId;
      params.range = {
        start: { line: origin.range.start.line, character: origin.range.start.character },
        end: { line: origin.range.end.line, character: origin.range.end.character },
      };
    }
    return this.shown(session, request.label ?? session, request.code, (token) => api.run(params, token));
  }

  /**
   * A run the daemon starts itself (its `runbridge.server.runCell` / `runAbove` commands,
   * from its code lenses), shown as this window's runs are: the output terminal, a header
   * with `code`, the footer.
   */
  async runBy(session: string, code: string, start: () => Promise<RunResult>): Promise<RunResult | undefined> {
    await this.daemon.ensure();
    return this.shown(session, session, code, () => start());
  }

  private async shown(
    session: string,
    label: string,
    code: string,
    start: (token: vscode.CancellationToken) => Thenable<RunResult>,
  ): Promise<RunResult | undefined> {
    // the session's earlier output (after a reload) comes before this run's
    await this.attachment.ready();
    this.attachment.shown(session);
    this.outputs.show(session);
    this.outputs.write(session, runHeader(label, code));
    const cts = new vscode.CancellationTokenSource();
    const set = this.active.get(session) ?? new Set();
    set.add(cts);
    this.active.set(session, set);
    const started = Date.now();
    try {
      const result = await start(cts.token);
      this.outputs.write(
        session,
        runFooter(result.status, result.exitCode, Date.now() - started, result.message),
      );
      return result;
    } catch (error) {
      if (isRpcError(error) && error.code === ErrorCodes.RequestCancelled) {
        this.outputs.write(session, runFooter('interrupted', 130, Date.now() - started));
        return undefined;
      }
      const message = errorMessage(error);
      this.outputs.write(session, `\x1b[31mrunbridge: ${message}\x1b[39m\r\n`);
      void vscode.window.showErrorMessage(`runbridge: ${message}`);
      return undefined;
    } finally {
      set.delete(cts);
      cts.dispose();
    }
  }

  /** Cancel the runs this window started in `session` (they end interrupted). */
  cancelAll(session: string): void {
    for (const cts of this.active.get(session) ?? []) {
      cts.cancel();
    }
  }
}
