"""The contract between the session manager and a backend.

A :class:`Backend` opens :class:`BackendSession` objects. A backend session is
one compute session (a kernel plus its work folder, a Jupyter kernel, a
Backend.AI session). The manager guarantees that ``execute``, ``batch`` and
``variables(busy=False)`` are never called concurrently on one session;
``interrupt``, ``restart``, terminals, file transfers, ``complete`` and ``inspect``
may be called at any time.

Backends report output through a :class:`RunSink` and state changes through the
``on_state`` callback they are given; they never import the LSP layer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from runbridge.backends.apps import AppForward, ServiceApp
from runbridge.model import (
    BatchOptions,
    Completions,
    Display,
    FileEntry,
    FolderEntry,
    Inspection,
    RemoteSession,
    RunOutcome,
    SessionState,
    Variables,
)
from runbridge.session_options import SessionOptions

#: Called with (bytes done, bytes total) while files move.
ProgressCallback = Callable[[int, int], None]
StateCallback = Callable[[SessionState], None]
#: Called with the backend's own status word (Backend.AI: PENDING, PREPARING, RUNNING, ...).
StatusCallback = Callable[[str], None]


class RunSink(Protocol):
    """Where a run's output goes."""

    def emit(self, kind: str, data: str, display: Display | None = None) -> None:
        """One console record: kind is stdout, stderr or a MIME type; ``display`` when it
        comes from a display with an id (shown, or updated in place)."""

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        """Ask the user for a line; None means the user cancelled."""


class Terminal(Protocol):
    def write(self, data: str) -> None: ...

    def resize(self, rows: int, cols: int) -> None: ...

    async def close(self) -> None: ...


TerminalOutput = Callable[[str], None]
TerminalExit = Callable[[int | None], Awaitable[None] | None]


class BackendSession(Protocol):
    image: str
    #: After ``start``: False when it reused a session that already existed (on a server
    #: that keeps sessions), True when it made a new one; None before ``start``.
    created: bool | None

    @property
    def workdir(self) -> str | None:
        """The work folder; None when the backend does not know it (an attached kernel
        whose folder the server does not say)."""
        ...

    @property
    def remote_id(self) -> str | None:
        """The server's id of the session (a Jupyter kernel id, a Backend.AI session id);
        None on ``local`` or before ``start``."""
        ...

    async def start(self) -> None: ...

    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome: ...

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome: ...

    async def variables(self, busy: bool) -> Variables:
        """The session's user variables, without running anything the user sees and
        without starting a kernel (none when it is not running). ``busy``: a run or batch
        job is in progress (the kernel cannot run anything now).
        :class:`~runbridge.errors.Unsupported` when the kernel cannot list them."""
        ...

    async def interrupt(self) -> None: ...

    async def complete(self, code: str, cursor: int) -> Completions:
        """The session's completions at ``cursor`` (a code-point offset into ``code``).

        Never starts anything, and never waits long: a kernel that cannot answer within
        100 ms while a run is busy (1 s while idle) gives the empty answer."""
        ...

    async def inspect(self, code: str, cursor: int, detail: int) -> Inspection:
        """What the session knows of the name at ``cursor`` (``detail`` 0 or 1, as
        Jupyter's ``inspect_request``); same rules as :meth:`complete`."""
        ...

    async def restart(self) -> None: ...

    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]: ...

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]: ...

    async def list_files(self, path: str) -> list[FolderEntry]:
        """The entries of ``path`` (a folder relative to the work folder)."""

    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal: ...

    async def list_apps(self) -> list[ServiceApp]:
        """The session's apps (service ports); :func:`~runbridge.backends.apps.no_apps`
        (``Unsupported``) on backends without them."""
        ...

    async def open_app(self, app: str, local_port: int | None, port: int | None) -> AppForward:
        """Forward ``app`` (its container ``port`` when it has several) to
        ``127.0.0.1:local_port`` (a free port when None)."""
        ...

    async def close(self, destroy: bool = False) -> None:
        """End the session: its kernel, processes and terminals. A session opened with
        ``attach`` is only let go of (it keeps running on the server) unless ``destroy``;
        ``destroy`` changes nothing for the sessions runbridge created."""

    async def detach(self) -> None:
        """The daemon is exiting: let go of the session. A backend whose server keeps
        sessions (Jupyter, Backend.AI) leaves it running, to be reopened by name, unless
        its profile sets ``keep_sessions = false``; the others close it. A session opened
        with ``attach`` is always only let go of."""


class Backend(Protocol):
    name: str

    def open(
        self,
        name: str,
        image: str | None,
        env: dict[str, str],
        on_state: StateCallback,
        on_status: StatusCallback | None = None,
        *,
        options: SessionOptions | None = None,
        attach: str | None = None,
    ) -> BackendSession:
        """Create (not yet start) a session object.

        ``on_state`` gets runbridge states; ``on_status``, when the backend has a
        status of its own (a remote scheduler's), gets each new status word.
        ``options``: the request's session options (Backend.AI); a backend whose
        sessions take none refuses them (``InvalidParams``, ``field`` ``options``). ``attach``:
        the server's id of a kernel or session that already runs (one of
        :meth:`list_remote`), which ``start`` binds to without starting or restarting
        anything; :class:`~runbridge.errors.Unsupported` on a backend that cannot.
        """

    async def list_remote(self) -> list[RemoteSession]:
        """The kernels or sessions on the server, in the server's order, with ``own`` set
        on those the backend knows runbridge created (the manager leaves them out)."""
        ...

    async def check(self, image: str | None) -> str:
        """Whether a session could open here: a one-line description of what was found,
        or a :class:`~runbridge.errors.RunbridgeError` saying what is wrong."""
        ...

    async def aclose(self) -> None: ...
