"""The session registry: open-or-reuse by name, ordered runs, terminals, files, and
closing sessions idle longer than their profile's ``idle_timeout_minutes``.

The manager talks to the editor only through an :class:`Events` object (the
LSP front implements it; so does the CLI), so it never imports pygls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from runbridge import paths
from runbridge.backends.base import Backend, BackendSession, ProgressCallback, Terminal
from runbridge.backends.registry import create_backend
from runbridge.config import Profile, Settings
from runbridge.errors import (
    InvalidParams,
    RunbridgeError,
    SessionConflict,
    SessionNotFound,
    TerminalNotFound,
    Unsupported,
    quote,
)
from runbridge.model import (
    FileEntry,
    FolderEntry,
    HistoryQuery,
    RunOutcome,
    RunRequest,
    RunResult,
    RunStatus,
    SessionInfo,
    SessionState,
    Variables,
)
from runbridge.session_options import SessionOptions, refuse_options
from runbridge.sessions.apps import AppForwards
from runbridge.sessions.history import open_files, read_runs, select
from runbridge.sessions.idle import IdleClock
from runbridge.sessions.output import OutputBatch, RunOutput, Throttle, Transcript

log = logging.getLogger(__name__)

#: Terminal output is sent at once when quiet, and coalesced to this interval under load.
TERMINAL_FLUSH_S = 0.01


class Events(Protocol):
    """What the manager tells the editor."""

    def output(self, batch: OutputBatch) -> None: ...

    def session_changed(self, info: dict[str, Any]) -> None: ...

    def terminal_output(self, terminal_id: str, data: str) -> None: ...

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None: ...

    async def ask_input(self, params: dict[str, Any]) -> str | None: ...


@dataclass
class _Run:
    request: RunRequest
    cancelled: bool = False
    started: bool = False
    output: RunOutput | None = None


class _Session:
    def __init__(
        self, info: SessionInfo, backend: BackendSession, env: dict[str, str], idle: IdleClock
    ) -> None:
        self.info = info
        self.backend = backend
        self.env = env
        self.idle = idle
        #: File transfers and listings in progress (a session moving files is not idle).
        self.transfers = 0
        self.lock = asyncio.Lock()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.current: _Run | None = None
        self.queued: dict[str, _Run] = {}
        #: How many runs have started executing in this session.
        self.runs = 0
        self.transcript = Transcript(paths.transcript_file(info.name))


class _TerminalEntry:
    def __init__(self, session: str, terminal: Terminal | None = None) -> None:
        self.session = session
        self.terminal = terminal
        self.buffer: list[str] = []
        self.throttle: Throttle | None = None


class SessionManager:
    def __init__(self, settings: Settings, events: Events) -> None:
        self.settings = settings
        self.events = events
        self._backends: dict[str, Backend] = {}
        self._sessions: dict[str, _Session] = {}
        self._terminals: dict[str, _TerminalEntry] = {}
        self._idle_closes: set[asyncio.Task[None]] = set()
        self._closed = False
        #: The forwarded apps (service ports) of the open sessions.
        self.apps = AppForwards()

    # -- backends ------------------------------------------------------------
    def _backend(self, profile: Profile) -> Backend:
        backend = self._backends.get(profile.name)
        if backend is None:
            backend = self._backends[profile.name] = create_backend(profile)
        return backend

    # -- sessions --------------------------------------------------------------
    def _set_state(self, session: _Session, state: SessionState) -> None:
        if session.info.state == state:
            return
        session.info.state = state
        self.events.session_changed(_reused(session.info).to_wire())

    async def open(
        self,
        name: str,
        profile: str | None = None,
        image: str | None = None,
        env: dict[str, str] | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        options: SessionOptions | None = None,
        attach: str | None = None,
    ) -> SessionInfo:
        """Open the session ``name``, or reuse it when it is already open.

        ``on_status`` hears the backend's own status words while a new session
        starts (e.g. Backend.AI's PENDING and PREPARING, for a progress bar).
        ``options`` (Backend.AI session options, checked already) go over the
        profile's; reusing an open session with other ones is a ``SessionConflict``.
        ``attach``: bind ``name`` to the kernel or session of that id that already runs
        on the profile's server (one ``list_remote`` lists), starting nothing.
        """
        if self._closed:
            raise RunbridgeError("the daemon is shutting down")
        if attach is not None:
            _check_attach(name, attach, image, env, options)
        existing = self._sessions.get(name)
        if existing is not None:
            await asyncio.shield(existing.ready)
            if attach is not None and (
                not existing.info.attached or existing.info.remote_id != attach
            ):
                bound = (
                    f"attached to {quote(existing.info.remote_id or '')}"
                    if existing.info.attached
                    else "open, created by runbridge"
                )
                raise SessionConflict(
                    f"session {quote(name)} is already {bound}, not attached to "
                    f"{quote(attach)}; close it first or pick another name",
                    session=name,
                )
            if image is not None and image != existing.info.image:
                raise SessionConflict(
                    f"session {quote(name)} is already open with image "
                    f"{quote(existing.info.image or '')}, not {quote(image)}; close it first or "
                    "pick another name",
                    session=name,
                )
            if profile is not None and profile != existing.info.profile:
                raise SessionConflict(
                    f"session {quote(name)} is already open on profile "
                    f"{quote(existing.info.profile)}, not {quote(profile)}; close it first or "
                    "pick another name",
                    session=name,
                )
            if options is not None:
                _check_same_options(name, existing.info, options)
            self._touch(existing)
            return _reused(existing.info)
        chosen = self.settings.profile(profile)
        backend = self._backend(chosen)
        if attach is not None:
            self._check_not_bound(chosen.name, attach)
        try:  # files of the naming before names mapped one to one
            paths.move_legacy_files(name, self._sessions)
        except OSError as exc:
            log.warning("session %r: files of the old naming not moved: %s", name, exc)
        session_env = dict(env or {})
        holder: list[_Session] = []

        def status_changed(status: str) -> None:
            session = holder[0]
            session.info.backend_status = status
            self.events.session_changed(_reused(session.info).to_wire())
            if on_status is not None and not session.ready.done():
                on_status(status)

        backend_session = backend.open(
            name,
            image or chosen.image,
            session_env,
            on_state=lambda state: self._set_state(holder[0], state),
            on_status=status_changed,
            options=options,
            attach=attach,
        )
        info = SessionInfo(
            name=name,
            profile=chosen.name,
            backend=chosen.type,
            image=backend_session.image,
            state=SessionState.STARTING,
            created=True,
            workdir=backend_session.workdir,
            options=_options_of(backend_session),
            attached=attach is not None,
        )
        idle = IdleClock(
            chosen.idle_timeout_s,
            lambda: self._is_idle(holder[0]),
            lambda: self._close_when_idle(holder[0]),
        )
        session = _Session(info, backend_session, session_env, idle)
        holder.append(session)
        self._sessions[name] = session
        self.events.session_changed(_reused(info).to_wire())
        try:
            await backend_session.start()
        except BaseException as exc:
            self._sessions.pop(name, None)
            session.ready.set_exception(exc)
            session.ready.exception()  # consumed: waiters re-raise it themselves
            with contextlib.suppress(Exception):
                await backend_session.close()
            info.state = SessionState.CLOSED
            self.events.session_changed(_reused(info).to_wire())
            raise
        # A remote backend may have reused a session of that name that already existed.
        info.created = attach is None and backend_session.created is not False
        info.remote_id = backend_session.remote_id
        info.workdir = backend_session.workdir  # an attached kernel's is known once bound
        info.image = backend_session.image
        session.ready.set_result(None)
        self._set_state(session, SessionState.IDLE)
        self._touch(session)
        return _copy(info)

    async def check_profile(self, name: str | None) -> dict[str, Any]:
        """Whether sessions of profile ``name`` could open: ``{profile, type, ok, message}``."""
        profile = self.settings.profile(name)  # an unknown profile is a ConfigError
        result: dict[str, Any] = {"profile": profile.name, "type": profile.type}
        try:  # a profile missing keys, or of a type this daemon lacks, is "not ok" too
            message = await self._backend(profile).check(profile.image)
        except RunbridgeError as exc:
            return {**result, "ok": False, "message": exc.message}
        return {**result, "ok": True, "message": message}

    async def list_remote(self, name: str | None, all_profiles: bool = False) -> dict[str, Any]:
        """What runs on profile ``name``'s server that runbridge did not create:
        ``{profile, sessions, failures: []}``, each bound one naming its runbridge session.
        With ``all_profiles``, of every profile but ``local`` ones, at once, in the
        profiles' order: ``{profile: None, sessions, failures}``; a profile whose listing
        fails is a failure ``{profile, code, kind, message}`` (as its error reply would
        have them), the others are listed all the same."""
        if not all_profiles:
            one = self.settings.profile(name)  # an unknown profile is a ConfigError
            return {"profile": one.name, "sessions": await self._remote_of(one), "failures": []}
        profiles = [p for p in self.settings.profiles.values() if p.type != "local"]
        listed = await asyncio.gather(
            *(self._remote_of(p) for p in profiles), return_exceptions=True
        )
        sessions: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for profile, result in zip(profiles, listed, strict=True):
            if isinstance(result, RunbridgeError):
                failures.append(
                    {
                        "profile": profile.name,
                        "code": result.code,
                        "kind": result.kind,
                        "message": result.message,
                    }
                )
            elif isinstance(result, BaseException):
                raise result
            else:
                sessions.extend(result)
        return {"profile": None, "sessions": sessions, "failures": failures}

    async def _remote_of(self, profile: Profile) -> list[dict[str, Any]]:
        """The wire entries of what runs on ``profile``'s server that runbridge did not
        create, each naming its profile and the runbridge session bound to it."""
        remote = await self._backend(profile).list_remote()
        bound = {
            s.info.remote_id: s
            for s in self._sessions.values()
            if s.info.profile == profile.name and s.info.remote_id is not None
        }
        listed = []
        for entry in remote:
            session = bound.get(entry.id)
            if entry.own or (session is not None and not session.info.attached):
                continue  # runbridge's own
            entry.attached_as = session.info.name if session is not None else None
            entry.profile = profile.name
            listed.append(entry.to_wire())
        return listed

    def _check_not_bound(self, profile: str, remote_id: str) -> None:
        """Attaching ``remote_id`` that another open session of ``profile`` holds is a
        conflict (two runbridge names on one kernel would share its runs unknowingly)."""
        for session in self._sessions.values():
            info = session.info
            if info.profile == profile and info.remote_id == remote_id:
                raise SessionConflict(
                    f"{quote(remote_id)} is already open as session {quote(info.name)}; use "
                    "that name or close it first",
                    session=info.name,
                )

    def is_open(self, name: str) -> bool:
        return name in self._sessions

    def get(self, name: str) -> _Session:
        session = self._sessions.get(name)
        if session is None:
            names = sorted(self._sessions)
            known = ", ".join(quote(n, 40) for n in names[:10]) or "none open"
            if len(names) > 10:
                known += f" and {len(names) - 10} more"
            raise SessionNotFound(f"no session named {quote(name)} (open: {known})", session=name)
        return session

    async def _ready(self, name: str) -> _Session:
        session = self.get(name)
        await asyncio.shield(session.ready)
        return session

    def sessions(self) -> list[SessionInfo]:
        return [_reused(s.info) for s in self._sessions.values() if s.ready.done()]

    def run_count(self, name: str) -> int:
        """How many runs have started in session ``name`` (0 when it is not open)."""
        session = self._sessions.get(name)
        return session.runs if session is not None else 0

    async def close(self, name: str, *, detach: bool = False, destroy: bool = False) -> SessionInfo:
        """Close session ``name``.

        With ``detach`` (the daemon is exiting), the backend session's ``detach()``:
        a server that keeps sessions (Jupyter) keeps it, to be reattached by name.
        A session opened with ``attach`` is only let go of unless ``destroy``.
        """
        session = self.get(name)
        self._sessions.pop(name, None)
        session.idle.stop()
        for tid, entry in list(self._terminals.items()):
            if entry.session == name:
                self._terminals.pop(tid, None)
        for run in session.queued.values():
            run.cancelled = True
        await self.apps.close_session(name)
        with contextlib.suppress(BaseException):
            await asyncio.shield(session.ready)
        try:
            if detach:
                await session.backend.detach()
            else:
                await session.backend.close(destroy=destroy)
        finally:  # closed here even when the server could not be told
            session.transcript.close()
            self._set_state(session, SessionState.CLOSED)
        return _reused(session.info)

    async def interrupt(self, name: str) -> SessionInfo:
        session = await self._ready(name)
        for run in session.queued.values():
            run.cancelled = True
        await session.backend.interrupt()
        return _reused(session.info)

    async def restart(self, name: str) -> SessionInfo:
        session = await self._ready(name)
        before = session.info.state
        self._set_state(session, SessionState.STARTING)
        try:
            await session.backend.restart()
        except Unsupported:
            self._set_state(session, before)  # nothing happened to the session
            raise
        except BaseException:
            self._set_state(session, SessionState.DEAD)
            raise
        finally:
            self._touch(session)
        self._set_state(session, SessionState.BUSY if session.current else SessionState.IDLE)
        return _reused(session.info)

    # -- runs ------------------------------------------------------------------
    def enqueue(self, request: RunRequest) -> None:
        """Check a run and, when its session is open, queue it now (no await).

        Called as the request arrives, so an interrupt sent right behind it finds it.
        """
        request.check()
        session = self._sessions.get(request.session)
        if session is not None:
            queued = session.queued.get(request.run_id)
            current = session.current
            if (queued is not None and queued.request is not request) or (
                current is not None
                and current.request.run_id == request.run_id
                and current.request is not request
            ):
                raise InvalidParams(
                    f"runId {quote(request.run_id)} is in use by another run of session "
                    f"{quote(request.session)}",
                    field="runId",
                )
            session.queued.setdefault(request.run_id, _Run(request))

    async def run(self, request: RunRequest) -> RunResult:
        """Run code (query) or a batch job; waits for runs queued before it on the session."""
        self.enqueue(request)
        if request.session not in self._sessions:
            await self.open(request.session, request.profile, request.image)
        session = await self._ready(request.session)
        run = session.queued.setdefault(request.run_id, _Run(request))
        try:
            async with session.lock:
                session.queued.pop(request.run_id, None)
                if run.cancelled or session.info.state == SessionState.CLOSED:
                    outcome = RunOutcome(
                        RunStatus.INTERRUPTED, 130, message="cancelled before it started"
                    )
                    return RunResult(request.run_id, outcome, str(session.transcript.path))
                run.started = True
                session.runs += 1
                session.current = run
                self._touch(session)
                try:
                    return await self._execute(session, request)
                finally:
                    session.current = None
        finally:
            session.queued.pop(request.run_id, None)
            self._touch(session)

    async def _execute(self, session: _Session, request: RunRequest) -> RunResult:
        if session.info.state == SessionState.DEAD:
            self._set_state(session, SessionState.STARTING)
            await session.backend.restart()
        self._set_state(session, SessionState.BUSY)
        transcript = session.transcript
        transcript.retry()  # after a failure: the disk may have room again
        if transcript.rotate_if_over(int(self.settings.transcript_max_mb * 1024 * 1024)):
            log.info("transcript of %s rotated to %s", session.info.name, transcript.rotated_path)
        # not flushed on its own: it reaches the disk with the run's output records (at
        # the run's end, or before when the buffer fills), one write per run, not two
        transcript.mark(
            request.run_id, "run-start", flush=False, mode=request.mode, code=request.code
        )

        async def ask(run_id: str, prompt: str, password: bool) -> str | None:
            answer = await self.events.ask_input(
                {
                    "session": session.info.name,
                    "runId": run_id,
                    "prompt": prompt,
                    "password": password,
                }
            )
            self._touch(session)
            return answer

        output = RunOutput(
            session.info.name,
            request.run_id,
            self.events.output,
            ask,
            transcript,
            int(self.settings.output_cap_mb * 1024 * 1024),
        )
        if session.current is not None:
            session.current.output = output
        try:
            if request.mode == "batch":
                outcome = await session.backend.batch(request.options, request.code, output)
            else:
                outcome = await session.backend.execute(
                    request.code, output, request.options.timeout
                )
        except RunbridgeError as exc:
            outcome = RunOutcome(RunStatus.FAILED, None, message=exc.message)
        except Exception as exc:
            log.exception("run %s failed", request.run_id)
            outcome = RunOutcome(RunStatus.FAILED, None, message=f"backend lost: {exc}")
        except BaseException:
            output.close()  # cancelled: what the run printed still goes out, and to disk
            raise
        if outcome.status == RunStatus.FAILED and outcome.message:
            output.emit("stderr", f"[runbridge] run failed: {outcome.message}\n")
        transcript.mark(  # flushed: the run's records reach the disk in one write
            request.run_id,
            "run-end",
            status=str(outcome.status),
            exitCode=outcome.exit_code,
            bytes=output.total_bytes,
        )
        output.close()  # the run's last output (the transcript has nothing left to write)
        if session.info.state == SessionState.BUSY:
            self._set_state(session, SessionState.IDLE)
        return RunResult(request.run_id, outcome, str(transcript.path))

    async def history(self, name: str, query: HistoryQuery) -> dict[str, Any]:
        """The session's recent runs from its transcript, as they were streamed
        (``sessions/history.py``); a run in progress up to its last notification."""
        session = self.get(name)
        transcript = session.transcript
        transcript.flush()  # what was streamed is on disk, and the files opened now
        current = session.current
        streamed = {}
        if current is not None and current.output is not None:
            streamed[current.request.run_id] = current.output.sent_seq
        files = open_files([transcript.rotated_path, transcript.path])
        runs = await asyncio.to_thread(read_runs, files, streamed)
        return {"session": name, "transcript": str(transcript.path), **select(runs, query)}

    async def variables(self, name: str) -> Variables:
        """Session ``name``'s user variables (never opens it, never starts a kernel); the
        backend is told whether a run holds it, else it is held while it answers."""
        session = await self._ready(name)
        if session.info.state not in (SessionState.IDLE, SessionState.BUSY):
            return Variables([])
        if session.lock.locked():
            return await session.backend.variables(busy=True)
        async with session.lock:  # free: taken at once, no run can slip in
            return await session.backend.variables(busy=False)

    def is_executing(self, session_name: str, run_id: str) -> bool:
        """True while run ``run_id`` executes (it is neither queued nor done)."""
        session = self._sessions.get(session_name)
        current = session.current if session is not None else None
        return current is not None and current.request.run_id == run_id

    async def cancel_run(self, session_name: str, run_id: str) -> None:
        """Cancel a run: drop it from the queue, or interrupt it if it is executing."""
        session = self._sessions.get(session_name)
        if session is None:
            return
        queued = session.queued.get(run_id)
        if queued is not None:
            queued.cancelled = True
        current = session.current
        if current is not None and current.request.run_id == run_id:
            await session.backend.interrupt()

    # -- files -------------------------------------------------------------------
    async def upload(
        self, name: str, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        if name not in self._sessions:
            await self.open(name)
        session = await self._ready(name)
        with self._moving_files(session):
            return await session.backend.upload(files, dest, progress)

    async def download(
        self, name: str, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        session = await self._ready(name)
        with self._moving_files(session):
            return await session.backend.download(files, dest, progress)

    async def list_files(self, name: str, path: str) -> list[FolderEntry]:
        session = await self._ready(name)
        with self._moving_files(session):
            return await session.backend.list_files(path)

    # -- terminals ------------------------------------------------------------
    async def open_terminal(self, name: str, rows: int, cols: int) -> str:
        session = await self._ready(name)
        terminal_id = uuid.uuid4().hex[:12]
        entry = _TerminalEntry(name)

        def flush() -> None:
            if entry.buffer:
                data = "".join(entry.buffer)
                entry.buffer.clear()
                self.events.terminal_output(terminal_id, data)

        entry.throttle = Throttle(flush, TERMINAL_FLUSH_S)

        def on_output(data: str) -> None:
            self._touch(session)
            entry.buffer.append(data)
            assert entry.throttle is not None
            entry.throttle.poke()

        def on_exit(code: int | None) -> None:
            if entry.throttle is not None:
                entry.throttle.now()
            self._terminals.pop(terminal_id, None)
            self._touch(session)
            self.events.terminal_exit(terminal_id, code)

        self._terminals[terminal_id] = entry
        self._touch(session)
        try:
            entry.terminal = await session.backend.open_terminal(rows, cols, on_output, on_exit)
        except BaseException:
            self._terminals.pop(terminal_id, None)
            self._touch(session)
            raise
        return terminal_id

    def _terminal(self, terminal_id: str) -> Terminal:
        entry = self._terminals.get(terminal_id)
        if entry is None or entry.terminal is None:
            raise TerminalNotFound(
                f"no open terminal with id {quote(terminal_id)}", terminal=terminal_id
            )
        return entry.terminal

    def terminal_input(self, terminal_id: str, data: str) -> None:
        terminal = self._terminal(terminal_id)
        session = self._sessions.get(self._terminals[terminal_id].session)
        if session is not None:
            self._touch(session)
        terminal.write(data)

    def resize_terminal(self, terminal_id: str, rows: int, cols: int) -> None:
        self._terminal(terminal_id).resize(rows, cols)

    async def close_terminal(self, terminal_id: str) -> None:
        await self._terminal(terminal_id).close()

    async def close_terminals(self) -> None:
        """Close every terminal (their editor went away); sessions stay open."""
        entries = [e.terminal for e in self._terminals.values() if e.terminal is not None]
        await asyncio.gather(*(t.close() for t in entries), return_exceptions=True)

    # -- apps (service ports) -----------------------------------------------------------
    async def list_apps(self, name: str) -> list[dict[str, Any]]:
        session = await self._ready(name)
        return [app.to_wire() for app in await session.backend.list_apps()]

    async def open_app(
        self, name: str, app: str, local_port: int | None, port: int | None
    ) -> dict[str, Any]:
        session = await self._ready(name)
        forward = await session.backend.open_app(app, local_port, port)
        if self._sessions.get(name) is not session:  # closed meanwhile
            await forward.close()
            raise SessionNotFound(f"session {quote(name)} was closed", session=name)
        self._touch(session)
        return self.apps.add(name, forward).to_wire()

    async def close_app(self, app_id: str) -> None:
        await self.apps.close(app_id)

    def list_forwards(self, name: str | None) -> list[dict[str, Any]]:
        """The open forwards of session ``name`` (None: of every session)."""
        return [opened.to_wire() for opened in self.apps.listing(name)]

    # -- idle sessions -------------------------------------------------------------
    def _touch(self, session: _Session) -> None:
        session.idle.touch()
        session.info.last_activity = session.idle.last_activity

    def _is_idle(self, session: _Session) -> bool:
        """Nothing runs, waits to run, starts, moves files or has a terminal open."""
        name = session.info.name
        return (
            self._sessions.get(name) is session
            and session.ready.done()
            and session.info.state != SessionState.STARTING
            and session.current is None
            and not session.queued
            and not session.lock.locked()
            and session.transfers == 0
            and not any(entry.session == name for entry in self._terminals.values())
        )

    def _close_when_idle(self, session: _Session) -> None:
        task = asyncio.ensure_future(self._close_idle(session))
        self._idle_closes.add(task)
        task.add_done_callback(self._idle_closes.discard)

    async def _close_idle(self, session: _Session) -> None:
        name = session.info.name
        # checked again in the step that closes it: a run may have arrived since the timer
        if self._closed or not (self._is_idle(session) and session.idle.expired()):
            session.idle.rearm()  # not idle after all: its clock runs on
            return
        log.info(
            "session %r idle for %g min (profile %r): closing it",
            name,
            session.idle.timeout_s / 60,
            session.info.profile,
        )
        try:
            await self.close(name)
        except Exception:
            log.exception("session %r: closing it after its idle timeout failed", name)

    @contextlib.contextmanager
    def _moving_files(self, session: _Session) -> Iterator[None]:
        session.transfers += 1
        self._touch(session)
        try:
            yield
        finally:
            session.transfers -= 1
            self._touch(session)

    # -- shutdown ----------------------------------------------------------------
    async def aclose(self) -> None:
        """Close every session and backend (idempotent); idle timers end with their sessions,
        and a close an idle timeout began is waited for."""
        if self._closed:
            return
        self._closed = True
        names = list(self._sessions)
        await asyncio.gather(*(self.close(n, detach=True) for n in names), return_exceptions=True)
        await asyncio.gather(*self._idle_closes, return_exceptions=True)
        await asyncio.gather(*(b.aclose() for b in self._backends.values()), return_exceptions=True)


def _options_of(backend_session: BackendSession) -> SessionOptions | None:
    """The session options a backend session opened with (Backend.AI's), else None."""
    options = getattr(backend_session, "options", None)
    return options if isinstance(options, SessionOptions) else None


def _check_same_options(name: str, info: SessionInfo, options: SessionOptions) -> None:
    """Reusing open session ``name`` with ``options``: each field they set must be the
    open session's."""
    if info.options is None:
        refuse_options(options, info.profile, info.backend)
        return
    differs = options.conflict_with(info.options)
    if differs is not None:
        raise SessionConflict(
            f"session {quote(name)} is already open with other session options "
            f"({differs}); close it first or pick another name",
            session=name,
            field=f"options.{differs}",
        )


def _check_attach(
    name: str,
    attach: str,
    image: str | None,
    env: dict[str, str] | None,
    options: SessionOptions | None,
) -> None:
    """``attach`` takes what runs as it is: no image, no env, no session options."""
    if not attach.strip():
        raise InvalidParams("field 'attach' must not be empty", field="attach")
    if image is not None:
        raise InvalidParams(
            f"session {quote(name)}: 'image' cannot be given with 'attach' (the kernel that "
            "runs has its own)",
            field="image",
        )
    if env:
        raise InvalidParams(
            f"session {quote(name)}: 'env' cannot be given with 'attach' (the kernel that "
            "runs has its own environment)",
            field="env",
        )
    if options is not None:
        raise InvalidParams(
            f"session {quote(name)}: 'options' cannot be given with 'attach' (the session "
            "that runs has its own)",
            field="options",
        )


def _copy(info: SessionInfo) -> SessionInfo:
    return SessionInfo(**info.__dict__)


def _reused(info: SessionInfo) -> SessionInfo:
    copy = _copy(info)
    copy.created = False
    return copy
