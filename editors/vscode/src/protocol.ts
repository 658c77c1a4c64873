// runbridge protocol v1, as docs/protocol.md writes it (and server/runbridge/protocol.py).
// Keep the three in step. No `vscode` import: unit and integration tests load this file.

export const PROTOCOL_VERSION = 1;

// Requests, editor -> daemon
export const OPEN_SESSION = 'runbridge/openSession';
export const LIST_SESSIONS = 'runbridge/listSessions';
export const CLOSE_SESSION = 'runbridge/closeSession';
export const INTERRUPT = 'runbridge/interrupt';
export const RESTART = 'runbridge/restart';
export const RUN = 'runbridge/run';
export const UPLOAD = 'runbridge/upload';
export const DOWNLOAD = 'runbridge/download';
export const LIST_FILES = 'runbridge/listFiles';
export const OPEN_TERMINAL = 'runbridge/openTerminal';
export const CLOSE_TERMINAL = 'runbridge/closeTerminal';
export const STOP_DAEMON = 'runbridge/stopDaemon';
export const CHECK_PROFILE = 'runbridge/checkProfile';
export const HISTORY = 'runbridge/history';
export const FOLLOW = 'runbridge/follow';
export const LIST_TERMINALS = 'runbridge/listTerminals';
export const ATTACH_TERMINAL = 'runbridge/attachTerminal';
export const BIND_DOCUMENT = 'runbridge/bindDocument';
export const CELL_AT = 'runbridge/cellAt';
export const VARIABLES = 'runbridge/variables';
export const LIST_APPS = 'runbridge/listApps';
export const OPEN_APP = 'runbridge/openApp';
export const CLOSE_APP = 'runbridge/closeApp';
export const LIST_FORWARDS = 'runbridge/listForwards';
export const LIST_REMOTE = 'runbridge/listRemote';
// Notifications, editor -> daemon
export const TERMINAL_INPUT = 'runbridge/terminalInput';
export const RESIZE_TERMINAL = 'runbridge/resizeTerminal';
// Notifications, daemon -> editor
export const OUTPUT = 'runbridge/output';
export const SESSION_CHANGED = 'runbridge/sessionChanged';
export const TERMINAL_OUTPUT = 'runbridge/terminalOutput';
export const TERMINAL_EXIT = 'runbridge/terminalExit';
export const DOCUMENT_BOUND = 'runbridge/documentBound';
// Request, daemon -> editor
export const INPUT = 'runbridge/input';

// workspace/executeCommand ids of the daemon (its code lenses carry them; the language
// client registers them as VS Code commands: the extension must not).
export const SERVER_RUN_CELL = 'runbridge.server.runCell';
export const SERVER_RUN_ABOVE = 'runbridge.server.runAbove';

/** Error codes of the daemon (docs/protocol.md, "Errors"). */
export const ErrorCodes = {
  InvalidParams: -32602,
  ConfigError: -32010,
  SessionNotFound: -32011,
  SessionConflict: -32012,
  TerminalNotFound: -32013,
  FileError: -32014,
  BackendError: -32020,
  KernelSpecNotFound: -32021,
  BackendUnavailable: -32022,
  Unsupported: -32023,
  RequestCancelled: -32800,
} as const;

export type SessionState = 'starting' | 'idle' | 'busy' | 'dead' | 'closed';

export interface SessionInfo {
  name: string;
  profile: string;
  backend: string;
  image: string | null;
  state: SessionState;
  created: boolean;
  /** null for an attached kernel whose folder the server does not say. */
  workdir: string | null;
  /** Bound with openSession {attach}: closing lets go of it (it keeps running on the server). */
  attached?: boolean;
  /** The server's id: the Jupyter kernel id, the Backend.AI session id. */
  remoteId?: string;
  createdAt?: number;
  backendStatus?: string | null;
  /** When the session last ran, moved files or had terminal traffic (seconds since the epoch). */
  lastActivity?: number;
  /** Backend.AI sessions: the session options in effect (`bootstrapScript` as its length). */
  options?: SessionOptions;
  /** Backend.AI sessions: the daemon's one-line text of `options`, for the status bar. */
  summary?: string;
}

/** `runbridge/closeSession`'s result: the closed session and the line to show about it. */
export interface ClosedSession extends SessionInfo {
  /** "session NAME closed", "… detached (it keeps running on the server)", or "… closed and destroyed on the server". */
  message: string;
}

/** Backend.AI session options (`runbridge/openSession`'s `options`). */
export interface SessionOptions {
  resources?: Record<string, number | string>;
  clusterSize?: number;
  clusterMode?: 'single-node' | 'multi-node';
  mounts?: { name: string; target?: string }[];
  scalingGroup?: string;
  /** In requests the script's text; in SessionInfo its length. */
  bootstrapScript?: string | number;
  tag?: string;
}

/** The display a record belongs to (a Jupyter display with an id); `update` replaces it. */
export interface DisplayRef {
  displayId: string;
  update?: boolean;
}

/** `[kind, data]`: `stdout`/`stderr` text, or a MIME type and its data; a display's
 * record carries a third element. */
export type ConsoleRecord = [string, string] | [string, string, DisplayRef];

export const CLEAR_OUTPUT_KIND = 'application/x-runbridge-clear-output';

export interface RunOptions {
  build?: string;
  exec?: string;
  clean?: string;
  timeout?: number;
}

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface RunParams {
  session?: string;
  code: string;
  mode?: 'query' | 'batch';
  options?: RunOptions;
  profile?: string;
  image?: string;
  uri?: string;
  range?: Range;
  languageId?: string;
}

export type RunStatus = 'finished' | 'interrupted' | 'failed' | 'exec-timeout';

export interface RunError {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  exitCode: number | null;
  error?: RunError;
  message?: string;
  transcript?: string;
}

export interface OpenSessionParams {
  name: string;
  profile?: string;
  image?: string;
  env?: Record<string, string>;
  /** The id of a kernel or session runbridge/listRemote listed: bind the name to it. */
  attach?: string;
}

/** What runs on a profile's server that runbridge did not create (runbridge/listRemote). */
export interface RemoteSession {
  id: string;
  /** The profile it was listed on (openSession {attach} must name it). */
  profile: string;
  /** Made by the daemon: the notebook's path, or the kernel name and id (Jupyter); the session name (Backend.AI). */
  label: string;
  /** One line made by the daemon for a picker. */
  description: string;
  state: string | null;
  lastActivity: number | null;
  /** The runbridge session bound to it now. */
  attachedAs: string | null;
  /** Made by the daemon: the runbridge name a picker offers for it. */
  suggestedName: string;
  details: Record<string, unknown>;
}

export interface ListRemoteParams {
  /** One profile (default: the default profile). */
  profile?: string;
  /** Every profile but `local` ones, at once (not with `profile`). */
  allProfiles?: boolean;
}

/** A profile whose server could not be listed (runbridge/listRemote with allProfiles). */
export interface RemoteFailure {
  profile: string;
  /** As in the error reply a listing of that profile alone would get. */
  code: number;
  kind: string;
  message: string;
}

export interface ListRemoteResult {
  /** The profile listed; null with allProfiles. */
  profile: string | null;
  sessions: RemoteSession[];
  failures: RemoteFailure[];
}

export interface FileEntry {
  path: string;
  size: number;
}

export interface FolderEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'other';
  size: number;
  mtime: number | null;
}

export interface OutputParams {
  session: string;
  runId: string;
  seq: number;
  console: ConsoleRecord[];
}

export interface SessionChangedParams {
  session: SessionInfo;
}

export interface TerminalOutputParams {
  terminalId: string;
  data: string;
}

export interface TerminalExitParams {
  terminalId: string;
  exitCode: number | null;
}

export interface InputParams {
  session: string;
  runId: string;
  prompt: string;
  password: boolean;
}

export interface InputResult {
  value: string | null;
}

export interface ProfileInfo {
  name: string;
  type: string;
  image: string | null;
  available: boolean;
}

/** Params of `runbridge/history`: what was streamed after notification `seq` of run `runId`. */
export interface HistoryParams {
  session: string;
  after?: { runId: string; seq: number };
  limit?: number;
  maxBytes?: number;
}

/** One `runbridge/output` notification of a run, as it was sent. */
export interface HistoryBatch {
  seq: number;
  console: ConsoleRecord[];
}

export interface HistoryRun {
  runId: string;
  mode: string;
  code: string;
  started: number;
  /** null while the run is going on. */
  status: string | null;
  exitCode: number | null;
  truncated: boolean;
  /** The seq of the run's last notification so far (live output goes on with lastSeq + 1). */
  lastSeq: number;
  batches: HistoryBatch[];
}

/** Result of `runbridge/history`. */
export interface HistoryResult {
  session: string;
  transcript: string;
  more: boolean;
  /** Present when `after` was given: false when the transcript no longer holds that run. */
  afterFound?: boolean;
  runs: HistoryRun[];
}

/** Params of `runbridge/follow` (and its result, with `follow` filled in): whether this
 * connection is sent the output of the session's runs started by other clients. */
export interface FollowParams {
  session: string;
  /** Default true. */
  follow?: boolean;
}

export interface FollowResult {
  session: string;
  follow: boolean;
}

/** A terminal of the session host, in the result of `runbridge/listTerminals`. */
export interface TerminalListing {
  terminalId: string;
  session: string;
  /** How many connected clients are attached to it. */
  attached: number;
}

export interface ListTerminalsResult {
  terminals: TerminalListing[];
}

/** Result of `runbridge/attachTerminal`: its recent output (at most 256 KB), then live
 * `runbridge/terminalOutput` follows. */
export interface AttachTerminalResult {
  terminalId: string;
  session: string;
  replay: string;
}

/** Result of `runbridge/checkProfile`. */
export interface ProfileCheck {
  profile: string;
  type: string;
  ok: boolean;
  message: string;
}

/** `capabilities.experimental.runbridge` of the `initialize` result. */
export interface ServerInfo {
  protocolVersion: number;
  version: string;
  backends: string[];
  profiles: ProfileInfo[];
  defaultProfile: string;
  defaultSession: string;
  /** null when the daemon could not write its log (it logs to its stderr then). */
  logFile?: string | null;
}

/** What `initializationOptions` may carry (docs/protocol.md, `initialize`). */
export interface InitializationOptions {
  profile?: string;
  outputCapMb?: number;
  /** Rotate a session's transcript past this size (set in config.toml; no editor setting). */
  transcriptMaxMb?: number;
  profiles?: Record<string, Record<string, unknown>>;
  /** The languageIds that get documents' language features (and cells). */
  languages?: string[];
  /** A cell marker per languageId (`"*"` for the others): Python regular expressions. */
  cellMarkers?: Record<string, string>;
}

/** Params of `runbridge/bindDocument`; `session: null` removes an explicit binding. */
export interface BindDocumentParams {
  uri: string;
  session: string | null;
}

/** Result of `runbridge/bindDocument`, and the `runbridge/documentBound` notification. */
export interface DocumentBound {
  uri: string;
  session: string;
}

/** A document's cell (docs/protocol.md, "Cells"). */
export interface Cell {
  index: number;
  title: string;
  /** The marker line to the cell's last line. */
  range: Range;
  /** The lines after the marker, without trailing blank lines: what a run sends as `range`. */
  codeRange: Range;
  code: string;
}

export interface CellAtParams {
  uri: string;
  position: Position;
}

export interface CellAtResult {
  /** The cell holding the position. */
  cell: Cell | null;
  /** The start of the next cell's code ("run and advance"). */
  next: Position | null;
  /** The cells before it ("run above"). */
  above: Cell[];
}

/** The argument of the daemon's `runbridge.server.runCell` / `runAbove` commands. */
export interface CellCommandArgs {
  uri: string;
  line: number;
}

export interface Variable {
  name: string;
  type: string;
  /** A short repr (at most 200 characters). */
  value: string;
  /** The shape or length where cheap (`"(3, 4)"`, `"len 10"`), else null. */
  size: string | null;
}

export interface VariablesResult {
  session: string;
  /** Sorted by name. */
  variables: Variable[];
  /** The session has more than the daemon lists. */
  truncated?: boolean;
}

/** A session's app (service port), as `runbridge/listApps` lists it. */
export interface AppInfo {
  name: string;
  protocol: string;
  ports: number[];
  /** The line a picker shows beside the name (the daemon's). */
  description: string;
}

export interface OpenAppParams {
  session: string;
  app: string;
  localPort?: number;
  port?: number;
}

/** A forwarded app (`runbridge/openApp`). */
export interface OpenedApp {
  appId: string;
  session: string;
  app: string;
  protocol: string;
  localPort: number;
  url: string;
}

/** The forwards open now (`runbridge/listForwards`). */
export interface ListForwardsResult {
  forwards: OpenedApp[];
}
