"""One Backend.AI compute session behind runbridge's :class:`BackendSession` contract.

* ``start``: ``POST /session`` open-or-reuse by name (``enqueueOnly``), then poll
  ``GET /session/{name}`` while the cluster schedules it (PENDING, PREPARING,
  PULLING, ...), reporting ``starting`` through ``on_state``. The raw Backend.AI
  status is :attr:`BackendAISession.status`. The same name with another image is
  a :class:`~runbridge.errors.SessionConflict`.
* ``execute`` / ``batch``: the ``/stream/session/{name}/execute`` websocket when
  the manager has it, else the REST loop (``query``/``batch``, then ``continue``
  until ``finished``, ``input`` on ``waiting-input``), sending both ``runId`` and
  ``run_id``. Console records go to the sink (normalised by :mod:`.console`).
* files (upload, download, listing): :mod:`.files`.
* terminals: :mod:`.pty`; ``close``: destroy the session.

The remote work folder is ``/home/work`` (:data:`~.files.WORKDIR`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from runbridge.backends.backendai import files as work_folder
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.console import normalize_console, user_error_from_stderr
from runbridge.backends.backendai.errors import (
    BackendAIError,
    BackendAINotImplemented,
    BackendAISessionExists,
    BackendAISessionNotFound,
    BackendAIStreamUnavailable,
    BackendAIUploadRefused,
)
from runbridge.backends.backendai.files import UPLOAD_MAX_BYTES, WORKDIR, size_text
from runbridge.backends.backendai.pty import pty_terminal
from runbridge.backends.base import (
    ProgressCallback,
    RunSink,
    StateCallback,
    Terminal,
    TerminalExit,
    TerminalOutput,
)
from runbridge.backends.remote.websocket_terminal import WebSocketTerminal
from runbridge.errors import BackendError, InvalidParams, SessionConflict
from runbridge.languages import batch_file
from runbridge.model import (
    BatchOptions,
    FileEntry,
    FolderEntry,
    RunOutcome,
    RunStatus,
    SessionState,
    exec_timeout_outcome,
)

log = logging.getLogger(__name__)

#: Image used when neither the request nor the profile names one.
DEFAULT_IMAGE = "python"

#: Session names the manager accepts (legacy rule, reference §2.2): 4-64 ASCII characters.
SESSION_NAME = re.compile(r"^(?=.{4,64}$)[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]$")

#: Statuses of a session that is on its way to RUNNING.
STARTING_STATUSES = frozenset(
    {
        "PENDING",
        "DEPRIORITIZING",
        "RESERVED",
        "SCHEDULED",
        "PREPARING",
        "PULLING",
        "PREPARED",
        "CREATING",
        "RESTARTING",
        "RESCHEDULING",
        "PREEMPTED",
        "TIMEOUT",  # create-response only: maxWaitSeconds passed, still scheduling
    }
)
RUNNING_STATUSES = frozenset({"RUNNING", "RUNNING_DEGRADED"})
ENDED_STATUSES = frozenset({"TERMINATING", "TERMINATED", "ERROR", "CANCELLED"})
#: How many characters of a status the manager reports are kept (it is shown).
STATUS_LIMIT = 40

#: Polling while the session starts: first interval, growth, cap; overall limit.
START_POLL_S = 0.25
START_POLL_MAX_S = 2.0
START_TIMEOUT_S = 1800.0


@dataclass
class _Run:
    """What one run has seen so far."""

    mode: str
    interrupted: bool = False
    interrupt_sent: bool = False
    input_cancelled: bool = False
    stderr: list[str] = field(default_factory=list)
    #: Exit code of the first failing batch step (clean, build, exec).
    first_failure: int | None = None
    #: The execute websocket while the run streams (``close`` ends it).
    ws: ClientConnection | None = None


class BackendAISession:
    """A Backend.AI compute session; implements :class:`runbridge.backends.base.BackendSession`."""

    def __init__(
        self,
        client: BackendAIClient,
        name: str,
        image: str | None,
        env: dict[str, str],
        on_state: StateCallback,
        *,
        group: str = "default",
        domain: str = "default",
        resources: dict[str, Any] | None = None,
        start_timeout: float = START_TIMEOUT_S,
        poll_interval: float = START_POLL_S,
    ) -> None:
        self.client = client
        self.name = name
        self.image = image or DEFAULT_IMAGE
        self.env = dict(env)
        self.workdir = WORKDIR
        self._on_state = on_state
        self.group = group
        self.domain = domain
        self.resources = dict(resources or {})
        self.start_timeout = start_timeout
        self.poll_interval = poll_interval
        #: The raw Backend.AI status (PENDING, PREPARING, RUNNING, ...), for messages.
        self.status: str | None = None
        self.status_info: str | None = None
        #: Called with each new raw status (the front may show it, e.g. in ``$/progress``).
        self.on_status: Callable[[str], None] | None = None
        self.session_id: str | None = None
        #: False when the manager reused an existing session of that name.
        self.created: bool | None = None
        #: Whether the execute websocket works (None: not tried yet).
        self.stream_execute: bool | None = None
        self._run: _Run | None = None
        self._terminals: list[WebSocketTerminal] = []
        self._ref = quote(name, safe="")
        #: True when the manager refused our ``POST /session`` (another image, quota,
        #: auth): the name may then belong to a session opened elsewhere, which
        #: ``close`` must not destroy.
        self._create_refused = False
        #: Set by ``close``: a run failing after it is a run of a closed session.
        self._closing = False
        #: The next run's execute websocket, opened in the background after a run so that
        #: the connect and signed upgrade (~1 ms) are off the next run's critical path.
        self._spare: asyncio.Task[ClientConnection] | None = None
        #: Execute websockets of finished runs whose closing handshake is under way.
        self._closing_sockets: set[asyncio.Task[None]] = set()

    # -- state ---------------------------------------------------------------------
    def _set_status(self, status: str | None, info: Any = None) -> None:
        if not status:
            return
        # server text, shown in messages and sent to the editor: masked and bounded
        status = self.client.quote(str(status), STATUS_LIMIT).upper()
        self.status_info = None if info in (None, "", "None") else self.client.quote(str(info))
        if status == self.status:
            return
        self.status = status
        if self.on_status is not None:
            self.on_status(status)
        if status in STARTING_STATUSES:
            self._on_state(SessionState.STARTING)

    def _where(self) -> str:
        return f"Backend.AI manager {self.client.endpoint}"

    # -- lifecycle -------------------------------------------------------------------
    def _create_body(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.env:
            config["environ"] = self.env
        if self.resources:
            config["resources"] = self.resources
        return {
            "name": self.name,
            "image": self.image,
            "type": "interactive",
            "group": self.group,
            "domain": self.domain,
            "clusterSize": 1,
            "config": config,
            "enqueueOnly": True,
            "maxWaitSeconds": 0,
            "reuseIfExists": True,
        }

    async def start(self) -> None:
        """Create the session, or reuse the one of that name (same image), and wait for it."""
        if not SESSION_NAME.match(self.name):
            raise InvalidParams(
                f"session name {self.name!r} is not valid on Backend.AI: use 4 to 64 letters, "
                "digits, '_', '-' or '.', starting and ending with a letter, digit or '_'",
                field="name",
                session=self.name,
            )
        self._create_refused = False
        try:
            body = await self.client.call_json(
                "POST",
                "/session",
                json=self._create_body(),
                what=f"creating session {self.name!r}",
            )
        except BackendAISessionExists as exc:
            self._create_refused = True
            raise await self._conflict(exc) from None
        except BackendAIError as exc:
            if exc.status is not None:  # refused: nothing was created
                self._create_refused = True
            raise
        session_id = body.get("sessionId") or body.get("sessId")
        self.session_id = str(session_id) if session_id else None
        created = body.get("created")
        self.created = bool(created) if created is not None else None
        self._set_status(body.get("status") or "PENDING")
        await self._wait_running()

    async def _conflict(self, exc: BackendAISessionExists) -> SessionConflict:
        existing: str | None = None
        with contextlib.suppress(BackendAIError):
            info = await self.info()
            image = info.get("image") or info.get("lang")
            existing = str(image) if image else None
        if existing and existing != self.image:
            what = f"with image {self.client.quote(repr(existing), 200)}, not {self.image!r}"
        else:
            what = "with another image or settings"
        return SessionConflict(
            f"session {self.name!r} already exists on {self._where()} {what}; close it "
            "first or pick another name",
            session=self.name,
            endpoint=self.client.endpoint,
        )

    async def info(self) -> dict[str, Any]:
        """``GET /session/{name}``: the manager's view of the session."""
        return await self.client.call_json(
            "GET",
            f"/session/{self._ref}",
            what=f"reading session {self.name!r}",
            session=self.name,
        )

    async def _wait_running(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        interval = self.poll_interval
        while True:
            status = self.status or ""
            if status in RUNNING_STATUSES:
                return
            if status in ENDED_STATUSES:
                why = f" ({self.status_info})" if self.status_info else ""
                raise BackendError(
                    f"session {self.name!r} on {self._where()} became {status} while "
                    f"starting{why}; check its image and resources, then open it again",
                    session=self.name,
                    status=status,
                )
            if loop.time() >= deadline:
                raise BackendError(
                    f"session {self.name!r} on {self._where()} is still {status} after "
                    f"{self.start_timeout:g} s (no free resources?); close it or retry later",
                    session=self.name,
                    status=status,
                )
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, START_POLL_MAX_S)
            info = await self.info()
            self._set_status(info.get("status"), info.get("statusInfo"))

    async def interrupt(self) -> None:
        run = self._run
        if run is not None:
            run.interrupted = True
        await self.client.request(
            "POST",
            f"/session/{self._ref}/interrupt",
            what=f"interrupting session {self.name!r}",
            session=self.name,
        )

    async def restart(self) -> None:
        """``PATCH /session/{name}``; a session that is gone is created again."""
        await self._drop_spare()  # a stream opened before the restart may not outlive it
        try:
            await self.client.request(
                "PATCH",
                f"/session/{self._ref}",
                what=f"restarting session {self.name!r}",
                session=self.name,
            )
        except BackendAISessionNotFound:
            self.status = None
            await self.start()
            return
        except BackendAINotImplemented as exc:
            gone = False
            try:
                await self.info()
            except BackendAISessionNotFound:
                gone = True
            except BackendAIError:
                pass
            if gone:
                # the session is gone (e.g. idle timeout): a new one is the restart
                self.status = None
                await self.start()
                return
            raise BackendAINotImplemented(
                f"{self._where()} no longer supports restarting a session (HTTP 501); close "
                f"session {self.name!r} and open it again for a fresh kernel (files in "
                f"{WORKDIR} are lost with it)",
                status=exc.status,
                problem=exc.problem,
                session=self.name,
            ) from None
        info = await self.info()
        self._set_status(info.get("status"), info.get("statusInfo"))
        await self._wait_running()

    async def close(self) -> None:
        """Close the terminals and destroy the session (one already gone is fine).

        A session whose creation the manager refused (another image, quota, auth) is
        not destroyed: that name may be a session someone opened elsewhere.
        """
        run = self._run
        if run is not None:  # a run executing now ends interrupted
            run.interrupted = True
        self._closing = True
        await self._drop_spare()
        await asyncio.gather(*self._closing_sockets, return_exceptions=True)
        await asyncio.gather(*(t.close() for t in self._terminals), return_exceptions=True)
        self._terminals.clear()
        if self._create_refused:
            self.status = "TERMINATED"
            return
        try:
            with contextlib.suppress(BackendAISessionNotFound):
                await self.client.request(
                    "DELETE",
                    f"/session/{self._ref}",
                    params={"forced": "true"},
                    what=f"destroying session {self.name!r}",
                    session=self.name,
                )
        finally:
            if run is not None and run.ws is not None:
                # do not wait for the manager to end the stream of a destroyed session
                with contextlib.suppress(Exception):
                    await run.ws.close()
        self.status = "TERMINATED"

    async def detach(self) -> None:
        """The daemon is exiting: the session is destroyed, as by :meth:`close`."""
        await self.close()

    # -- runs --------------------------------------------------------------------------
    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        return await self._execute("query", code, {}, sink, timeout)

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        exec_cmd = options.exec
        if code:
            ext, interpreter = batch_file(options.language)
            name = f".runbridge/batch-{uuid.uuid4().hex[:12]}.{ext}"
            data = code.encode()
            if len(data) >= UPLOAD_MAX_BYTES:
                raise BackendAIUploadRefused(
                    f"the batch code is {size_text(len(data))}; the Backend.AI manager accepts "
                    f"files under {size_text(UPLOAD_MAX_BYTES)}: upload it as files instead",
                    session=self.name,
                )
            await work_folder.post_files(self.client, self.name, [(name, data)])
            if not exec_cmd and interpreter is not None:
                exec_cmd = f"{interpreter} {name}"
        batch_options = {
            "clean": options.clean,
            "build": options.build,
            "buildLog": False,
            "exec": exec_cmd,
        }
        return await self._execute("batch", "", batch_options, sink, options.timeout)

    async def _execute(
        self,
        mode: str,
        code: str,
        options: dict[str, Any],
        sink: RunSink,
        timeout: float | None,
    ) -> RunOutcome:
        run = _Run(mode)
        self._run = run
        try:
            async with asyncio.timeout(timeout):
                try:
                    return await self._dispatch(run, code, options, sink)
                except asyncio.CancelledError:
                    await self._quiet_interrupt()
                    raise
        except TimeoutError:
            if timeout is None:
                raise
            await self._quiet_interrupt()
            return exec_timeout_outcome(timeout)
        except BackendAISessionNotFound as exc:
            if self._closing:
                return RunOutcome(RunStatus.INTERRUPTED, 130, message="the session was closed")
            self._on_state(SessionState.DEAD)
            return RunOutcome(RunStatus.FAILED, None, message=exc.message)
        except BackendAIError:
            if self._closing:
                return RunOutcome(RunStatus.INTERRUPTED, 130, message="the session was closed")
            raise
        finally:
            self._run = None

    async def _dispatch(
        self, run: _Run, code: str, options: dict[str, Any], sink: RunSink
    ) -> RunOutcome:
        if self.stream_execute is not False:
            request = json.dumps({"code": code, "mode": run.mode, "options": options})
            ws = await self._take_spare(request)
            if ws is None:
                try:
                    ws = await self._connect_execute()
                except BackendAIStreamUnavailable:
                    log.info("no execute stream on %s: using the REST loop", self.client.endpoint)
                    self.stream_execute = False
                else:
                    await ws.send(request)
            if ws is not None:
                self.stream_execute = True
                run.ws = ws
                try:
                    return await self._stream_loop(ws, run, sink)
                finally:
                    # The closing handshake waits for the manager's close frame: do it
                    # off the run's critical path (the run's reply goes out first).
                    self._close_later(ws)
                    self._prepare_spare()
        return await self._rest_loop(run, code, options, sink)

    def _connect_execute(self) -> Any:
        return self.client.ws_connect(
            f"/stream/session/{self._ref}/execute",
            what=f"running code in session {self.name!r}",
            session=self.name,
        )

    def _close_later(self, ws: ClientConnection) -> None:
        task = asyncio.create_task(ws.close())
        self._closing_sockets.add(task)
        task.add_done_callback(self._closing_sockets.discard)

    def _prepare_spare(self) -> None:
        if self._closing or self.stream_execute is not True or self._spare is not None:
            return
        self._spare = asyncio.create_task(self._connect_execute())

    async def _take_spare(self, request: str) -> ClientConnection | None:
        """The spare execute websocket with ``request`` sent on it, or None if it is unusable."""
        task, self._spare = self._spare, None
        if task is None:
            return None
        try:
            ws: ClientConnection = await task
        except (Exception, asyncio.CancelledError):
            return None
        # Open the next run's socket while this run executes, so that back-to-back runs
        # never wait for a connect and a signed upgrade.
        self._prepare_spare()
        try:
            await ws.send(request)
        except ConnectionClosed:  # the manager closed the idle socket: connect afresh
            return None
        return ws

    async def _drop_spare(self) -> None:
        task, self._spare = self._spare, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(BaseException):
            ws = await task
            await ws.close()

    async def _quiet_interrupt(self) -> None:
        """Interrupt the current run once (timeout, cancellation, cancelled input)."""
        run = self._run
        if run is not None:
            if run.interrupt_sent:
                return
            run.interrupt_sent = True
        with contextlib.suppress(Exception):
            await asyncio.shield(self.interrupt())

    def _emit(self, run: _Run, console: Any, sink: RunSink, waiting: bool) -> str:
        """Forward a console list; with ``waiting``, hold back the prompt (the last stdout line).

        Returns the held-back prompt ("" when none): the sink shows it when it asks.
        """
        records = normalize_console(console)
        prompt = ""
        if waiting and records and records[-1][0] == "stdout":
            text = records[-1][1]
            head, sep, tail = text.rpartition("\n")
            prompt = tail
            records[-1] = ("stdout", head + sep)
        for kind, data in records:
            if kind == "stderr":
                run.stderr.append(data)
            if data or kind not in ("stdout", "stderr"):
                sink.emit(kind, data)
        return prompt

    def _step(self, run: _Run, result: dict[str, Any]) -> None:
        code = result.get("exitCode")
        if isinstance(code, int) and code != 0 and run.first_failure is None:
            run.first_failure = code

    def _outcome(self, run: _Run, status: str, result: dict[str, Any]) -> RunOutcome:
        if run.input_cancelled:
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="input cancelled")
        if run.interrupted:
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="interrupted")
        if status == "exec-timeout":
            return RunOutcome(
                RunStatus.EXEC_TIMEOUT,
                124,
                message="the Backend.AI kernel stopped the run at its execution time limit",
            )
        code = result.get("exitCode")
        exit_code = code if isinstance(code, int) else 0
        if run.mode == "batch":
            self._step(run, result)
            exit_code = run.first_failure if run.first_failure is not None else exit_code
            return RunOutcome(RunStatus.FINISHED, exit_code)
        error = user_error_from_stderr("".join(run.stderr))
        return RunOutcome(RunStatus.FINISHED, exit_code, error=error)

    async def _rest_loop(
        self, run: _Run, code: str, options: dict[str, Any], sink: RunSink
    ) -> RunOutcome:
        run_id = uuid.uuid4().hex
        body: dict[str, Any] = {
            "mode": run.mode,
            "code": code,
            "runId": run_id,
            "run_id": run_id,
            "options": options,
        }
        path = f"/session/{self._ref}"
        what = f"running code in session {self.name!r}"
        while True:
            answer = await self.client.call_json(
                "POST", path, json=body, what=what, session=self.name
            )
            result = answer.get("result")
            if not isinstance(result, dict):
                raise BackendAIError(
                    f"{self._where()} answered a run without a result: "
                    f"{self.client.quote(str(answer), 200)}",
                    session=self.name,
                )
            run_id = str(result.get("runId") or result.get("run_id") or run_id)
            status = str(result.get("status") or "")
            waiting = status == "waiting-input"
            prompt = self._emit(run, result.get("console"), sink, waiting)
            if status in ("finished", "exec-timeout"):
                return self._outcome(run, status, result)
            if waiting:
                value = await self._ask(run, result, prompt, sink)
                if value is None:
                    await self._quiet_interrupt()
                    value = ""
                body = {"mode": "input", "code": value, "runId": run_id, "run_id": run_id}
                continue
            if status in ("build-finished", "clean-finished"):
                self._step(run, result)
            elif status != "continued":
                log.warning(
                    "unknown run status %s; continuing", self.client.quote(repr(status), 100)
                )
            body = {"mode": "continue", "code": "", "runId": run_id, "run_id": run_id}

    async def _ask(
        self, run: _Run, result: dict[str, Any], prompt: str, sink: RunSink
    ) -> str | None:
        opts = result.get("options")
        password = bool(opts.get("is_password")) if isinstance(opts, dict) else False
        try:
            value = await sink.ask_input(prompt, password)
        except Exception as exc:
            log.warning("input request failed: %s", exc)
            value = None
        if value is None:
            run.input_cancelled = True
        return value

    async def _stream_loop(
        self,
        ws: ClientConnection,
        run: _Run,
        sink: RunSink,
    ) -> RunOutcome:
        """Read a run's frames from ``ws``, on which its request has been sent."""
        try:
            return await self._stream_frames(ws, run, sink)
        except asyncio.CancelledError:
            # interrupt before the socket closes (a timeout or a cancelled run)
            await self._quiet_interrupt()
            raise

    async def _stream_frames(self, ws: ClientConnection, run: _Run, sink: RunSink) -> RunOutcome:
        try:
            while True:
                # recv, not `async for`: a generator left at the run's end is finalized by
                # a callback from the garbage collector, an extra loop wake-up per run
                frame = await ws.recv()
                try:
                    result = json.loads(frame)
                except (ValueError, UnicodeDecodeError):
                    continue
                if not isinstance(result, dict):
                    continue
                status = str(result.get("status") or "")
                if status in ("error", "server-restarting"):
                    return RunOutcome(
                        RunStatus.FAILED,
                        None,
                        message=f"{self._where()} stopped the run: "
                        f"{self.client.quote(str(result.get('msg') or status))}",
                    )
                waiting = status == "waiting-input"
                prompt = self._emit(run, result.get("console"), sink, waiting)
                if status in ("finished", "exec-timeout"):
                    return self._outcome(run, status, result)
                if waiting:
                    value = await self._ask(run, result, prompt, sink)
                    if value is None:
                        # Dropping the stream makes the manager interrupt the kernel.
                        await self._quiet_interrupt()
                        return self._outcome(run, "finished", {})
                    await ws.send(value)
                elif status in ("build-finished", "clean-finished"):
                    self._step(run, result)
        except ConnectionClosed:
            pass
        if run.interrupted:
            return self._outcome(run, "finished", {})
        return RunOutcome(
            RunStatus.FAILED,
            None,
            message=f"the connection to {self._where()} dropped before the run finished "
            "(the manager interrupts a run whose stream is lost)",
        )

    # -- files (work_folder) ----------------------------------------------------------
    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return await work_folder.upload(self.client, self.name, files, dest, progress)

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return await work_folder.download(self.client, self.name, files, dest, progress)

    async def list_files(self, path: str = ".") -> list[FolderEntry]:
        return await work_folder.list_folder(self.client, self.name, path)

    # -- terminals -------------------------------------------------------------------
    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal:
        ws = await self.client.ws_connect(
            f"/stream/session/{self._ref}/pty",
            what=f"opening a terminal on session {self.name!r}",
            session=self.name,
        )
        terminal = pty_terminal(ws, on_output, on_exit)
        terminal.start(rows, cols)
        self._terminals = [t for t in self._terminals if not t.exited]
        self._terminals.append(terminal)
        return terminal
