"""SessionManager against a fake backend: open-or-reuse, conflicts, run order, interrupt,
close during a run, restart, detach on daemon exit, a failing start, idle timeouts.

The fake implements the typed backend contract (runbridge.backends.base.Backend and
BackendSession); its runs block until the test releases them, so every order is
decided by the test, never by timing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from runbridge import paths
from runbridge.backends.base import (
    Backend,
    BackendSession,
    ProgressCallback,
    RunSink,
    StateCallback,
    StatusCallback,
    Terminal,
    TerminalExit,
    TerminalOutput,
)
from runbridge.config import Profile, Settings
from runbridge.errors import (
    BackendError,
    InvalidParams,
    RunbridgeError,
    SessionConflict,
    Unsupported,
)
from runbridge.model import (
    BatchOptions,
    CompletionMatch,
    Completions,
    FileEntry,
    FolderEntry,
    Inspection,
    RemoteSession,
    RunOutcome,
    RunRequest,
    RunResult,
    RunStatus,
    SessionState,
    suggested_name,
)
from runbridge.session_options import SessionOptions
from runbridge.sessions import language
from runbridge.sessions import manager as manager_module
from runbridge.sessions.manager import SessionManager
from runbridge.sessions.output import OutputBatch

# -- the fake backend -------------------------------------------------------------------------


async def _first_of(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


class FakeSession:
    """A backend session whose runs are code words: a run whose code was ``hold``-ed
    executes until the test releases it, the session is interrupted, or closed."""

    def __init__(self, backend: FakeBackend, name: str, image: str | None) -> None:
        self.backend = backend
        self.name = name
        self.image = image or "fake-image"
        self.workdir: str | None = f"/work/{name}"
        self.created: bool | None = None
        #: The server id: the attached one, else ``remote-NAME``.
        self.remote_id: str | None = f"remote-{name}"
        self.calls: list[str] = []
        self.executed: list[str] = []
        self.executing = 0
        self._held: dict[str, asyncio.Event] = {}
        self._interrupted = asyncio.Event()
        self._closed = asyncio.Event()
        self.terminals: list[FakeTerminal] = []

    def hold(self, *codes: str) -> None:
        for code in codes:
            self._held[code] = asyncio.Event()

    def release(self, code: str) -> None:
        self._held[code].set()

    def started(self, code: str) -> Callable[[], bool]:
        """Whether run ``code`` is the last one that began to execute."""
        return lambda: self.executed[-1:] == [code]

    async def start(self) -> None:
        self.calls.append("start")
        if self.backend.start_gate is not None:
            await self.backend.start_gate.wait()
        if self.backend.start_error is not None:
            raise self.backend.start_error
        self.created = self.backend.creates

    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        self._interrupted.clear()  # an interrupt while idle does nothing, as in a kernel
        self.executed.append(code)
        self.executing += 1
        self.backend.executing += 1
        self.backend.most_executing = max(self.backend.most_executing, self.backend.executing)
        try:
            sink.emit("stdout", f"{code}\n")
            held = self._held.get(code)
            if held is not None:
                await _first_of(held, self._interrupted, self._closed)
            if self._closed.is_set():
                return RunOutcome(RunStatus.FAILED, None, message="the kernel was shut down")
            if self._interrupted.is_set():
                return RunOutcome(RunStatus.INTERRUPTED, 130)
            return RunOutcome(RunStatus.FINISHED, 0)
        finally:
            self.executing -= 1
            self.backend.executing -= 1

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        return await self.execute(code, sink, options.timeout)

    async def complete(self, code: str, cursor: int) -> Completions:
        self.calls.append("complete")
        return Completions(0, cursor, [CompletionMatch(code + "_done")])

    async def inspect(self, code: str, cursor: int, detail: int) -> Inspection:
        self.calls.append("inspect")
        return Inspection(True, f"about {code}")

    async def interrupt(self) -> None:
        self.calls.append("interrupt")
        self._interrupted.set()

    async def restart(self) -> None:
        self.calls.append("restart")
        if self.backend.restart_gate is not None:
            await self.backend.restart_gate.wait()
        if self.backend.restart_error is not None:
            raise self.backend.restart_error

    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        if self.backend.transfer_gate is not None:
            await self.backend.transfer_gate.wait()
        return [FileEntry(f, 0) for f in files]

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return [FileEntry(f, 0) for f in files]

    async def list_files(self, path: str) -> list[FolderEntry]:
        return []

    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal:
        if not self.backend.terminals:
            raise Unsupported("no terminals here")
        terminal = FakeTerminal(on_output, on_exit)
        self.terminals.append(terminal)
        return terminal

    async def close(self, destroy: bool = False) -> None:
        self.calls.append("close destroy" if destroy else "close")
        self._closed.set()

    async def detach(self) -> None:
        self.calls.append("detach")


class FakeTerminal:
    """A shell that echoes what it is sent; ``close`` ends it as a shell's exit would."""

    def __init__(self, on_output: TerminalOutput, on_exit: TerminalExit) -> None:
        self.on_output = on_output
        self.on_exit = on_exit

    def write(self, data: str) -> None:
        self.on_output(data)

    def resize(self, rows: int, cols: int) -> None:
        pass

    async def close(self) -> None:
        ended = self.on_exit(0)
        if ended is not None:
            await ended


class FakeBackend:
    name = "fake"

    def __init__(self) -> None:
        self.sessions: list[FakeSession] = []
        self.start_gate: asyncio.Event | None = None
        self.start_error: BaseException | None = None
        #: What a started session's ``created`` is (False: it reused a server's session).
        self.creates = True
        self.restart_gate: asyncio.Event | None = None
        self.restart_error: BaseException | None = None
        self.closed = False
        self.executing = 0
        self.most_executing = 0
        #: Uploads wait for it when set.
        self.transfer_gate: asyncio.Event | None = None
        #: Whether its sessions open terminals (else ``Unsupported``).
        self.terminals = False
        #: The ids ``list_remote`` lists (those starting with ``own`` are runbridge's).
        self.remote: list[str] = []

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
        session = FakeSession(self, name, image)
        if attach is not None:
            session.remote_id = attach
        self.sessions.append(session)
        return session

    async def list_remote(self) -> list[RemoteSession]:
        return [
            RemoteSession(rid, rid, "", "idle", None, {}, own=rid.startswith("own"))
            for rid in self.remote
        ]

    def session(self, name: str) -> FakeSession:
        (found,) = [s for s in self.sessions if s.name == name and not s.calls.count("close")]
        return found

    async def check(self, image: str | None) -> str:
        return "fake: fine"

    async def aclose(self) -> None:
        self.closed = True


class Recorder:
    """The manager's events."""

    def __init__(self) -> None:
        self.changes: list[dict[str, Any]] = []
        self.batches: list[OutputBatch] = []

    def states(self, name: str) -> list[str]:
        return [c["state"] for c in self.changes if c["name"] == name]

    # Events
    def output(self, batch: OutputBatch) -> None:
        self.batches.append(batch)

    def session_changed(self, info: dict[str, Any]) -> None:
        self.changes.append(info)

    def terminal_output(self, terminal_id: str, data: str) -> None:
        pass

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        pass

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        return None


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeBackend:
    for name, value in paths.environment_under(tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    fake = FakeBackend()

    def create_backend(profile: Profile) -> Backend:
        return fake

    monkeypatch.setattr(manager_module, "create_backend", create_backend)
    return fake


@pytest.fixture
def events() -> Recorder:
    return Recorder()


@pytest.fixture
async def manager(backend: FakeBackend, events: Recorder) -> AsyncIterator[SessionManager]:
    profiles = {"local": Profile("local", "local"), "other": Profile("other", "local")}
    sessions = SessionManager(Settings(profiles=profiles, default_profile="local"), events)
    yield sessions
    await sessions.aclose()  # a test that failed half-way leaves no run behind


def start_run(manager: SessionManager, session: str, code: str) -> asyncio.Task[RunResult]:
    """A run as the LSP front starts one: queued at once, then awaited in its own task."""
    request = RunRequest(session=session, code=code, run_id=f"run-{code}")
    manager.enqueue(request)
    return asyncio.ensure_future(manager.run(request))


async def ended(*runs: asyncio.Future[RunResult]) -> list[RunResult]:
    """The runs' results; a run that does not end within 5 s fails the test (and is
    cancelled), instead of hanging it."""
    try:
        return list(await asyncio.wait_for(asyncio.gather(*runs), 5))
    except TimeoutError:
        raise AssertionError("a run did not end") from None


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never happened: {what}")


# -- attach --------------------------------------------------------------------------------------


async def test_list_remote_leaves_out_runbridges_own_and_names_the_attached(
    manager: SessionManager, backend: FakeBackend
) -> None:
    backend.remote = ["own-1", "remote-made", "k-1", "k-2"]
    made = await manager.open("made")  # runbridge's: its remote id "remote-made"
    assert made.remote_id == "remote-made" and not made.attached
    attached = await manager.open("viewer", attach="k-1")
    assert attached.attached and attached.remote_id == "k-1" and not attached.created
    listed = await manager.list_remote(None)
    assert listed["profile"] == "local"
    assert [(s["id"], s["attachedAs"], s["description"]) for s in listed["sessions"]] == [
        ("k-1", "viewer", " · attached as viewer"),  # (the fake's description is "")
        ("k-2", None, ""),
    ]


async def test_attach_checks_and_conflicts(manager: SessionManager, backend: FakeBackend) -> None:
    with pytest.raises(InvalidParams) as bad:
        await manager.open("x", image="python3", attach="k-1")
    assert bad.value.data["field"] == "image"
    with pytest.raises(InvalidParams) as bad:
        await manager.open("x", env={"A": "1"}, attach="k-1")
    assert bad.value.data["field"] == "env"
    await manager.open("mine")
    with pytest.raises(SessionConflict):
        await manager.open("mine", attach="k-1")  # open, not attached
    await manager.open("viewer", attach="k-1")
    assert (await manager.open("viewer", attach="k-1")).attached  # the same id: reused
    with pytest.raises(SessionConflict):
        await manager.open("viewer", attach="k-2")  # bound to another id
    with pytest.raises(SessionConflict):
        await manager.open("second", attach="k-1")  # one name per remote session
    assert not backend.sessions[-1].calls.count("close")


async def test_close_passes_destroy_and_shutdown_detaches(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a", attach="k-1")
    await manager.open("b", attach="k-2")
    await manager.open("c", attach="k-3")
    await manager.close("a")
    await manager.close("b", destroy=True)
    await manager.aclose()
    assert [s.calls[-1] for s in backend.sessions] == ["close", "close destroy", "detach"]


# -- open or reuse ----------------------------------------------------------------------------


async def test_a_name_opens_once_and_is_reused(
    manager: SessionManager, backend: FakeBackend
) -> None:
    first = await manager.open("a")
    again = await manager.open("a")
    assert (first.created, again.created) == (True, False)
    assert (first.state, again.state) == (SessionState.IDLE, SessionState.IDLE)
    assert len(backend.sessions) == 1
    assert [s.name for s in manager.sessions()] == ["a"]
    other = await manager.open("b")
    assert other.created and len(backend.sessions) == 2


async def test_opens_of_one_name_while_it_starts_share_the_start(
    manager: SessionManager, backend: FakeBackend
) -> None:
    backend.start_gate = asyncio.Event()
    first = asyncio.ensure_future(manager.open("a"))
    await until(lambda: len(backend.sessions) == 1, "the first open reached the backend")
    second = asyncio.ensure_future(manager.open("a"))
    await asyncio.sleep(0.01)
    assert not second.done(), "a reuse waits for the start"
    backend.start_gate.set()
    assert ((await first).created, (await second).created) == (True, False)
    assert len(backend.sessions) == 1


async def test_language_features_ask_only_a_running_session_and_start_none(
    manager: SessionManager, backend: FakeBackend
) -> None:
    # not open: empty, and nothing opened
    assert await language.complete(manager, "a", "pri", 3) == Completions(3, 3, [])
    assert not (await language.inspect(manager, "a", "print", 2)).found
    assert backend.sessions == [] and manager.sessions() == []
    # starting: empty, the backend session is not asked
    backend.start_gate = asyncio.Event()
    opening = asyncio.ensure_future(manager.open("a"))
    await until(lambda: len(backend.sessions) == 1, "the open reached the backend")
    assert (await language.complete(manager, "a", "pri", 3)).matches == []
    assert backend.session("a").calls == ["start"]
    # idle, then busy: asked
    backend.start_gate.set()
    await opening
    assert (await language.complete(manager, "a", "pri", 3)).matches == [
        CompletionMatch("pri_done")
    ]
    fake = backend.session("a")
    fake.hold("slow")
    run = start_run(manager, "a", "slow")
    await until(fake.started("slow"), "the run began")
    assert (await language.inspect(manager, "a", "print", 2)).text == "about print"
    fake.release("slow")
    await ended(run)
    assert fake.calls.count("complete") == 1 and fake.calls.count("inspect") == 1


async def test_a_session_the_server_already_had_is_not_created(
    manager: SessionManager, backend: FakeBackend
) -> None:
    backend.creates = False  # a remote backend reattached a session of that name
    assert (await manager.open("a")).created is False


async def test_the_same_name_with_another_image_or_profile_is_a_conflict(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a", image="img-1")
    with pytest.raises(SessionConflict, match="img-1"):
        await manager.open("a", image="img-2")
    with pytest.raises(SessionConflict, match="other"):
        await manager.open("a", profile="other")
    # the same profile, the same image, or neither named: the session is reused
    assert (await manager.open("a", profile="local", image="img-1")).created is False
    assert (await manager.open("a")).created is False
    assert len(backend.sessions) == 1


# -- runs -----------------------------------------------------------------------------------


async def test_runs_on_one_session_are_strictly_ordered(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    session = backend.session("a")
    session.hold("one", "two", "three")
    runs = [start_run(manager, "a", code) for code in ("one", "two", "three")]
    for code in ("one", "two", "three"):
        await until(session.started(code), f"{code} executes")
        await asyncio.sleep(0.01)
        assert session.executing == 1, "runs on one session overlapped"
        session.release(code)
    results = await ended(*runs)
    assert [r.outcome.status for r in results] == [RunStatus.FINISHED] * 3
    assert session.executed == ["one", "two", "three"]


async def test_runs_on_different_sessions_execute_in_parallel(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    await manager.open("b")
    backend.session("a").hold("x")
    backend.session("b").hold("y")
    runs = [start_run(manager, "a", "x"), start_run(manager, "b", "y")]
    await until(lambda: backend.executing == 2, "both sessions execute at once")
    backend.session("a").release("x")
    backend.session("b").release("y")
    assert [r.outcome.status for r in await ended(*runs)] == [RunStatus.FINISHED] * 2


async def test_a_run_marks_its_session_busy_then_idle(
    manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    await manager.open("a")
    backend.session("a").hold("x")
    run = start_run(manager, "a", "x")
    await until(lambda: manager.is_executing("a", "run-x"), "x executes")
    assert events.states("a")[-1] == "busy"
    backend.session("a").release("x")
    (result,) = await ended(run)
    assert events.states("a")[-1] == "idle"
    assert not manager.is_executing("a", "run-x")
    console = [r for b in events.batches for r in b.to_params()["console"]]
    assert console == [["stdout", "x\n"]]  # what the backend emitted reached the editor
    lines = [json.loads(line) for line in Path(result.transcript).read_text().splitlines()]
    kinds = [(line["run"], line["kind"]) for line in lines]
    assert kinds == [
        ("run-x", "runbridge/run-start"),
        ("run-x", "stdout"),
        ("run-x", "runbridge/run-end"),
    ]


async def test_interrupt_stops_the_running_run_and_cancels_the_queued_ones(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    session = backend.session("a")
    session.hold("running", "queued-1", "queued-2")
    runs = [start_run(manager, "a", c) for c in ("running", "queued-1", "queued-2")]
    await until(lambda: session.executed == ["running"], "the first run executes")
    await manager.interrupt("a")
    running, queued_1, queued_2 = await ended(*runs)
    assert session.calls.count("interrupt") == 1
    assert running.outcome.status == RunStatus.INTERRUPTED
    for queued in (queued_1, queued_2):
        assert queued.outcome.status == RunStatus.INTERRUPTED
        assert queued.outcome.message == "cancelled before it started"
    assert session.executed == ["running"], "a cancelled run must never execute"
    # the session goes on: the next run executes
    assert (await ended(start_run(manager, "a", "after")))[0].outcome.status == RunStatus.FINISHED


async def test_cancelling_one_run_drops_it_if_queued_or_interrupts_it_if_running(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    session = backend.session("a")
    session.hold("running", "queued", "later")
    runs = [start_run(manager, "a", c) for c in ("running", "queued", "later")]
    await until(lambda: session.executed == ["running"], "the first run executes")
    await manager.cancel_run("a", "run-queued")  # $/cancelRequest of a queued run
    assert "interrupt" not in session.calls, "cancelling a queued run interrupts nothing"
    await manager.cancel_run("a", "run-running")  # ... of the running one
    assert session.calls.count("interrupt") == 1
    await until(lambda: session.executed == ["running", "later"], "the run after them executes")
    session.release("later")
    running, queued, later = await ended(*runs)
    assert running.outcome.status == RunStatus.INTERRUPTED
    assert queued.outcome.message == "cancelled before it started"
    assert later.outcome.status == RunStatus.FINISHED


async def test_close_during_a_run_ends_it_and_cancels_the_queue(
    manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    await manager.open("a")
    session = backend.session("a")
    session.hold("running", "queued")
    runs = [start_run(manager, "a", c) for c in ("running", "queued")]
    await until(lambda: session.executed == ["running"], "the first run executes")
    closed = await manager.close("a")
    running, queued = await ended(*runs)
    assert closed.state == SessionState.CLOSED
    assert session.calls.count("close") == 1 and "detach" not in session.calls
    assert running.outcome.status == RunStatus.FAILED  # the fake's kernel was shut down
    assert queued.outcome.status == RunStatus.INTERRUPTED
    assert queued.outcome.message == "cancelled before it started"
    assert session.executed == ["running"]
    assert not manager.is_open("a") and manager.sessions() == []
    assert events.states("a")[-1] == "closed"


async def test_a_run_on_a_closed_name_opens_a_new_session(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    await manager.close("a")
    (result,) = await ended(start_run(manager, "a", "x"))
    assert result.outcome.status == RunStatus.FINISHED
    assert len(backend.sessions) == 2 and backend.sessions[1].executed == ["x"]


# -- restart ----------------------------------------------------------------------------------


async def test_restart_goes_through_starting_back_to_idle(
    manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    await manager.open("a")
    backend.restart_gate = asyncio.Event()
    restart = asyncio.ensure_future(manager.restart("a"))
    await until(lambda: events.states("a")[-1] == "starting", "the session is starting")
    backend.restart_gate.set()
    assert (await restart).state == SessionState.IDLE
    assert events.states("a")[-2:] == ["starting", "idle"]
    assert backend.session("a").calls.count("restart") == 1


async def test_restart_during_a_run_goes_back_to_busy(
    manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    await manager.open("a")
    backend.session("a").hold("x")
    run = start_run(manager, "a", "x")
    await until(lambda: manager.is_executing("a", "run-x"), "x executes")
    assert (await manager.restart("a")).state == SessionState.BUSY
    backend.session("a").release("x")
    await ended(run)
    assert events.states("a")[-1] == "idle"


async def test_restart_unsupported_leaves_the_state_as_it_was(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    backend.restart_error = Unsupported("this backend cannot restart")
    with pytest.raises(Unsupported):
        await manager.restart("a")
    (info,) = manager.sessions()
    assert info.state == SessionState.IDLE


async def test_a_failed_restart_leaves_the_session_dead_and_the_next_run_restarts_it(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("a")
    backend.restart_error = BackendError("the kernel did not come back")
    with pytest.raises(BackendError):
        await manager.restart("a")
    (info,) = manager.sessions()
    assert info.state == SessionState.DEAD
    backend.restart_error = None
    (result,) = await ended(start_run(manager, "a", "x"))
    assert result.outcome.status == RunStatus.FINISHED
    assert backend.session("a").calls.count("restart") == 2  # the run restarted it first


# -- ways out -----------------------------------------------------------------------------------


async def test_daemon_exit_detaches_sessions_and_close_closes_them(
    manager: SessionManager, backend: FakeBackend
) -> None:
    await manager.open("closed-by-editor")
    await manager.open("kept-1")
    await manager.open("kept-2")
    await manager.close("closed-by-editor")
    await manager.aclose()
    calls = {s.name: s.calls for s in backend.sessions}
    assert calls["closed-by-editor"] == ["start", "close"]
    assert calls["kept-1"] == calls["kept-2"] == ["start", "detach"]
    assert backend.closed
    assert manager.sessions() == []
    with pytest.raises(RunbridgeError, match="shutting down"):
        await manager.open("late")
    await manager.aclose()  # idempotent
    assert calls["kept-1"] == ["start", "detach"]


async def test_a_failing_start_leaves_no_session_behind(
    manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    backend.start_gate = asyncio.Event()
    backend.start_error = BackendError("no kernel for you")
    first = asyncio.ensure_future(manager.open("a"))
    await until(lambda: len(backend.sessions) == 1, "the open reached the backend")
    waiter = asyncio.ensure_future(manager.open("a"))  # waits for the same start
    await asyncio.sleep(0.01)
    backend.start_gate.set()
    for opening in (first, waiter):
        with pytest.raises(BackendError, match="no kernel"):
            await opening
    assert not manager.is_open("a") and manager.sessions() == []
    assert backend.sessions[0].calls == ["start", "close"], "what it started is cleaned up"
    assert events.states("a")[-1] == "closed"
    backend.start_error = None  # the name is free: the next open starts afresh
    assert (await manager.open("a")).created is True
    assert len(backend.sessions) == 2


async def test_a_run_whose_session_fails_to_start_fails_with_it(
    manager: SessionManager, backend: FakeBackend
) -> None:
    backend.start_error = BackendError("no kernel for you")
    with pytest.raises(BackendError):
        await ended(start_run(manager, "a", "x"))
    assert not manager.is_open("a")
    assert backend.sessions[0].executed == []


# -- idle timeouts ------------------------------------------------------------------------------

#: The idle timeout of the profile "quick": 0.4 s.
QUICK_S = 0.4


@pytest.fixture
async def idle_manager(backend: FakeBackend, events: Recorder) -> AsyncIterator[SessionManager]:
    profiles = {
        "quick": Profile("quick", "local", idle_timeout_minutes=QUICK_S / 60),
        "never": Profile("never", "local", idle_timeout_minutes=0),
        "remote": Profile("remote", "jupyter"),  # the default of a remote type: never
    }
    sessions = SessionManager(Settings(profiles=profiles, default_profile="quick"), events)
    yield sessions
    await sessions.aclose()


async def closed_by_itself(manager: SessionManager, name: str) -> float:
    """When (loop time) session ``name`` closed; fails past 2 s."""
    await until(lambda: not manager.is_open(name), f"{name} closed")
    return asyncio.get_running_loop().time()


async def test_an_idle_session_closes_after_its_profiles_timeout(
    idle_manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    loop = asyncio.get_running_loop()
    opened = loop.time()
    await idle_manager.open("a")
    fake = backend.session("a")
    await asyncio.sleep(QUICK_S / 2)
    assert idle_manager.is_open("a")
    closed = await closed_by_itself(idle_manager, "a")
    assert QUICK_S <= closed - opened < QUICK_S + 1
    assert fake.calls == ["start", "close"]  # closed, not detached
    assert events.states("a")[-1] == "closed"
    assert idle_manager.sessions() == []


async def test_a_busy_run_keeps_its_session_open_past_the_timeout(
    idle_manager: SessionManager, backend: FakeBackend, events: Recorder
) -> None:
    loop = asyncio.get_running_loop()
    await idle_manager.open("a")
    fake = backend.session("a")
    fake.hold("long", "next")
    run = start_run(idle_manager, "a", "long")
    queued = start_run(idle_manager, "a", "next")
    await asyncio.sleep(QUICK_S * 2)
    assert idle_manager.is_open("a") and events.states("a")[-1] == "busy"
    fake.release("long")  # "next" runs on, as long again
    await until(fake.started("next"), "the queued run started")
    await asyncio.sleep(QUICK_S * 2)
    assert idle_manager.is_open("a")
    fake.release("next")
    results = await ended(run, queued)
    assert [r.outcome.status for r in results] == [RunStatus.FINISHED] * 2
    run_ended = loop.time()
    closed = await closed_by_itself(idle_manager, "a")
    assert closed - run_ended >= QUICK_S * 0.9  # counted from the end of the last run
    assert fake.calls == ["start", "close"]


async def test_activity_starts_the_idle_time_again(
    idle_manager: SessionManager, backend: FakeBackend
) -> None:
    loop = asyncio.get_running_loop()
    first = (await idle_manager.open("a")).last_activity
    for activity in ("upload", "download", "list", "open", "run"):
        await asyncio.sleep(QUICK_S * 0.5)
        if activity == "upload":
            await idle_manager.upload("a", ["f"], ".", lambda done, total: None)
        elif activity == "download":
            await idle_manager.download("a", ["f"], "/tmp", lambda done, total: None)
        elif activity == "list":
            await idle_manager.list_files("a", ".")
        elif activity == "open":
            await idle_manager.open("a")
        else:
            await ended(start_run(idle_manager, "a", "x"))
        assert idle_manager.is_open("a"), f"closed although {activity} just happened"
        assert len(backend.sessions) == 1 and backend.sessions[0].calls == ["start"]
    last = loop.time()
    (listed,) = idle_manager.sessions()
    assert listed.last_activity > first + QUICK_S * 2  # what listSessions shows moved on
    assert listed.to_wire()["lastActivity"] == listed.last_activity
    closed = await closed_by_itself(idle_manager, "a")
    assert closed - last >= QUICK_S * 0.9


async def test_a_timeout_of_0_and_remote_profiles_by_default_never_close(
    idle_manager: SessionManager, backend: FakeBackend
) -> None:
    await idle_manager.open("kept", profile="never")
    await idle_manager.open("remote", profile="remote")
    await idle_manager.open("quick")
    await closed_by_itself(idle_manager, "quick")
    await asyncio.sleep(QUICK_S)
    assert idle_manager.is_open("kept") and idle_manager.is_open("remote")


async def test_an_open_terminal_keeps_its_session_open(
    idle_manager: SessionManager, backend: FakeBackend
) -> None:
    loop = asyncio.get_running_loop()
    backend.terminals = True
    await idle_manager.open("a")
    terminal_id = await idle_manager.open_terminal("a", 24, 80)
    before = idle_manager.sessions()[0].last_activity
    await asyncio.sleep(QUICK_S * 0.5)
    idle_manager.terminal_input(terminal_id, "ls\n")  # echoed: input and output
    assert idle_manager.sessions()[0].last_activity > before
    await asyncio.sleep(QUICK_S * 2)  # no input or output all that time
    assert idle_manager.is_open("a")
    await idle_manager.close_terminal(terminal_id)
    shell_ended = loop.time()
    closed = await closed_by_itself(idle_manager, "a")
    assert closed - shell_ended >= QUICK_S * 0.9  # counted from the shell's end


async def test_a_file_transfer_or_a_restart_keeps_its_session_open(
    idle_manager: SessionManager, backend: FakeBackend
) -> None:
    loop = asyncio.get_running_loop()
    await idle_manager.open("a")
    fake = backend.session("a")
    for gate in ("upload", "restart"):  # each counted at its end
        if gate == "restart":
            backend.restart_gate = opened = asyncio.Event()
            busy = asyncio.ensure_future(idle_manager.restart("a"))
        else:
            backend.transfer_gate = opened = asyncio.Event()
            busy = asyncio.ensure_future(idle_manager.upload("a", ["f"], ".", lambda d, t: None))
        await asyncio.sleep(QUICK_S * 2)
        assert idle_manager.is_open("a"), f"closed during a {gate}"
        opened.set()
        await asyncio.wait_for(busy, 5)
    done = loop.time()
    closed = await closed_by_itself(idle_manager, "a")
    assert closed - done >= QUICK_S * 0.9
    assert fake.calls == ["start", "restart", "close"]  # closed once, after the restart


async def test_daemon_exit_ends_the_idle_timers(
    idle_manager: SessionManager, backend: FakeBackend
) -> None:
    await idle_manager.open("a")
    await idle_manager.aclose()
    await asyncio.sleep(QUICK_S * 1.5)
    assert backend.sessions[0].calls == ["start", "detach"]  # kept, never closed for being idle


def test_a_remote_session_offers_its_label_made_a_name() -> None:
    """Both editors' pickers offer ``suggestedName`` as the runbridge name to attach as."""
    assert suggested_name("work/analysis.ipynb") == "analysis"
    assert suggested_name("python3 5e1c7a1e") == "python3-5e1c7a1e"
    assert suggested_name("made-in-web-ui") == "made-in-web-ui"
    assert suggested_name("my notebook.ipynb") == "my-notebook"
    wire = RemoteSession("k1", "work/nb.ipynb", "", "idle", None, {}).to_wire()
    assert wire["suggestedName"] == "nb"
