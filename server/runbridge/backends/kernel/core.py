"""The kernel run core: one Jupyter kernel's runs, whatever carries its messages.

A :class:`KernelCore` holds the run in progress of one kernel. Its transport
(:mod:`.transport`) sends the requests and feeds it every message the kernel sends;
messages whose ``parent_header.msg_id`` is the run's ``execute_request`` become the
run's console records (:class:`~runbridge.backends.kernel.run.KernelRun`), the rest are
ignored; the replies of other requests (:mod:`.replies`, :mod:`.requests`) are taken
first. A run is done when both its ``execute_reply`` and its ``status: idle`` arrived;
an ``input_request`` is put to the user through the run's sink and answered with an
``input_reply`` (or, when the user cancels it, with an interrupt). Past its timeout a
run interrupts the kernel and ends ``exec-timeout``. A kernel found dead, a restart and
a closed session end the run early. An interrupt sent before the kernel began to run the
code (its ``execute_input``) is sent again once it has, unless the first one took; a run
the kernel ends (``status: idle``) without an ``execute_reply`` ends after the idle grace
(ipykernel drops a request an interrupt hit outside the code).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from runbridge.backends.base import RunSink
from runbridge.backends.kernel.replies import Replies
from runbridge.backends.kernel.requests import KernelRequests
from runbridge.backends.kernel.run import KernelRun
from runbridge.backends.kernel.transport import KernelTransport, Message, RunHooks
from runbridge.model import Completions, Display, Inspection, RunOutcome

log = logging.getLogger(__name__)

#: How often a waiting run wakes up: it asks the transport whether the kernel is alive and
#: checks the idle grace (a timeout is kept to the moment, not to the tick).
TICK_S = 0.25
#: After ``execute_reply``, a run whose messages stop for this long without its
#: ``status: idle`` is ended, with :data:`LOST_OUTPUT_NOTE`. One value for every transport:
#: the grace counts from the run's last message, so output still arriving keeps a run open
#: whatever the value; it only weighs how long a run whose final idle was lost takes to
#: end (rare: a ZeroMQ PUB socket dropping at its high-water mark, for kernels whose IOPub
#: runbridge cannot make blocking) against how long a pause between the reply and the last
#: IOPub messages may be before those are cut off and lost. Over a Jupyter server, shell
#: and IOPub are forwarded separately and a busy server or network can hold IOPub back by
#: seconds after the reply; losing output is worse than a rare 5 s wait, so 5 s (the
#: ``jupyter`` backend's value; ``local`` had 2 s).
IDLE_GRACE_S = 5.0
#: Written to a run's stderr when the idle grace ended it.
LOST_OUTPUT_NOTE = (
    "\n[runbridge] some output of this run was lost: the kernel's final status did not "
    "arrive within {grace:g} s of its reply (a kernel that prints faster than its output "
    "is forwarded drops some)\n"
)
RESTARTED = "the kernel was restarted during the run"
#: An interrupt sent before the kernel began to run the code is sent again this long after
#: it began, unless the run ended or failed by then (the first one took).
EARLY_INTERRUPT_RECHECK_S = 0.2


def execute_content(
    code: str, *, silent: bool = False, user_expressions: dict[str, str] | None = None
) -> dict[str, Any]:
    """An ``execute_request``'s content: a run (input allowed, in the history), or a silent
    setup cell."""
    return {
        "code": code,
        "silent": silent,
        "store_history": not silent,
        "user_expressions": user_expressions or {},
        "allow_stdin": not silent,
        "stop_on_error": False,
    }


class _Discard:
    """The sink of silent runs: no output, no input."""

    def emit(self, kind: str, data: str, display: Display | None = None) -> None:
        pass

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        return None


class KernelCore:
    """The runs of one kernel, behind ``transport``.

    ``on_dead`` is called when the kernel is found dead (the session becomes ``dead``).
    """

    #: See :data:`TICK_S` and :data:`IDLE_GRACE_S` (tests shorten them).
    tick_s = TICK_S
    idle_grace_s = IDLE_GRACE_S

    def __init__(
        self,
        transport: KernelTransport,
        on_dead: Callable[[], None],
        hooks: RunHooks | None = None,
    ) -> None:
        self._transport = transport
        self._on_dead = on_dead
        self._hooks = hooks or RunHooks()
        #: The run in progress (one at a time: the session manager orders them).
        self.run: KernelRun | None = None
        #: Requests (other than runs) waiting for their reply.
        self.replies = Replies()
        #: Completion and inspection requests in flight.
        self.requests = KernelRequests(transport, self.replies)

    # -- the message stream --------------------------------------------------------
    def feed(self, msg: Message) -> KernelRun | None:
        """A message from the kernel; returns the run it belongs to (None: not a run's)."""
        if self.replies.resolve(msg) or self.requests.feed(msg):
            return None
        run = self.run
        if run is None or msg.parent_id != run.msg_id:
            return None
        run.last_activity = asyncio.get_running_loop().time()
        channel = msg.channel
        if channel == "iopub":
            if msg.msg_type == "execute_input" and not run.executing:
                run.executing = True
                if run.interrupt_early:
                    run.tasks.append(asyncio.create_task(self._interrupt_again(run)))
            run.on_iopub(msg.msg_type, msg.content)
        elif channel == "shell":
            if msg.msg_type == "execute_reply":
                run.on_reply(msg.content)
        elif channel == "stdin" and msg.msg_type == "input_request":
            run.input_task = asyncio.create_task(self._answer_input(run, msg))
        return run

    # -- runs ended from outside ---------------------------------------------------
    def kernel_died(self, message: str) -> None:
        """The kernel is gone: the run in progress ends ``failed`` with ``message``, and
        the session is dead."""
        if self.run is not None:
            self.run.end(aborted=message)
        self.requests.forget()
        self._on_dead()

    def restarted(self) -> None:
        """The kernel is being restarted: the run in progress ends ``failed``."""
        if self.run is not None:
            self.run.end(aborted=RESTARTED)
        self.requests.forget()

    def session_closed(self) -> None:
        """The session is closing: the run in progress ends ``interrupted``."""
        if self.run is not None:
            self.run.end(closed=True)
        self.requests.forget()

    # -- language features -------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A run is executing: the shell channel would make requests wait for it."""
        return self.run is not None and not self.run.done.is_set()

    async def complete(self, code: str, cursor: int) -> Completions:
        """The kernel's completions at ``cursor`` (a code-point offset into ``code``)."""
        return await self.requests.complete(code, cursor, self.busy)

    async def inspect(self, code: str, cursor: int, detail: int = 0) -> Inspection:
        """What the kernel knows of the name at ``cursor``."""
        return await self.requests.inspect(code, cursor, detail, self.busy)

    # -- interrupts ----------------------------------------------------------------
    async def interrupt(self) -> None:
        """Interrupt the kernel (a request: the run in progress ends ``interrupted``)."""
        if self.run is not None:
            self._mark_interrupted(self.run)
        await self._transport.send_interrupt()

    @staticmethod
    def _mark_interrupted(run: KernelRun) -> None:
        run.interrupt_sent = True
        if not run.executing:
            run.interrupt_early = True

    async def _interrupt_again(self, run: KernelRun) -> None:
        """The code of ``run``, interrupted before it ran, runs now: interrupt it again
        unless the first interrupt took (the run failed or ended meanwhile)."""
        await asyncio.sleep(EARLY_INTERRUPT_RECHECK_S)
        if run.done.is_set() or run.error is not None or self.run is not run:
            return
        log.info("run %s: interrupted before the kernel ran it; interrupting again", run.msg_id)
        with contextlib.suppress(Exception):
            await self._transport.send_interrupt()

    async def interrupt_quietly(self) -> None:
        """Interrupt the run in progress (if any, and once), errors ignored (a detach)."""
        run = self.run
        if run is not None and not run.done.is_set():
            await self._interrupt_run(run)

    async def _interrupt_run(self, run: KernelRun) -> None:
        if run.interrupt_sent:
            return
        self._mark_interrupted(run)
        with contextlib.suppress(Exception):
            await asyncio.shield(self._transport.send_interrupt())

    # -- runs ----------------------------------------------------------------------
    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        """Run ``code``, its records going to ``sink``; the run's outcome."""
        run = KernelRun(uuid.uuid4().hex, sink)
        run.last_activity = asyncio.get_running_loop().time()
        self.run = run
        timed_out = False
        try:
            try:
                await self._transport.send_execute(run.msg_id, execute_content(code))
                timed_out = await self._wait(run, timeout)
                await self._hooks.after_run(run)
            except asyncio.CancelledError:
                await self._interrupt_run(run)
                raise
        finally:
            if self.run is run:
                self.run = None
            for task in [run.input_task, *run.tasks]:
                if task is not None and not task.done():
                    task.cancel()
        return run.outcome(timeout, timed_out)

    async def run_silent(
        self, code: str, user_expressions: dict[str, str], timeout: float
    ) -> dict[str, Any]:
        """Run ``code`` silently (no output, no history, no input): the ``execute_reply``
        content, or ``{}`` when the run is not done within ``timeout``."""
        run = KernelRun(uuid.uuid4().hex, _Discard())
        self.run = run
        try:
            content = execute_content(code, silent=True, user_expressions=user_expressions)
            await self._transport.send_execute(run.msg_id, content)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.done.wait(), timeout)
        finally:
            if self.run is run:
                self.run = None
        return run.reply or {}

    async def _wait(self, run: KernelRun, timeout: float | None) -> bool:
        """Wait until the run is done; True when it timed out (and was interrupted)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        timed_out = False
        silence_s = self._hooks.silence_check_s
        last_check = loop.time()
        while not run.done.is_set():
            wait = self.tick_s
            if deadline is not None and not timed_out:
                wait = max(0.0, min(wait, deadline - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.done.wait(), wait)
            if run.done.is_set():
                break
            if not await self._transport.is_alive():
                self.kernel_died(self._transport.death_message())
                break
            now = loop.time()
            if (
                silence_s is not None
                and run.reply is None
                and now - max(run.last_activity, last_check) > silence_s
            ):
                last_check = now
                await self._hooks.check_silent_run()
                if run.done.is_set():
                    break
            if run.reply is not None and now - run.last_activity > self.idle_grace_s:
                log.warning("run %s: no status idle after the reply; ending it", run.msg_id)
                run.sink.emit("stderr", LOST_OUTPUT_NOTE.format(grace=self.idle_grace_s))
                break
            if run.reply is None and run.idle and now - run.last_activity > self.idle_grace_s:
                # ipykernel drops a request whose handler an interrupt hit outside the
                # code ("KeyboardInterrupt caught in kernel"): idle, and never a reply
                log.warning("run %s: status idle and no reply; ending it", run.msg_id)
                break
            if deadline is not None and not timed_out and now >= deadline:
                timed_out = True
                await self._interrupt_run(run)
        return timed_out

    async def _answer_input(self, run: KernelRun, request: Message) -> None:
        content = request.content
        prompt, password = str(content.get("prompt", "")), bool(content.get("password"))
        try:
            await self._hooks.before_input()
            try:
                value = await run.sink.ask_input(prompt, password)
            except Exception as exc:
                log.warning("input request failed: %s", exc)
                value = None
            if run.done.is_set():
                return
            if value is None:
                run.input_cancelled = True
                await self._interrupt_run(run)
            else:
                await self._transport.send_input_reply(value, request)
        except Exception:
            log.exception("answering an input request failed")
