"""One execute request in flight: its console records, its state, and its outcome."""

from __future__ import annotations

import asyncio
from typing import Any

from runbridge import mime
from runbridge.ansi import strip_ansi
from runbridge.backends.base import RunSink
from runbridge.model import RunOutcome, RunStatus, UserError, exec_timeout_outcome

#: The outcome's message of a run the kernel ended (status idle) without replying to it.
NO_REPLY = "the kernel ended the run without replying to it (its output is kept)"


class KernelRun:
    """One ``execute_request``: done once both its ``execute_reply`` and its
    ``status: idle`` arrived, or when the core ends it early (:meth:`end`)."""

    def __init__(self, msg_id: str, sink: RunSink) -> None:
        self.msg_id = msg_id
        self.sink = sink
        self.reply: dict[str, Any] | None = None
        self.idle = False
        self.done = asyncio.Event()
        #: Loop time of the run's last message (or of its start).
        self.last_activity = 0.0
        #: Why the run ended early, as its failure message (the kernel died, was restarted).
        self.aborted: str | None = None
        #: The session was closed (or detached) while the run executed.
        self.closed = False
        #: This daemon interrupted the kernel during the run (a timeout, a cancelled
        #: prompt, an interrupt request): the interrupt is not someone else's.
        self.interrupt_sent = False
        #: The kernel has begun to run the code (its ``execute_input`` arrived).
        self.executing = False
        #: An interrupt was sent before that: a kernel may have ignored it (a Python kernel
        #: ignores SIGINT between requests), so it is sent again once the code runs.
        self.interrupt_early = False
        self.input_cancelled = False
        self.input_task: asyncio.Task[None] | None = None
        #: Other tasks of the run (an interrupt sent again), cancelled when it ends.
        self.tasks: list[asyncio.Task[None]] = []
        self.error: UserError | None = None
        #: Keys of the notes already written to this run's stderr (:meth:`note_once`).
        self._noted: set[str] = set()

    def check_done(self) -> None:
        if self.reply is not None and self.idle:
            self.done.set()

    def end(self, *, aborted: str | None = None, closed: bool = False) -> None:
        """End the run now (when it is not done yet): ``failed`` with ``aborted`` as its
        message, or ``interrupted`` because its session was ``closed``."""
        if self.done.is_set():
            return
        self.aborted = aborted
        self.closed = closed
        self.done.set()

    def note_once(self, key: str, text: str) -> None:
        """Write runbridge's ``text`` to the run's stderr, once per run for each ``key``."""
        if key not in self._noted:
            self._noted.add(key)
            self.sink.emit("stderr", text)

    def on_reply(self, content: dict[str, Any]) -> None:
        self.reply = content
        self.check_done()

    def on_iopub(self, kind: str, content: dict[str, Any]) -> None:
        """One IOPub message of this run: output to the sink, the error, the idle."""
        sink = self.sink
        if kind == "stream":
            sink.emit(str(content.get("name", "stdout")), str(content.get("text", "")))
        elif kind in ("display_data", "execute_result", "update_display_data"):
            data = content.get("data")
            record = mime.record_from_bundle(data if isinstance(data, dict) else {})
            if record is not None:
                sink.emit(*record, mime.display_of(kind, content))
        elif kind == "error":
            traceback = [str(line) for line in content.get("traceback") or []]
            sink.emit("stderr", "\n".join(traceback) + "\n")
            self.error = UserError(
                ename=str(content.get("ename", "")),
                evalue=str(content.get("evalue", "")),
                traceback=[strip_ansi(line) for line in traceback],
            )
        elif kind == "clear_output":
            sink.emit(*mime.clear_record(bool(content.get("wait", False))))
        elif kind == "status" and content.get("execution_state") == "idle":
            self.idle = True
            self.check_done()

    def outcome(self, timeout: float | None, timed_out: bool) -> RunOutcome:
        """The run's outcome, once it is over."""
        if self.closed:
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="the session was closed")
        if self.aborted is not None:
            return RunOutcome(RunStatus.FAILED, None, message=self.aborted)
        if timed_out and timeout is not None:
            return exec_timeout_outcome(timeout)
        if self.reply is None:  # idle, and no reply within the grace
            if self.interrupt_sent or self.input_cancelled:
                why = "input cancelled" if self.input_cancelled else "interrupted"
                return RunOutcome(RunStatus.INTERRUPTED, 130, message=why)
            return RunOutcome(RunStatus.FAILED, None, message=NO_REPLY)
        reply = self.reply
        status = reply.get("status", "ok")
        if status == "error" or self.error is not None:
            ename = reply.get("ename") or (self.error.ename if self.error else "")
            if ename == "KeyboardInterrupt":
                why = "input cancelled" if self.input_cancelled else "interrupted"
                return RunOutcome(RunStatus.INTERRUPTED, 130, message=why)
            error = self.error or UserError(
                ename=str(ename),
                evalue=str(reply.get("evalue", "")),
                traceback=[strip_ansi(str(line)) for line in reply.get("traceback") or []],
            )
            return RunOutcome(RunStatus.FINISHED, 1, error=error)
        if status == "aborted":
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="the kernel aborted the run")
        return RunOutcome(RunStatus.FINISHED, 0)

    def interrupted_by_someone_else(self) -> bool:
        """The run ended on a KeyboardInterrupt (or aborted) that this daemon did not send."""
        reply = self.reply or {}
        ename = reply.get("ename") or (self.error.ename if self.error else "")
        interrupted = ename == "KeyboardInterrupt" or reply.get("status") == "aborted"
        return interrupted and not (self.interrupt_sent or self.input_cancelled or self.closed)
