"""The runs of one Backend.AI compute session: how code reaches the kernel and comes back.

* the ``/stream/session/{name}/execute`` websocket when the manager has it (one request
  frame, then result frames; the input answer is a frame). The next run's websocket (the
  spare) is opened in the background while a run executes, so back-to-back runs never
  wait for a connect and a signed upgrade; a finished run's websocket closes after its
  result has gone on.
* else the REST loop: ``POST /session/{name}`` with ``query``/``batch``, then ``continue``
  until ``finished``, ``input`` on ``waiting-input``, sending both ``runId`` and ``run_id``.

Console records go to the sink (normalised by :mod:`.console`). A run ends with a
:class:`~runbridge.model.RunOutcome`: finished (exit code, error from stderr), interrupted
(interrupt, cancelled input, session closed), timed out (ours or the kernel's), failed.
:class:`SessionRuns` is owned by :class:`~.session.BackendAISession`, which keeps the
session's lifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.console import normalize_console, user_error_from_stderr
from runbridge.backends.backendai.errors import (
    BackendAIError,
    BackendAISessionNotFound,
    BackendAIStreamUnavailable,
)
from runbridge.backends.base import RunSink, StateCallback
from runbridge.model import RunOutcome, RunStatus, SessionState, exec_timeout_outcome

log = logging.getLogger(__name__)


@dataclass
class _Run:
    """What one run has seen so far."""

    mode: str
    interrupted: bool = False
    interrupt_sent: bool = False
    #: Interrupted before the manager answered the run at all: the kernel may not have
    #: begun the code then (a Python kernel ignores that interrupt), so the interrupt is
    #: sent again when the manager says the run goes on (``continued``).
    interrupt_early: bool = False
    input_cancelled: bool = False
    stderr: list[str] = field(default_factory=list)
    #: Exit code of the first failing batch step (clean, build, exec).
    first_failure: int | None = None
    #: The execute websocket while the run streams (``close`` ends it).
    ws: ClientConnection | None = None
    #: How many result frames of the manager the run has read (a dropped stream says so).
    frames: int = 0


class SessionRuns:
    """The current run of one session, its execute websockets (the run's, the spare, the
    closing ones) and whether the manager has the execute stream."""

    def __init__(
        self,
        client: BackendAIClient,
        name: str,
        on_state: StateCallback,
        interrupt: Callable[[], Awaitable[None]],
        *,
        ref: str | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self._on_state = on_state
        #: The session's interrupt (``POST /session/{name}/interrupt``).
        self._interrupt = interrupt
        #: Whether the execute websocket works (None: not tried yet).
        self.stream_execute: bool | None = None
        self._run: _Run | None = None
        #: How the manager's paths name the session: its name, or (attached) its id.
        self._ref = quote(ref or name, safe="")
        #: Set by ``close``: a run failing after it is a run of a closed session.
        self._closing = False
        #: The run executing when ``close`` began (its websocket is closed at the end).
        self._closed_run: _Run | None = None
        #: The next run's execute websocket, opened in the background after a run so that
        #: the connect and signed upgrade (~1 ms) are off the next run's critical path.
        self._spare: asyncio.Task[ClientConnection] | None = None
        #: Execute websockets of finished runs whose closing handshake is under way.
        self._closing_sockets: set[asyncio.Task[None]] = set()
        #: Interrupts sent again (:meth:`_interrupt_again`), kept until they are done.
        self._interrupts: set[asyncio.Task[None]] = set()

    @staticmethod
    def _in_background(work: Coroutine[Any, Any, None], into: set[asyncio.Task[None]]) -> None:
        """Run ``work`` in a task held in ``into`` until it is done."""
        task = asyncio.create_task(work)
        into.add(task)
        task.add_done_callback(into.discard)

    @property
    def busy(self) -> bool:
        """A run is executing."""
        return self._run is not None

    def note_interrupt(self) -> None:
        """The run executing now (if any) ends interrupted."""
        run = self._run
        if run is not None:
            run.interrupted = True
            if run.frames == 0:
                run.interrupt_early = True

    def _interrupt_again(self, run: _Run) -> None:
        """The manager says ``run`` goes on: an interrupt sent before it answered first
        may have come before the kernel began the code; send it again (once)."""
        if not run.interrupt_early:
            return
        run.interrupt_early = False
        log.info("run in %s interrupted before the kernel began it: interrupting again", self.name)

        async def again() -> None:
            with contextlib.suppress(Exception):
                await self._interrupt()

        self._in_background(again(), self._interrupts)

    async def close(self) -> None:
        """The session is closing: the run executing now ends interrupted, no spare
        websocket is kept or opened again, finished runs' websockets finish closing."""
        self._closed_run = self._run
        self.note_interrupt()
        self._closing = True
        await self.drop_spare()
        await asyncio.gather(*self._closing_sockets, return_exceptions=True)

    async def detach(self) -> None:
        """The daemon is exiting and the session is kept on the manager: the run executing
        now (if any) is interrupted, errors ignored, and ends like a run of a closed session;
        its websocket and the spare are closed, the session is not touched."""
        await self.close()
        if self._closed_run is not None and self._run is self._closed_run:
            await self._quiet_interrupt()
        await self.close_stream()

    async def close_stream(self) -> None:
        """After :meth:`close`, the session destroyed: close the websocket of the run that
        was executing, not waiting for the manager to end the stream of a destroyed session."""
        run = self._closed_run
        if run is not None and run.ws is not None:
            with contextlib.suppress(Exception):
                await run.ws.close()

    async def run(
        self,
        mode: str,
        code: str,
        options: dict[str, Any],
        sink: RunSink,
        timeout: float | None,
    ) -> RunOutcome:
        """Run ``code`` in ``mode`` (``query`` or ``batch`` with its ``options``)."""
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
        self._in_background(ws.close(), self._closing_sockets)

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

    async def drop_spare(self) -> None:
        """Close the spare execute websocket (a restart or close: it may not outlive them)."""
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
            await asyncio.shield(self._interrupt())

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
            why = "the session was closed" if self._closing else "interrupted"
            return RunOutcome(RunStatus.INTERRUPTED, 130, message=why)
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
                    f"{self.client.where} answered a run without a result: "
                    f"{self.client.quote(str(answer), 200)}",
                    session=self.name,
                )
            run.frames += 1
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
            elif status == "continued":
                self._interrupt_again(run)
            else:
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
                run.frames += 1
                status = str(result.get("status") or "")
                if status in ("error", "server-restarting"):
                    return RunOutcome(
                        RunStatus.FAILED,
                        None,
                        message=f"{self.client.where} stopped the run: "
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
                elif status == "continued":
                    self._interrupt_again(run)
        except ConnectionClosed:
            pass
        if run.interrupted:
            return self._outcome(run, "finished", {})
        # The spare was opened on the same way to the manager: the next run connects afresh.
        await self.drop_spare()
        return dropped_outcome(self.client.where, run.frames)


def dropped_outcome(where: str, frames: int) -> RunOutcome:
    """A run whose execute websocket dropped before its end: ``failed``, and why.

    The manager interrupts a run whose stream it loses, and an execute stream cannot be
    resumed (a new socket is a new run), so what the run printed after the last result
    received is lost and its code may have stopped partway; the session stays usable.
    """
    got = f"after the {frames} result{'s' if frames != 1 else ''} received" if frames else ""
    return RunOutcome(
        RunStatus.FAILED,
        None,
        message=f"the connection to {where} dropped before the run finished; a Backend.AI "
        "run cannot be resumed on a new connection (the manager interrupts a run whose "
        f"stream is lost), so any output it printed {got or 'before its end'} is missing "
        "here and its code may have stopped partway. The session is still open (variables "
        "set before the drop are kept): run again to go on",
    )
