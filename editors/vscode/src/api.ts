// The typed runbridge API over any JSON-RPC peer: the extension passes its
// vscode-languageclient LanguageClient, the integration tests a vscode-jsonrpc
// MessageConnection to a daemon they started. No `vscode` import.

import * as P from './protocol';

export interface Disposable {
  dispose(): void;
}

/** Cancellation as both vscode-jsonrpc and VS Code shape it. */
export interface CancellationToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(
    listener: (e: unknown) => unknown,
    thisArgs?: unknown,
    disposables?: Disposable[],
  ): Disposable;
}

/** The part of a LanguageClient / MessageConnection this API needs. */
export interface RpcPeer {
  sendRequest<R>(method: string, params: unknown, token?: CancellationToken): Promise<R>;
  sendNotification(method: string, params: unknown): Promise<void> | void;
  onNotification(method: string, handler: (params: any) => void): Disposable; // eslint-disable-line @typescript-eslint/no-explicit-any
  onRequest(method: string, handler: (params: any, token: CancellationToken) => unknown): Disposable; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RunbridgeEvents {
  output(params: P.OutputParams): void;
  sessionChanged(info: P.SessionInfo): void;
  terminalOutput(params: P.TerminalOutputParams): void;
  terminalExit(params: P.TerminalExitParams): void;
  /** A document of this connection is bound to a session (opened, bound, run elsewhere). */
  documentBound?(params: P.DocumentBound): void;
  /** Answer an input() prompt; `null` cancels (the daemon interrupts the run). */
  input(params: P.InputParams, token: CancellationToken): Promise<string | null>;
}

/** A JSON-RPC error as both libraries raise it. */
export interface RpcErrorLike {
  code: number;
  message: string;
  data?: unknown;
}

export function isRpcError(error: unknown): error is RpcErrorLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as RpcErrorLike).code === 'number' &&
    typeof (error as RpcErrorLike).message === 'string'
  );
}

/** A one-line message for an error from the daemon or the connection. */
export function errorMessage(error: unknown): string {
  if (isRpcError(error)) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export class RunbridgeApi {
  private readonly subscriptions: Disposable[] = [];

  constructor(
    private readonly peer: RpcPeer,
    events: RunbridgeEvents,
  ) {
    this.subscriptions.push(
      peer.onNotification(P.OUTPUT, (p: P.OutputParams) => events.output(p)),
      peer.onNotification(P.SESSION_CHANGED, (p: P.SessionChangedParams) =>
        events.sessionChanged(p.session),
      ),
      peer.onNotification(P.TERMINAL_OUTPUT, (p: P.TerminalOutputParams) =>
        events.terminalOutput(p),
      ),
      peer.onNotification(P.TERMINAL_EXIT, (p: P.TerminalExitParams) => events.terminalExit(p)),
      peer.onNotification(P.DOCUMENT_BOUND, (p: P.DocumentBound) => events.documentBound?.(p)),
      peer.onRequest(
        P.INPUT,
        async (p: P.InputParams, token: CancellationToken): Promise<P.InputResult> => ({
          value: await events.input(p, token),
        }),
      ),
    );
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }

  /**
   * vscode-jsonrpc treats a trailing `undefined` as one more positional parameter
   * (the request would go out as `params: [params, null]`), so a missing token is
   * left out of the call, not passed as undefined.
   */
  private request<R>(method: string, params: unknown, token?: CancellationToken): Promise<R> {
    return token
      ? this.peer.sendRequest<R>(method, params, token)
      : this.peer.sendRequest<R>(method, params);
  }

  openSession(params: P.OpenSessionParams, token?: CancellationToken): Promise<P.SessionInfo> {
    return this.request(P.OPEN_SESSION, params, token);
  }

  async listSessions(): Promise<P.SessionInfo[]> {
    const result = await this.request<{ sessions: P.SessionInfo[] }>(P.LIST_SESSIONS, {});
    return result.sessions;
  }

  /** `destroy`: an attached session is ended on the server too (else only let go of). */
  closeSession(name: string, destroy = false): Promise<P.ClosedSession> {
    return this.request(P.CLOSE_SESSION, destroy ? { name, destroy } : { name });
  }

  /** What runs on a profile's server (default profile when absent), or on every remote
   * profile's (allProfiles), that runbridge did not create. */
  listRemote(params: P.ListRemoteParams = {}): Promise<P.ListRemoteResult> {
    return this.request(P.LIST_REMOTE, params);
  }

  interrupt(session: string): Promise<P.SessionInfo> {
    return this.request(P.INTERRUPT, { session });
  }

  restart(session: string, token?: CancellationToken): Promise<P.SessionInfo> {
    return this.request(P.RESTART, { session }, token);
  }

  /** Cancelling `token` interrupts the run; the promise then rejects with -32800. */
  run(params: P.RunParams, token?: CancellationToken): Promise<P.RunResult> {
    return this.request(P.RUN, params, token);
  }

  /** `workDoneToken`: the daemon reports bytes copied as `$/progress` on it. */
  async upload(
    session: string,
    files: string[],
    dest = '.',
    token?: CancellationToken,
    workDoneToken?: string,
  ): Promise<P.FileEntry[]> {
    const result = await this.request<{ files: P.FileEntry[] }>(
      P.UPLOAD,
      { session, files, dest, ...(workDoneToken ? { workDoneToken } : {}) },
      token,
    );
    return result.files;
  }

  async download(
    session: string,
    files: string[],
    dest: string,
    token?: CancellationToken,
    workDoneToken?: string,
  ): Promise<P.FileEntry[]> {
    const result = await this.request<{ files: P.FileEntry[] }>(
      P.DOWNLOAD,
      { session, files, dest, ...(workDoneToken ? { workDoneToken } : {}) },
      token,
    );
    return result.files;
  }

  listFiles(session: string, path = '.'): Promise<{ path: string; entries: P.FolderEntry[] }> {
    return this.request(P.LIST_FILES, { session, path });
  }

  /** Whether sessions of `profile` (default: the default profile) could open now. */
  checkProfile(profile?: string): Promise<P.ProfileCheck> {
    return this.request(P.CHECK_PROFILE, profile ? { profile } : {});
  }

  /** Close every session and end the daemon (the session host exits when this connection
   * ends, for every client). */
  async stopDaemon(): Promise<void> {
    await this.request(P.STOP_DAEMON, {});
  }

  /** The output of runs in `session` started by other clients comes here too (or stops). */
  follow(session: string, follow = true): Promise<P.FollowResult> {
    return this.request(P.FOLLOW, { session, follow });
  }

  /** The session's recent runs and their output, as streamed (runbridge/history). */
  history(params: P.HistoryParams): Promise<P.HistoryResult> {
    return this.request(P.HISTORY, params);
  }

  async listTerminals(): Promise<P.TerminalListing[]> {
    const result = await this.request<P.ListTerminalsResult>(P.LIST_TERMINALS, {});
    return result.terminals;
  }

  /** Attach to a running terminal: its recent output, then its live output comes here. */
  attachTerminal(terminalId: string): Promise<P.AttachTerminalResult> {
    return this.request(P.ATTACH_TERMINAL, { terminalId });
  }

  async openTerminal(session: string, rows?: number, cols?: number): Promise<string> {
    const params: Record<string, unknown> = { session };
    if (rows !== undefined && cols !== undefined) {
      params.rows = rows;
      params.cols = cols;
    }
    const result = await this.request<{ terminalId: string }>(P.OPEN_TERMINAL, params);
    return result.terminalId;
  }

  async closeTerminal(terminalId: string): Promise<void> {
    await this.request(P.CLOSE_TERMINAL, { terminalId });
  }

  async terminalInput(terminalId: string, data: string): Promise<void> {
    await this.peer.sendNotification(P.TERMINAL_INPUT, { terminalId, data });
  }

  /** Bind a document to a session (`null`: back to the daemon's rule). */
  bindDocument(uri: string, session: string | null): Promise<P.DocumentBound> {
    return this.request(P.BIND_DOCUMENT, { uri, session } satisfies P.BindDocumentParams);
  }

  /** The cell at a position of an open document, the next cell's start and the cells above. */
  cellAt(uri: string, position: P.Position): Promise<P.CellAtResult> {
    return this.request(P.CELL_AT, { uri, position } satisfies P.CellAtParams);
  }

  /** The session's user variables (Unsupported: not available for this kernel). */
  variables(session: string): Promise<P.VariablesResult> {
    return this.request(P.VARIABLES, { session });
  }

  /** The session's apps (service ports); Unsupported off Backend.AI. */
  async listApps(session: string): Promise<P.AppInfo[]> {
    const result = await this.request<{ apps: P.AppInfo[] }>(P.LIST_APPS, { session });
    return result.apps;
  }

  /** Forward an app to 127.0.0.1 (a free port unless `localPort`). */
  openApp(params: P.OpenAppParams): Promise<P.OpenedApp> {
    return this.request(P.OPEN_APP, params);
  }

  async closeApp(appId: string): Promise<void> {
    await this.request(P.CLOSE_APP, { appId });
  }

  async resizeTerminal(terminalId: string, rows: number, cols: number): Promise<void> {
    await this.peer.sendNotification(P.RESIZE_TERMINAL, { terminalId, rows, cols });
  }
}
