"""The kernel run core against a fake transport that replays what a real ipykernel sent.

``kernel_messages.json`` holds the messages a python3 kernel sent for a few cells
(recorded with ``record_kernel_messages.py``: jupyter_client, IOPub, shell and stdin,
in the kernel's order). The fake transport answers the core's execute request, input
reply and interrupt by feeding it parts of those sequences, with the parent rewritten
to the core's request, in the order a test picks (the awkward orders included).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runbridge import mime
from runbridge.backends.kernel.core import EARLY_INTERRUPT_RECHECK_S, KernelCore
from runbridge.backends.kernel.run import NO_REPLY, KernelRun
from runbridge.backends.kernel.transport import DictMessage, Message, RunHooks
from runbridge.model import Display, RunStatus
from tests.sinks import RecordingSink

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).with_name("kernel_messages.json")).read_text(encoding="utf-8")
)
DEATH = "the kernel died (exit code 1) during the run"

#: One step of a replay: a recorded message, a pause (seconds), or an action.
Step = dict[str, Any] | float | Callable[[], None]


def cell(name: str) -> list[dict[str, Any]]:
    return list(RECORDED[name]["messages"])


def split(messages: list[dict[str, Any]], msg_type: str) -> tuple[list[Step], list[Step]]:
    """The messages up to and including the first of ``msg_type``, and the rest."""
    at = next(i for i, m in enumerate(messages) if m["msg_type"] == msg_type) + 1
    return list(messages[:at]), list(messages[at:])


def is_idle(message: dict[str, Any]) -> bool:
    return message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"


class FakeKernel:
    """A transport whose kernel answers by replaying recorded messages.

    ``on_execute``, ``on_input_reply`` and ``on_interrupt`` are the steps replayed when
    the core sends that request; ``sent`` lists what the core sent.
    """

    def __init__(
        self,
        on_execute: list[Step],
        on_input_reply: list[Step] | None = None,
        on_interrupt: list[Step] | None = None,
        hooks: RunHooks | None = None,
    ) -> None:
        self.on_execute = on_execute
        self.on_input_reply = on_input_reply or []
        self.on_interrupt = on_interrupt or []
        self.sent: list[tuple[Any, ...]] = []
        self.alive = True
        self.deaths = 0
        self.msg_id = ""
        self.replays: list[asyncio.Task[None]] = []
        self.core = KernelCore(self, self._dead, hooks)
        self.core.tick_s = 0.02

    def _dead(self) -> None:
        self.deaths += 1

    def die(self) -> None:
        self.alive = False

    def _replay(self, steps: list[Step]) -> None:
        self.replays.append(asyncio.create_task(self._play(steps, self.msg_id)))

    async def _play(self, steps: list[Step], parent: str) -> None:
        for step in steps:
            await asyncio.sleep(0)
            if isinstance(step, float):
                await asyncio.sleep(step)
            elif callable(step):
                step()
            else:
                self.core.feed(reparent(step, parent))

    # -- the transport ---------------------------------------------------------------
    async def send_execute(self, msg_id: str, content: dict[str, Any]) -> None:
        self.sent.append(("execute", content))
        self.msg_id = msg_id
        self._replay(self.on_execute)

    async def send_input_reply(self, value: str, request: Message) -> None:
        self.sent.append(("input_reply", value, request.header["msg_type"]))
        self._replay(self.on_input_reply)

    async def send_interrupt(self) -> None:
        self.sent.append(("interrupt",))
        self._replay(self.on_interrupt)

    async def is_alive(self) -> bool:
        return self.alive

    def death_message(self) -> str:
        return DEATH


def reparent(message: dict[str, Any], msg_id: str) -> DictMessage:
    """A recorded message as the answer to the request ``msg_id``."""
    return DictMessage.of(
        message["channel"],
        {**message, "parent_header": {**message["parent_header"], "msg_id": msg_id}},
    )


def sent_kinds(kernel: FakeKernel) -> list[Any]:
    return [entry[0] for entry in kernel.sent]


# -- runs that end normally ---------------------------------------------------------------------


async def test_a_run_ends_on_its_reply_and_idle() -> None:
    kernel = FakeKernel(cell("print"))
    sink = RecordingSink()
    outcome = await kernel.core.execute("print('hello')", sink, None)
    assert (outcome.status, outcome.exit_code, outcome.message) == (RunStatus.FINISHED, 0, None)
    assert sink.records == [("stdout", "hello\n", None)]
    ((_, content),) = kernel.sent
    assert content == {
        "code": "print('hello')",
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": True,
        "stop_on_error": False,
    }
    assert kernel.core.run is None


async def test_an_expression_result_is_echoed_on_stdout() -> None:
    kernel = FakeKernel(cell("result"))
    sink = RecordingSink()
    outcome = await kernel.core.execute("6 * 7", sink, None)
    assert outcome.status == RunStatus.FINISHED
    assert sink.records == [("stdout", "42\n", None)]


async def test_stdout_stderr_displays_clear_output_and_the_error_in_order() -> None:
    kernel = FakeKernel(cell("outputs"))
    sink = RecordingSink()
    outcome = await kernel.core.execute(RECORDED["outputs"]["code"], sink, None)
    assert (outcome.status, outcome.exit_code) == (RunStatus.FINISHED, 1)
    assert outcome.error is not None
    assert (outcome.error.ename, outcome.error.evalue) == ("ZeroDivisionError", "division by zero")
    assert outcome.error.traceback[-1] == "ZeroDivisionError: division by zero"
    assert not any("\x1b[" in line for line in outcome.error.traceback)
    kinds = [(kind, data, display) for kind, data, display in sink.records[:-1]]
    assert kinds == [
        ("stdout", "out\n", None),
        ("stderr", "err\n", None),
        ("text/html", "<b>hi</b>", None),
        ("stdout", "'first'\n", Display("d1")),
        ("stdout", "'second'\n", Display("d1", update=True)),
        (*mime.clear_record(True), None),
    ]
    last_kind, traceback, _ = sink.records[-1]
    assert last_kind == "stderr" and "ZeroDivisionError" in traceback and "\x1b[" in traceback


async def test_messages_of_other_requests_are_not_the_run_s() -> None:
    foreign = [{**m, "parent_header": {**m["parent_header"], "msg_id": "someone-else"}}
               for m in cell("print")]  # fmt: skip
    kernel = FakeKernel(cell("result"))
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("6 * 7", sink, None))
    await asyncio.sleep(0)
    for message in foreign:
        assert kernel.core.feed(DictMessage.of(message["channel"], message)) is None
    outcome = await run
    assert outcome.status == RunStatus.FINISHED
    assert sink.text() == "42\n"


# -- awkward orders ------------------------------------------------------------------------------


async def test_an_idle_before_the_reply_waits_for_the_reply() -> None:
    messages = cell("print")
    reply = next(m for m in messages if m["channel"] == "shell")
    reordered: list[Step] = [m for m in messages if m is not reply]
    assert is_idle(reordered[-1])
    kernel = FakeKernel([*reordered, 0.3, reply])
    sink = RecordingSink()
    started = time.monotonic()
    outcome = await kernel.core.execute("print('hello')", sink, None)
    assert time.monotonic() - started >= 0.3
    assert (outcome.status, sink.text()) == (RunStatus.FINISHED, "hello\n")


async def test_a_reply_without_idle_ends_after_the_grace_with_the_lost_output_note() -> None:
    messages = [m for m in cell("print") if not is_idle(m)]
    kernel = FakeKernel(messages)
    kernel.core.idle_grace_s = 0.3
    sink = RecordingSink()
    started = time.monotonic()
    outcome = await kernel.core.execute("print('hello')", sink, None)
    assert 0.3 <= time.monotonic() - started < 3
    assert (outcome.status, outcome.exit_code) == (RunStatus.FINISHED, 0)
    assert sink.text() == "hello\n"
    assert "[runbridge] some output of this run was lost" in sink.text("stderr")
    assert "within 0.3 s of its reply" in sink.text("stderr")


async def test_output_still_arriving_after_the_reply_keeps_the_run_open() -> None:
    """The grace counts from the last message, not from the reply."""
    start, rest = split(cell("print"), "execute_input")
    reply = next(m for m in rest if m["channel"] == "shell")
    stream = next(m for m in rest if m["msg_type"] == "stream")
    idle = next(m for m in rest if is_idle(m))
    late: list[Step] = [*start, reply, 0.3, stream, 0.3, stream, 0.3, stream, 0.3, idle]
    kernel = FakeKernel(late)
    kernel.core.idle_grace_s = 0.9  # longer than each pause, shorter than their 1.2 s
    sink = RecordingSink()
    outcome = await kernel.core.execute("print('hello')", sink, None)
    assert outcome.status == RunStatus.FINISHED
    assert sink.text() == "hello\n" * 3
    assert sink.text("stderr") == ""


async def test_a_kernel_dead_mid_run_fails_the_run_and_marks_the_session_dead() -> None:
    messages = cell("dies")
    assert [m["msg_type"] for m in messages] == ["status", "execute_input", "stream"]
    kernel = FakeKernel(messages)
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("os._exit(1)", sink, None))
    while "bye" not in sink.text():
        await asyncio.sleep(0.01)
    assert not run.done()
    kernel.die()
    outcome = await asyncio.wait_for(run, 2)
    assert (outcome.status, outcome.exit_code, outcome.message) == (RunStatus.FAILED, None, DEATH)
    assert kernel.deaths == 1
    assert sink.text() == "bye\n"


# -- input ---------------------------------------------------------------------------------------


async def test_an_input_request_is_asked_and_answered() -> None:
    until_prompt, after = split(cell("input"), "input_request")
    kernel = FakeKernel(until_prompt, on_input_reply=after)
    sink = RecordingSink(answer="ada")
    outcome = await kernel.core.execute(RECORDED["input"]["code"], sink, None)
    assert outcome.status == RunStatus.FINISHED
    assert sink.prompts == [("name? ", False)]
    assert kernel.sent[1:] == [("input_reply", "ada", "input_request")]
    assert sink.text() == "hi ada\n"


async def test_a_cancelled_input_interrupts_the_kernel() -> None:
    until_prompt, after = split(cell("input_cancelled"), "input_request")
    kernel = FakeKernel(until_prompt, on_interrupt=after)
    sink = RecordingSink(answer=None)
    outcome = await kernel.core.execute(RECORDED["input_cancelled"]["code"], sink, None)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.INTERRUPTED,
        130,
        "input cancelled",
    )
    assert sent_kinds(kernel) == ["execute", "interrupt"]
    assert "KeyboardInterrupt" in sink.text("stderr")


async def test_a_transport_hook_runs_before_the_prompt() -> None:
    order: list[str] = []

    class Barrier(RunHooks):
        async def before_input(self) -> None:
            order.append("barrier")

    class AskingSink(RecordingSink):
        async def ask_input(self, prompt: str, password: bool) -> str | None:
            order.append("ask")
            return "ada"

    until_prompt, after = split(cell("input"), "input_request")
    kernel = FakeKernel(until_prompt, on_input_reply=after, hooks=Barrier())
    outcome = await kernel.core.execute("input()", AskingSink(), None)
    assert outcome.status == RunStatus.FINISHED
    assert order == ["barrier", "ask"]


# -- interrupts and timeouts -------------------------------------------------------------------


async def test_a_timeout_interrupts_once_and_ends_exec_timeout() -> None:
    running, interrupted = split(cell("sleep_interrupted"), "stream")
    kernel = FakeKernel(running, on_interrupt=interrupted)
    sink = RecordingSink()
    started = time.monotonic()
    outcome = await kernel.core.execute("time.sleep(30)", sink, 0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert (outcome.status, outcome.exit_code) == (RunStatus.EXEC_TIMEOUT, 124)
    assert outcome.message == "the run exceeded its timeout of 0.3 s and was interrupted"
    assert sent_kinds(kernel) == ["execute", "interrupt"]
    assert sink.text() == "tick\n"  # what the run printed is kept


async def test_an_interrupt_request_ends_the_run_interrupted() -> None:
    running, interrupted = split(cell("sleep_interrupted"), "stream")
    kernel = FakeKernel(running, on_interrupt=interrupted)
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("time.sleep(30)", sink, 5))
    while "tick" not in sink.text():
        await asyncio.sleep(0.01)
    await kernel.core.interrupt()
    outcome = await asyncio.wait_for(run, 2)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.INTERRUPTED,
        130,
        "interrupted",
    )
    assert sent_kinds(kernel) == ["execute", "interrupt"]


async def until_sent(kernel: FakeKernel, kind: str) -> None:
    while kind not in sent_kinds(kernel):
        await asyncio.sleep(0.001)


async def test_an_interrupt_before_the_kernel_ran_the_code_is_sent_again_once_it_does() -> None:
    """A Python kernel ignores SIGINT between requests: an interrupt that came before the
    code's ``execute_input`` is sent again once it arrived (and the run still goes on)."""
    messages = cell("sleep_interrupted")
    busy, started, ended = messages[:1], messages[1:3], messages[3:]
    assert [m["msg_type"] for m in started] == ["execute_input", "stream"]
    kernel = FakeKernel([*busy, 0.1, *started])

    def taken_only_while_the_code_runs() -> None:
        run = kernel.core.run
        if run is not None and run.executing:
            kernel._replay(ended)

    kernel.on_interrupt = [taken_only_while_the_code_runs]
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("time.sleep(30)", sink, None))
    await until_sent(kernel, "execute")
    await kernel.core.interrupt()  # before the execute_input: lost
    outcome = await asyncio.wait_for(run, 5)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.INTERRUPTED,
        130,
        "interrupted",
    )
    assert sent_kinds(kernel) == ["execute", "interrupt", "interrupt"]


async def test_an_early_interrupt_that_took_is_not_sent_again() -> None:
    messages = cell("sleep_interrupted")
    busy, started, ended = messages[:1], messages[1:3], messages[3:]
    kernel = FakeKernel([*busy, 0.1, *started], on_interrupt=[0.15, *ended])
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("time.sleep(30)", sink, None))
    await until_sent(kernel, "execute")
    await kernel.core.interrupt()  # it reaches the kernel as the code starts: it takes
    outcome = await asyncio.wait_for(run, 5)
    assert (outcome.status, outcome.exit_code) == (RunStatus.INTERRUPTED, 130)
    await asyncio.sleep(EARLY_INTERRUPT_RECHECK_S + 0.1)
    assert sent_kinds(kernel) == ["execute", "interrupt"]


async def test_an_idle_without_a_reply_ends_the_run_after_the_grace() -> None:
    """ipykernel drops a request whose handler an interrupt hit outside the code: its idle
    comes, its reply never. Interrupted, the run ends ``interrupted``; else ``failed``."""
    running, _ = split(cell("sleep_interrupted"), "stream")
    idle = next(m for m in cell("sleep_interrupted") if is_idle(m))
    kernel = FakeKernel(running, on_interrupt=[idle])
    kernel.core.idle_grace_s = 0.3
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("time.sleep(30)", sink, None))
    while "tick" not in sink.text():
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await kernel.core.interrupt()
    outcome = await asyncio.wait_for(run, 5)
    assert time.monotonic() - started >= 0.3
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.INTERRUPTED,
        130,
        "interrupted",
    )
    assert sink.text() == "tick\n"

    quiet = FakeKernel([*running, idle])
    quiet.core.idle_grace_s = 0.3
    outcome = await asyncio.wait_for(quiet.core.execute("x", RecordingSink(), None), 5)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.FAILED,
        None,
        NO_REPLY,
    )


async def test_a_cancelled_run_interrupts_the_kernel() -> None:
    running, _ = split(cell("sleep_interrupted"), "stream")
    kernel = FakeKernel(running)
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("time.sleep(30)", sink, None))
    while "tick" not in sink.text():
        await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert sent_kinds(kernel) == ["execute", "interrupt"]
    assert kernel.core.run is None


# -- runs ended from outside -------------------------------------------------------------------


async def end_mid_run(end: Callable[[KernelCore], None]) -> tuple[Any, FakeKernel]:
    running, _ = split(cell("sleep_interrupted"), "stream")
    kernel = FakeKernel(running)
    sink = RecordingSink()
    run = asyncio.create_task(kernel.core.execute("time.sleep(30)", sink, None))
    while "tick" not in sink.text():
        await asyncio.sleep(0.01)
    end(kernel.core)
    return await asyncio.wait_for(run, 2), kernel


async def test_a_restart_during_a_run_fails_it() -> None:
    outcome, kernel = await end_mid_run(KernelCore.restarted)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.FAILED,
        None,
        "the kernel was restarted during the run",
    )
    assert sent_kinds(kernel) == ["execute"]
    assert kernel.deaths == 0


async def test_closing_the_session_during_a_run_ends_it_interrupted() -> None:
    outcome, kernel = await end_mid_run(KernelCore.session_closed)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        RunStatus.INTERRUPTED,
        130,
        "the session was closed",
    )
    assert kernel.deaths == 0


async def test_a_death_reported_by_the_transport_fails_the_run() -> None:
    outcome, kernel = await end_mid_run(lambda core: core.kernel_died("gone from the server"))
    assert (outcome.status, outcome.message) == (RunStatus.FAILED, "gone from the server")
    assert kernel.deaths == 1


async def test_a_silent_run_asks_the_transport_to_check_its_kernel() -> None:
    checks: list[float] = []

    class Liveness(RunHooks):
        silence_check_s = 0.2

        async def check_silent_run(self) -> None:
            checks.append(time.monotonic())
            if len(checks) == 2:
                kernel.core.kernel_died("kernel k1 no longer exists")

    running, _ = split(cell("sleep_interrupted"), "stream")
    kernel = FakeKernel(running, hooks=Liveness())
    started = time.monotonic()
    outcome = await kernel.core.execute("time.sleep(30)", RecordingSink(), None)
    assert (outcome.status, outcome.message) == (RunStatus.FAILED, "kernel k1 no longer exists")
    assert len(checks) == 2
    assert checks[0] - started >= 0.2 and checks[1] - checks[0] >= 0.2


async def test_the_after_run_hook_sees_the_run_before_its_outcome() -> None:
    class Confirm(RunHooks):
        async def after_run(self, run: KernelRun) -> None:
            assert run.interrupted_by_someone_else()
            run.aborted = "the kernel was shut down on the server during the run"

    messages = cell("sleep_interrupted")  # interrupted by someone else: not by the core
    kernel = FakeKernel(messages, hooks=Confirm())
    outcome = await kernel.core.execute("time.sleep(30)", RecordingSink(), None)
    assert (outcome.status, outcome.message) == (
        RunStatus.FAILED,
        "the kernel was shut down on the server during the run",
    )


# -- silent runs ---------------------------------------------------------------------------------


async def test_a_silent_run_returns_its_reply_and_shows_nothing() -> None:
    kernel = FakeKernel(cell("result"))
    reply = await kernel.core.run_silent("x = 1", {"cwd": "os.getcwd()"}, 5)
    assert reply["status"] == "ok"
    ((_, content),) = kernel.sent
    assert content["silent"] is True and content["allow_stdin"] is False
    assert content["store_history"] is False
    assert content["user_expressions"] == {"cwd": "os.getcwd()"}
    assert kernel.core.run is None
