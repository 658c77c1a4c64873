"""Plain data shared by the session manager, the backends and the fronts (the ground layer:
it imports nothing of runbridge)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from runbridge.errors import InvalidParams, quote
from runbridge.session_options import SessionOptions


class SessionState(StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"
    CLOSED = "closed"


class RunStatus(StrEnum):
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    EXEC_TIMEOUT = "exec-timeout"


@dataclass(frozen=True)
class Display:
    """A Jupyter display with an id (``display(..., display_id=...)``): ``update`` is
    True for an ``update_display_data``, which replaces what that display shows."""

    id: str
    update: bool = False

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"displayId": self.id}
        if self.update:
            wire["update"] = True
        return wire


@dataclass
class SessionInfo:
    name: str
    profile: str
    backend: str
    image: str
    state: SessionState
    created: bool
    #: None when the backend does not know it (a kernel runbridge attached to, on a server
    #: that does not say where it runs).
    workdir: str | None
    created_at: float = field(default_factory=time.time)
    #: The backend's own status word when it has one (Backend.AI: PENDING, PREPARING, ...).
    backend_status: str | None = None
    #: When the session last started or ended a run, answered an input prompt, moved or
    #: listed files, or had terminal input or output (wall clock, like ``created_at``).
    last_activity: float = field(default_factory=time.time)
    #: Backend.AI sessions: the session options in effect (None on other backends).
    options: SessionOptions | None = None
    #: Bound with ``openSession {attach}``: runbridge did not create it, closing lets go of it.
    attached: bool = False
    #: The server's id of it (a Jupyter kernel id, a Backend.AI session id), when remote.
    remote_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "name": self.name,
            "profile": self.profile,
            "backend": self.backend,
            "image": self.image,
            "state": str(self.state),
            "created": self.created,
            "workdir": self.workdir,
            "createdAt": self.created_at,
            "backendStatus": self.backend_status,
            "lastActivity": self.last_activity,
        }
        if self.options is not None:
            wire["options"] = self.options.to_wire()
            wire["summary"] = self.options.summary()
        if self.attached:
            wire["attached"] = True
        if self.remote_id is not None:
            wire["remoteId"] = self.remote_id
        return wire


@dataclass
class RemoteSession:
    """A kernel or session on a profile's server that runbridge did not create
    (``runbridge/listRemote``). ``own``: the backend knows runbridge made it (it is left
    out of the listing)."""

    id: str
    label: str
    description: str
    state: str | None
    last_activity: float | None
    details: dict[str, Any]
    own: bool = False
    #: The runbridge session name bound to it now (set by the session manager).
    attached_as: str | None = None
    #: The profile it was listed on (set by the session manager).
    profile: str = ""

    def to_wire(self) -> dict[str, Any]:
        attached = f" · attached as {self.attached_as}" if self.attached_as else ""
        return {
            "id": self.id,
            "profile": self.profile,
            "label": self.label,
            "description": self.description + attached,
            "state": self.state,
            "lastActivity": self.last_activity,
            "attachedAs": self.attached_as,
            "suggestedName": suggested_name(self.label),
            "details": self.details,
        }


def closed_message(name: str, attached: bool, destroyed: bool) -> str:
    """What a client says when ``closeSession`` of ``name`` returned (its ``message``)."""
    if not attached:
        return f"session {name} closed"
    if destroyed:
        return f"session {name} closed and destroyed on the server"
    return f"session {name} detached (it keeps running on the server)"


def suggested_name(label: str) -> str:
    """The runbridge name a picker offers for a remote session: its label's last path part
    without the extension, blanks as ``-`` (``work/analysis.ipynb`` → ``analysis``)."""
    last = next((part for part in reversed(label.split("/")) if part), label)
    base = "-".join(re.sub(r"\.[^.]+$", "", last).split())
    return base or label


def parse_time(value: Any) -> float | None:
    """An ISO 8601 time (``2026-12-03T10:00:00.123456Z``) as seconds since the epoch."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ago(seconds: float) -> str:
    """How long ago, for a picker: ``just now``, ``3 min ago``, ``2 h ago``, ``4 d ago``."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


@dataclass
class UserError:
    """An exception raised by the user's code (not a runbridge failure)."""

    ename: str
    evalue: str
    traceback: list[str]

    def to_wire(self) -> dict[str, Any]:
        return {"ename": self.ename, "evalue": self.evalue, "traceback": self.traceback}


@dataclass
class RunOutcome:
    """What a backend reports when a run ends."""

    status: RunStatus
    exit_code: int | None
    error: UserError | None = None
    message: str | None = None


def exec_timeout_outcome(timeout: float) -> RunOutcome:
    """The outcome of a run stopped at its ``options.timeout`` (every backend's query runs
    end so: one wording)."""
    return RunOutcome(
        RunStatus.EXEC_TIMEOUT,
        124,
        message=f"the run exceeded its timeout of {timeout:g} s and was interrupted",
    )


@dataclass
class RunResult:
    run_id: str
    outcome: RunOutcome
    transcript: str

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "runId": self.run_id,
            "status": str(self.outcome.status),
            "exitCode": self.outcome.exit_code,
            "transcript": self.transcript,
        }
        if self.outcome.error is not None:
            wire["error"] = self.outcome.error.to_wire()
        if self.outcome.message is not None:
            wire["message"] = self.outcome.message
        return wire


@dataclass
class BatchOptions:
    build: str | None = None
    exec: str | None = None
    clean: str | None = None
    timeout: float | None = None
    #: The editor's languageId of ``code``; picks the interpreter for code sent in batch mode.
    language: str | None = None


@dataclass
class FileEntry:
    path: str
    size: int

    def to_wire(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size}


@dataclass
class FolderEntry:
    """One entry of a folder in a session's work folder."""

    name: str
    path: str  # relative to the work folder
    type: str  # "file", "dir" or "other"
    size: int
    mtime: float | None

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "type": self.type, "size": self.size,
                "mtime": self.mtime}  # fmt: skip


@dataclass
class Variable:
    """One user variable of a live session (``runbridge/variables``)."""

    name: str
    type: str
    #: A short ``repr`` (at most 200 characters).
    value: str
    #: ``"len N"`` or a shape such as ``"(3, 4)"`` where cheap to know, else None.
    size: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "value": self.value, "size": self.size}


@dataclass
class Variables:
    """A session's user variables; ``truncated`` when it has more than were listed."""

    variables: list[Variable]
    truncated: bool = False


@dataclass
class RunRequest:
    session: str
    code: str
    mode: str = "query"
    options: BatchOptions = field(default_factory=BatchOptions)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    profile: str | None = None
    image: str | None = None

    def check(self) -> None:
        """:class:`~runbridge.errors.InvalidParams` for a mode the daemon has no way to run."""
        if self.mode not in ("query", "batch"):
            raise InvalidParams(
                f"mode must be 'query' or 'batch', not {quote(self.mode)}", field="mode"
            )
        if self.mode == "batch" and not (self.options.exec or self.options.build or self.code):
            raise InvalidParams(
                "batch mode needs code, options.exec or options.build ('*' picks the default)",
                field="options.exec",
            )


#: ``runbridge/history``: runs returned when the request names no ``limit``, and the most.
HISTORY_RUNS = 20
HISTORY_MAX_RUNS = 1000
#: ``runbridge/history``: data (characters, as the output cap counts) returned when the
#: request names no ``maxBytes``, and the most (under the 64 MiB a message may have).
HISTORY_BYTES = 10 * 1024 * 1024
HISTORY_MAX_BYTES = 48 * 1024 * 1024


@dataclass
class HistoryQuery:
    """What ``runbridge/history`` asks for: runs after a position, within bounds."""

    #: (runId, seq): only what was streamed after notification ``seq`` of run ``runId``.
    after: tuple[str, int] | None = None
    limit: int = HISTORY_RUNS
    max_bytes: int = HISTORY_BYTES


# -- language features from the live session -----------------------------------------


@dataclass(frozen=True)
class CompletionMatch:
    """One of the kernel's matches: ``text`` replaces the completed range; ``type`` is
    ipykernel's (``function``, ``class``, ``module``, ``path``, ``magic``, ...) or None;
    ``signature`` its parameter list (``(a, b=1)``) when the kernel gave one, else ''."""

    text: str
    type: str | None = None
    signature: str = ""


@dataclass(frozen=True)
class Completions:
    """What a session completes at a cursor: the matches replace ``code[start:end]``
    (code-point offsets into the code sent). ``note``: why a backend cannot complete at
    all (said once to the user), None when it can."""

    start: int
    end: int
    matches: list[CompletionMatch] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class Inspection:
    """What a session knows of the name at a cursor: ``text`` as the kernel gave it
    (``text/plain``, ANSI colours included); empty when ``found`` is False."""

    found: bool
    text: str = ""


NO_INSPECTION = Inspection(False)


def no_completions(cursor: int, note: str | None = None) -> Completions:
    """The empty answer (a session that cannot answer now)."""
    return Completions(cursor, cursor, [], note)
