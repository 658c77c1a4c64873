"""Protocol v1: method names and the checked shapes of every request's params.

docs/protocol.md is the human-readable form of this module; keep them in step.
Each ``parse_*`` function takes the raw JSON params and returns typed values,
or raises :class:`~runbridge.errors.InvalidParams` naming the offending field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from runbridge.errors import InvalidParams, shorten
from runbridge.model import (
    HISTORY_BYTES,
    HISTORY_MAX_BYTES,
    HISTORY_MAX_RUNS,
    HISTORY_RUNS,
    BatchOptions,
    HistoryQuery,
    RunRequest,
)
from runbridge.session_options import SessionOptions, parse_session_options

# Requests, editor -> daemon
OPEN_SESSION: Final = "runbridge/openSession"
LIST_SESSIONS: Final = "runbridge/listSessions"
CLOSE_SESSION: Final = "runbridge/closeSession"
INTERRUPT: Final = "runbridge/interrupt"
RESTART: Final = "runbridge/restart"
RUN: Final = "runbridge/run"
UPLOAD: Final = "runbridge/upload"
DOWNLOAD: Final = "runbridge/download"
LIST_FILES: Final = "runbridge/listFiles"
OPEN_TERMINAL: Final = "runbridge/openTerminal"
CLOSE_TERMINAL: Final = "runbridge/closeTerminal"
STOP_DAEMON: Final = "runbridge/stopDaemon"
CHECK_PROFILE: Final = "runbridge/checkProfile"
LIST_REMOTE: Final = "runbridge/listRemote"
HISTORY: Final = "runbridge/history"
FOLLOW: Final = "runbridge/follow"
LIST_TERMINALS: Final = "runbridge/listTerminals"
ATTACH_TERMINAL: Final = "runbridge/attachTerminal"
VARIABLES: Final = "runbridge/variables"
BIND_DOCUMENT: Final = "runbridge/bindDocument"
CELL_AT: Final = "runbridge/cellAt"
LIST_APPS: Final = "runbridge/listApps"
OPEN_APP: Final = "runbridge/openApp"
CLOSE_APP: Final = "runbridge/closeApp"
LIST_FORWARDS: Final = "runbridge/listForwards"
# Notifications, editor -> daemon
TERMINAL_INPUT: Final = "runbridge/terminalInput"
RESIZE_TERMINAL: Final = "runbridge/resizeTerminal"
# Notifications, daemon -> editor
OUTPUT: Final = "runbridge/output"
SESSION_CHANGED: Final = "runbridge/sessionChanged"
TERMINAL_OUTPUT: Final = "runbridge/terminalOutput"
TERMINAL_EXIT: Final = "runbridge/terminalExit"
DOCUMENT_BOUND: Final = "runbridge/documentBound"
# Request, daemon -> editor
INPUT: Final = "runbridge/input"

# workspace/executeCommand ids (one object argument, same shape as the request)
COMMAND_RUN: Final = "runbridge.server.run"
COMMAND_UPLOAD: Final = "runbridge.server.upload"
COMMAND_INTERRUPT: Final = "runbridge.server.interrupt"
COMMAND_RESTART: Final = "runbridge.server.restart"
# ... and those of cells (``{uri, line}``)
COMMAND_RUN_CELL: Final = "runbridge.server.runCell"
COMMAND_RUN_ABOVE: Final = "runbridge.server.runAbove"

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    float: "a number",
}


def as_object(params: Any, method: str) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidParams(f"{method}: params must be an object", field="params")
    return params


def _get(params: dict[str, Any], key: str, kind: type, required: bool, where: str = "") -> Any:
    name = f"{where}{key}"
    if key not in params or params[key] is None:
        if required:
            raise InvalidParams(f"missing required field '{name}'", field=name)
        return None
    value = params[key]
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise InvalidParams(
            f"field '{name}' must be {_TYPE_NAMES.get(kind, kind.__name__)}, "
            f"got {type(value).__name__}",
            field=name,
        )
    return value


#: Longest path component, and longest path, that a file name may have (bytes of UTF-8):
#: NAME_MAX and PATH_MAX on Linux.
MAX_COMPONENT_BYTES: Final = 255
MAX_PATH_BYTES: Final = 4096


def _check_text(value: str, field: str) -> bytes:
    """``value`` as UTF-8; a NUL or a lone surrogate (no file or process takes them) is refused."""
    if "\x00" in value:
        raise InvalidParams(f"field '{field}' must not contain a NUL character", field=field)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParams(
            f"field '{field}' is not valid text (it holds a lone surrogate)", field=field
        ) from None


def _check_name(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidParams(f"field '{field}' must not be empty", field=field)
    _check_text(value, field)
    return value


def _check_path(value: str, field: str) -> str:
    """A path the file system can take: no NUL, components of at most 255 bytes, 4096 in all."""
    encoded = _check_text(value, field)
    if len(encoded) > MAX_PATH_BYTES:
        raise InvalidParams(
            f"field '{field}' is longer than {MAX_PATH_BYTES} bytes ({len(encoded)})", field=field
        )
    longest = max(len(part) for part in encoded.split(b"/"))
    if longest > MAX_COMPONENT_BYTES:
        raise InvalidParams(
            f"field '{field}' has a file or folder name longer than {MAX_COMPONENT_BYTES} "
            f"bytes ({longest})",
            field=field,
        )
    return value


def _name(params: dict[str, Any], key: str) -> str:
    return _check_name(_get(params, key, str, True), key)


def _optional_name(params: dict[str, Any], key: str) -> str | None:
    """A profile or image name: absent or null means the default, "" is a mistake."""
    value: str | None = _get(params, key, str, False)
    return None if value is None else _check_name(value, key)


def _path(params: dict[str, Any], key: str, required: bool) -> str | None:
    value: str | None = _get(params, key, str, required)
    return None if value is None else _check_path(value, key)


def _path_list(params: dict[str, Any], key: str) -> list[str]:
    values: list[Any] = _get(params, key, list, True)
    for i, item in enumerate(values):
        if not isinstance(item, str):
            raise InvalidParams(f"field '{key}[{i}]' must be a string", field=f"{key}[{i}]")
        _check_path(item, f"{key}[{i}]")
    return values


def _env(params: dict[str, Any]) -> dict[str, str]:
    """``env``: keys that an environment can hold (not empty, no ``=``, no NUL), string values."""
    env: dict[str, Any] = _get(params, "env", dict, False) or {}
    for key, value in env.items():
        field = f"env.{shorten(key, 40)}"
        if not key or "=" in key:
            raise InvalidParams(
                f"field '{field}': an environment variable's name must not be empty or hold '='",
                field=field,
            )
        _check_text(key, field)
        if not isinstance(value, str):
            raise InvalidParams(f"field '{field}' must be a string", field=field)
        _check_text(value, field)
    return env


def _size(params: dict[str, Any], key: str, default: int) -> int:
    value = _get(params, key, int, False)
    if value is None:
        return default
    if not 1 <= value <= 10000:
        raise InvalidParams(f"field '{key}' must be between 1 and 10000", field=key)
    return int(value)


@dataclass
class OpenSessionParams:
    name: str
    profile: str | None
    image: str | None
    env: dict[str, str]
    #: Backend.AI session options, checked (None when the request has none).
    options: SessionOptions | None = None
    #: The server's id of a kernel or session to bind the name to (``listRemote``'s ``id``).
    attach: str | None = None


def parse_open_session(raw: Any) -> OpenSessionParams:
    p = as_object(raw, OPEN_SESSION)
    env = _env(p)
    options = p.get("options")
    return OpenSessionParams(
        name=_name(p, "name"),
        profile=_optional_name(p, "profile"),
        image=_optional_name(p, "image"),
        env=env,
        options=None if options is None else parse_session_options(options),
        attach=_optional_name(p, "attach"),
    )


def parse_close_session(raw: Any) -> tuple[str, bool]:
    """``closeSession``'s ``name`` and ``destroy`` (default false)."""
    p = as_object(raw, CLOSE_SESSION)
    destroy = _get(p, "destroy", bool, False)
    return _name(p, "name"), bool(destroy)


def parse_list_remote(raw: Any) -> tuple[str | None, bool]:
    """``listRemote``'s ``profile`` and ``allProfiles`` (default false); not both."""
    p = as_object(raw, LIST_REMOTE)
    profile = _optional_name(p, "profile")
    every = bool(_get(p, "allProfiles", bool, False))
    if every and profile is not None:
        raise InvalidParams(
            "give 'profile' (one profile) or 'allProfiles' (every remote one), not both",
            field="allProfiles",
        )
    return profile, every


def parse_list_forwards(raw: Any) -> str | None:
    """``listForwards``'s ``session`` (None: every session's)."""
    value: str | None = _optional_name(as_object(raw, LIST_FORWARDS), "session")
    return value


def parse_session_name(raw: Any, method: str, key: str) -> str:
    return _name(as_object(raw, method), key)


#: A run id a client chooses (``runbridge/run``'s ``runId``).
_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def parse_run(raw: Any, default_session: str) -> RunRequest:
    p = as_object(raw, RUN)
    # absent or null: the default session; an empty name is a mistake, not "default"
    named: str | None = _get(p, "session", str, False)
    session = default_session if named is None else _check_name(named, "session")
    code = _get(p, "code", str, False)
    mode = _get(p, "mode", str, False) or "query"
    opts = _get(p, "options", dict, False) or {}
    options = BatchOptions(
        build=_get(opts, "build", str, False, "options."),
        exec=_get(opts, "exec", str, False, "options."),
        clean=_get(opts, "clean", str, False, "options."),
        timeout=_get(opts, "timeout", float, False, "options."),
        language=_get(p, "languageId", str, False),
    )
    if options.timeout is not None and options.timeout <= 0:
        raise InvalidParams("field 'options.timeout' must be positive", field="options.timeout")
    if code is None and mode == "query":
        raise InvalidParams("missing required field 'code'", field="code")
    for key, kind in (
        ("uri", str),
        ("languageId", str),
        ("range", dict),
        ("profile", str),
        ("image", str),
    ):
        _get(p, key, kind, False)
    parse_run_origin(p)
    request = RunRequest(
        session=session,
        code=code or "",
        mode=mode,
        options=options,
        profile=_optional_name(p, "profile"),
        image=_optional_name(p, "image"),
    )
    run_id: str | None = _get(p, "runId", str, False)
    if run_id is not None:
        if not _RUN_ID.fullmatch(run_id):
            raise InvalidParams(
                "field 'runId' must be 1 to 64 letters, digits, '.', '_' or '-'", field="runId"
            )
        request.run_id = run_id
    return request


@dataclass(frozen=True)
class Position:
    """An LSP position: 0-based line, character in the connection's position encoding."""

    line: int
    character: int


@dataclass(frozen=True)
class RunOrigin:
    """Where a run's code came from: ``runbridge/run``'s ``uri`` and ``range``."""

    uri: str
    start: Position
    end: Position

    @property
    def last_line(self) -> int:
        """The last document line the code holds a character of (a range that ends at
        the start of a line does not hold that line)."""
        if self.end.line > self.start.line and self.end.character == 0:
            return self.end.line - 1
        return self.end.line


def _position(range_: dict[str, Any], key: str) -> Position:
    where = f"range.{key}."
    value = _get(range_, key, dict, True, "range.")
    line: int = _get(value, "line", int, True, where)
    character: int = _get(value, "character", int, True, where)
    for name, number in (("line", line), ("character", character)):
        if number < 0:
            raise InvalidParams(
                f"field '{where}{name}' must not be negative", field=f"{where}{name}"
            )
    return Position(line, character)


def parse_run_origin(raw: Any) -> RunOrigin | None:
    """``runbridge/run``'s ``uri`` and ``range`` (checked), or None when either is absent."""
    p = as_object(raw, RUN)
    uri: str | None = _get(p, "uri", str, False)
    range_: dict[str, Any] | None = _get(p, "range", dict, False)
    if range_ is None:
        return None
    start, end = _position(range_, "start"), _position(range_, "end")
    if (end.line, end.character) < (start.line, start.character):
        raise InvalidParams("field 'range.end' must not be before 'range.start'", field="range.end")
    return None if uri is None else RunOrigin(uri, start, end)


def run_uri(raw: Any) -> str | None:
    """``runbridge/run``'s ``uri`` (checked), or None."""
    uri: str | None = _get(as_object(raw, RUN), "uri", str, False)
    return uri or None


@dataclass
class TransferParams:
    session: str
    files: list[str]
    dest: str
    token: str | int | None


def parse_transfer(raw: Any, method: str) -> TransferParams:
    p = as_object(raw, method)
    token = p.get("workDoneToken")
    if token is not None and (not isinstance(token, str | int) or isinstance(token, bool)):
        raise InvalidParams(
            "field 'workDoneToken' must be a string or an integer", field="workDoneToken"
        )
    session = _name(p, "session")
    files = _path_list(p, "files")
    dest = _path(p, "dest", method == DOWNLOAD)
    return TransferParams(session, files, dest or ".", token)


def parse_list_files(raw: Any) -> tuple[str, str]:
    p = as_object(raw, LIST_FILES)
    return _name(p, "session"), _path(p, "path", False) or "."


@dataclass
class OpenTerminalParams:
    session: str
    rows: int
    cols: int


def parse_open_terminal(raw: Any) -> OpenTerminalParams:
    p = as_object(raw, OPEN_TERMINAL)
    return OpenTerminalParams(_name(p, "session"), _size(p, "rows", 24), _size(p, "cols", 80))


def parse_terminal_id(raw: Any, method: str) -> str:
    return _name(as_object(raw, method), "terminalId")


@dataclass
class OpenAppParams:
    session: str
    app: str
    local_port: int | None
    port: int | None


def _port(params: dict[str, Any], key: str, low: int) -> int | None:
    value = _get(params, key, int, False)
    if value is not None and not low <= value <= 65535:
        raise InvalidParams(f"field '{key}' must be between {low} and 65535", field=key)
    return None if value is None else int(value)


def parse_open_app(raw: Any) -> OpenAppParams:
    """``runbridge/openApp {session, app, localPort?, port?}`` (``localPort`` 0: a free one)."""
    p = as_object(raw, OPEN_APP)
    local_port = _port(p, "localPort", 0)
    return OpenAppParams(
        _name(p, "session"), _name(p, "app"), local_port or None, _port(p, "port", 1)
    )


def parse_app_id(raw: Any) -> str:
    """``runbridge/closeApp {appId}``."""
    return _name(as_object(raw, CLOSE_APP), "appId")


def parse_follow(raw: Any) -> tuple[str, bool]:
    """``runbridge/follow {session, follow?: bool = true}``."""
    p = as_object(raw, FOLLOW)
    follow = _get(p, "follow", bool, False)
    return _name(p, "session"), True if follow is None else bool(follow)


def parse_terminal_input(raw: Any) -> tuple[str, str]:
    p = as_object(raw, TERMINAL_INPUT)
    return _name(p, "terminalId"), _get(p, "data", str, True)


def parse_resize(raw: Any) -> tuple[str, int, int]:
    p = as_object(raw, RESIZE_TERMINAL)
    return _name(p, "terminalId"), _size(p, "rows", 24), _size(p, "cols", 80)


def parse_check_profile(raw: Any) -> str | None:
    p = as_object(raw, CHECK_PROFILE)
    value: str | None = _optional_name(p, "profile")
    return value


def _bounded(params: dict[str, Any], key: str, low: int, high: int, default: int) -> int:
    value = _get(params, key, int, False)
    if value is None:
        return default
    if not low <= value <= high:
        raise InvalidParams(f"field '{key}' must be between {low} and {high}", field=key)
    return int(value)


def parse_history(raw: Any) -> tuple[str, HistoryQuery]:
    """``runbridge/history {session, after?: {runId, seq}, limit?, maxBytes?}``."""
    p = as_object(raw, HISTORY)
    session = _name(p, "session")
    after_raw: dict[str, Any] | None = _get(p, "after", dict, False)
    after = None
    if after_raw is not None:
        run_id = _check_name(_get(after_raw, "runId", str, True, "after."), "after.runId")
        seq = _get(after_raw, "seq", int, True, "after.")
        if seq < 0:
            raise InvalidParams("field 'after.seq' must not be negative", field="after.seq")
        after = (run_id, int(seq))
    limit = _bounded(p, "limit", 1, HISTORY_MAX_RUNS, HISTORY_RUNS)
    max_bytes = _bounded(p, "maxBytes", 1, HISTORY_MAX_BYTES, HISTORY_BYTES)
    return session, HistoryQuery(after, limit, max_bytes)


def _uri(params: dict[str, Any]) -> str:
    uri: str = _get(params, "uri", str, True)
    if not uri:
        raise InvalidParams("field 'uri' must not be empty", field="uri")
    _check_text(uri, "uri")
    return uri


def _count(params: dict[str, Any], key: str, where: str = "") -> int:
    """A line or character number: an integer, 0 or more."""
    value: int = _get(params, key, int, True, where)
    if value < 0:
        raise InvalidParams(f"field '{where}{key}' must not be negative", field=f"{where}{key}")
    return value


def parse_bind_document(raw: Any) -> tuple[str, str | None]:
    """``runbridge/bindDocument {uri, session: string | null}``."""
    p = as_object(raw, BIND_DOCUMENT)
    uri = _uri(p)
    session: str | None = _get(p, "session", str, False)
    return uri, None if session is None else _check_name(session, "session")


def parse_cell_at(raw: Any) -> tuple[str, Position]:
    """``runbridge/cellAt {uri, position}``."""
    p = as_object(raw, CELL_AT)
    uri = _uri(p)
    position: dict[str, Any] = _get(p, "position", dict, True)
    return uri, Position(
        _count(position, "line", "position."), _count(position, "character", "position.")
    )


def parse_cell_command(raw: Any, command: str) -> tuple[str, int]:
    """``runbridge.server.runCell`` / ``runAbove`` ``{uri, line}``."""
    p = as_object(raw, command)
    return _uri(p), _count(p, "line")
