"use strict";
// runbridge protocol v1, as docs/protocol.md writes it (and server/runbridge/protocol.py).
// Keep the three in step. No `vscode` import: unit and integration tests load this file.
Object.defineProperty(exports, "__esModule", { value: true });
exports.CLEAR_OUTPUT_KIND = exports.ErrorCodes = exports.SERVER_RUN_ABOVE = exports.SERVER_RUN_CELL = exports.INPUT = exports.DOCUMENT_BOUND = exports.TERMINAL_EXIT = exports.TERMINAL_OUTPUT = exports.SESSION_CHANGED = exports.OUTPUT = exports.RESIZE_TERMINAL = exports.TERMINAL_INPUT = exports.LIST_REMOTE = exports.CLOSE_APP = exports.OPEN_APP = exports.LIST_APPS = exports.VARIABLES = exports.CELL_AT = exports.BIND_DOCUMENT = exports.ATTACH_TERMINAL = exports.LIST_TERMINALS = exports.FOLLOW = exports.HISTORY = exports.CHECK_PROFILE = exports.STOP_DAEMON = exports.CLOSE_TERMINAL = exports.OPEN_TERMINAL = exports.LIST_FILES = exports.DOWNLOAD = exports.UPLOAD = exports.RUN = exports.RESTART = exports.INTERRUPT = exports.CLOSE_SESSION = exports.LIST_SESSIONS = exports.OPEN_SESSION = exports.PROTOCOL_VERSION = void 0;
exports.PROTOCOL_VERSION = 1;
// Requests, editor -> daemon
exports.OPEN_SESSION = 'runbridge/openSession';
exports.LIST_SESSIONS = 'runbridge/listSessions';
exports.CLOSE_SESSION = 'runbridge/closeSession';
exports.INTERRUPT = 'runbridge/interrupt';
exports.RESTART = 'runbridge/restart';
exports.RUN = 'runbridge/run';
exports.UPLOAD = 'runbridge/upload';
exports.DOWNLOAD = 'runbridge/download';
exports.LIST_FILES = 'runbridge/listFiles';
exports.OPEN_TERMINAL = 'runbridge/openTerminal';
exports.CLOSE_TERMINAL = 'runbridge/closeTerminal';
exports.STOP_DAEMON = 'runbridge/stopDaemon';
exports.CHECK_PROFILE = 'runbridge/checkProfile';
exports.HISTORY = 'runbridge/history';
exports.FOLLOW = 'runbridge/follow';
exports.LIST_TERMINALS = 'runbridge/listTerminals';
exports.ATTACH_TERMINAL = 'runbridge/attachTerminal';
exports.BIND_DOCUMENT = 'runbridge/bindDocument';
exports.CELL_AT = 'runbridge/cellAt';
exports.VARIABLES = 'runbridge/variables';
exports.LIST_APPS = 'runbridge/listApps';
exports.OPEN_APP = 'runbridge/openApp';
exports.CLOSE_APP = 'runbridge/closeApp';
exports.LIST_REMOTE = 'runbridge/listRemote';
// Notifications, editor -> daemon
exports.TERMINAL_INPUT = 'runbridge/terminalInput';
exports.RESIZE_TERMINAL = 'runbridge/resizeTerminal';
// Notifications, daemon -> editor
exports.OUTPUT = 'runbridge/output';
exports.SESSION_CHANGED = 'runbridge/sessionChanged';
exports.TERMINAL_OUTPUT = 'runbridge/terminalOutput';
exports.TERMINAL_EXIT = 'runbridge/terminalExit';
exports.DOCUMENT_BOUND = 'runbridge/documentBound';
// Request, daemon -> editor
exports.INPUT = 'runbridge/input';
// workspace/executeCommand ids of the daemon (its code lenses carry them; the language
// client registers them as VS Code commands: the extension must not).
exports.SERVER_RUN_CELL = 'runbridge.server.runCell';
exports.SERVER_RUN_ABOVE = 'runbridge.server.runAbove';
/** Error codes of the daemon (docs/protocol.md, "Errors"). */
exports.ErrorCodes = {
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
};
exports.CLEAR_OUTPUT_KIND = 'application/x-runbridge-clear-output';
