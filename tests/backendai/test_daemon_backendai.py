"""What only the ``backendai`` backend does, through the real daemon against its emulator.

The scenarios every backend shares (open-or-reuse, runs, media, input, interrupt, restart
or its ``Unsupported``, kernel death, batch, files, terminals, close) run in
tests/conformance. Here: the scheduler's status words, sessions made by other clients,
execute sockets, the REST execute loop, the manager's limits (time, files, rate, quota),
TEXT and BINARY terminal frames, keys and clock errors, dropped websockets.

Every test runs against both wire generations ("old": 24.09-like, "new": 26.x-like).
One in-process emulator and one daemon (with a ``backendai`` profile given through
``initializationOptions``) are shared per generation; the "emulator killed mid-run"
test runs the emulator as a subprocess with a daemon of its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from lsprotocol import types

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.profile import BackendAIProfile
from tests.backendai.daemon_helpers import (
    ACCESS_KEY,
    IMAGE,
    OTHER_IMAGE,
    SECRET_KEY,
    WRONG_SECRET,
    daemon_in,
    free_port,
    init_options,
    profile,
)
from tests.backendai_emulator import Emulator, EmulatorProcess
from tests.backendai_emulator.server import TERMINAL
from tests.e2e.conftest import Daemon, png_code, start_daemon, start_run
from tests.e2e.helpers import (
    batch,
    error_data,
    open_session,
    progress_ended,
    rpc_error,
    states_of,
    type_in,
    wait_text,
)
from tests.media import make_png

pytestmark = pytest.mark.timeout(60)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-bai-"))
    options = init_options(
        emu.url,
        badkey=profile(emu.url, secret_key=WRONG_SECRET),
        nokey={"type": "backendai", "endpoint": emu.url, "access_key": ACCESS_KEY},
    )
    async with daemon_in(home, options) as started:
        yield started


def generation(emu: Emulator) -> str:
    return str(emu.config.generation)


def live_sessions(emu: Emulator) -> list[Any]:
    """Sessions the emulator counts against the quota (TERMINATING ones included)."""
    return [s for s in emu.sessions.values() if s.status not in TERMINAL]


# -- sessions --------------------------------------------------------------------------


async def test_open_reports_the_scheduler_states_as_progress(daemon: Daemon) -> None:
    token = "tok-bai-open"
    daemon.client.progress_reports[token] = []
    await daemon.request("runbridge/openSession", {"name": "bai-progress", "workDoneToken": token})
    await daemon.wait_for(lambda: progress_ended(daemon, token), timeout=10)
    reports = daemon.client.progress_reports[token]
    assert isinstance(reports[0], types.WorkDoneProgressBegin), reports
    assert "bai-progress" in reports[0].title
    messages = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert "PENDING" in messages, reports
    # ... and in the session's state changes while it was starting
    changes = [s for s in daemon.states if s["name"] == "bai-progress"]
    statuses = [s.get("backendStatus") for s in changes if s["state"] == "starting"]
    assert "PENDING" in statuses and statuses.index("PENDING") < statuses.index("RUNNING"), changes
    await daemon.request("runbridge/closeSession", {"name": "bai-progress"})


async def create_elsewhere(emu: Emulator, name: str, image: str) -> str:
    """Create a session on the manager as another client would; returns its id."""
    client = BackendAIClient(
        BackendAIProfile(
            name="other", endpoint=emu.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY
        )
    )
    try:
        body = await client.call_json(
            "POST",
            "/session",
            json={"name": name, "image": image, "enqueueOnly": True},
            what="creating a session elsewhere",
        )
    finally:
        await client.aclose()
    return str(body["sessionId"])


async def test_session_on_the_manager_is_reused_by_name(daemon: Daemon, emu: Emulator) -> None:
    """get_or_create: a session of that name and image on the manager is the one used."""
    session_id = await create_elsewhere(emu, "bai-shared", IMAGE)
    info = await open_session(daemon, "bai-shared")
    assert info["state"] == "idle", info
    assert info["created"] is False  # Backend.AI reused it: runbridge did not create it
    assert [s.id for s in live_sessions(emu) if s.name == "bai-shared"] == [session_id]
    result = await daemon.run("import os\nprint(os.path.basename(os.getcwd()))", "bai-shared")
    assert daemon.text(result["runId"]) == "work\n"
    await daemon.request("runbridge/closeSession", {"name": "bai-shared"})
    await asyncio.sleep(0.2)
    assert [
        s for s in live_sessions(emu) if s.name == "bai-shared" and s.status != "TERMINATING"
    ] == []


async def test_conflict_with_a_session_already_on_the_manager(
    daemon: Daemon, emu: Emulator
) -> None:
    """A session of that name exists on the manager (opened elsewhere) with another image."""
    await create_elsewhere(emu, "bai-elsewhere", OTHER_IMAGE)
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "bai-elsewhere"})
    assert error.code == -32012, error
    assert OTHER_IMAGE in error.message and IMAGE in error.message, error.message
    assert emu.url in error.message
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "bai-elsewhere" not in [s["name"] for s in sessions]
    # the session opened elsewhere is not runbridge's to destroy
    await asyncio.sleep(0.3)
    elsewhere = [s for s in emu.sessions.values() if s.name == "bai-elsewhere"]
    assert [s.status for s in elsewhere if s.status in TERMINAL] == [], elsewhere


# -- query runs --------------------------------------------------------------------------


async def test_back_to_back_runs_keep_one_spare_execute_socket(
    daemon: Daemon, emu: Emulator
) -> None:
    """Each run's socket is closed after its reply and the next run's is opened during it:
    the manager sees at most one idle execute socket per session, none after close."""
    session = "bai-sockets"
    await open_session(daemon, session)

    async def settled(expected: int) -> int:
        for _ in range(100):
            if len(emu.websockets) == expected:
                break
            await asyncio.sleep(0.05)
        return len(emu.websockets)

    baseline = len(emu.websockets)
    results = [await daemon.run(f"print({i})", session=session) for i in range(6)]
    assert [daemon.text(r["runId"]) for r in results] == [f"{i}\n" for i in range(6)]
    assert await settled(baseline + 1) == baseline + 1  # the spare for the next run
    await daemon.request("runbridge/closeSession", {"name": session})
    assert await settled(baseline) == baseline


async def test_closing_the_session_ends_its_rest_run(daemon: Daemon, emu: Emulator) -> None:
    """closeSession during a run of the REST execute loop (the execute stream's: in
    tests/conformance)."""
    session = "bai-close-rest"
    await open_session(daemon, session)
    emu.config.stream_execute = False
    try:
        task = await start_run(
            daemon, session, "import time\nprint('zz', flush=True)\ntime.sleep(30)", "zz"
        )
        t0 = time.monotonic()
        closed = await daemon.request("runbridge/closeSession", {"name": session})
        assert closed["state"] == "closed"
        result = await asyncio.wait_for(task, 20)
    finally:
        emu.config.stream_execute = True
    assert time.monotonic() - t0 < 10  # (the run sleeps 30 s)
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert states_of(daemon, session)[-1] == "closed"
    # the name can be opened again, afresh
    info = await open_session(daemon, session)
    assert info["created"] is True
    again = await daemon.run("print('z' in globals())", session=session)
    assert daemon.text(again["runId"]) == "False\n"
    await daemon.request("runbridge/closeSession", {"name": session})


async def test_rest_execute_loop_when_there_is_no_execute_stream(
    daemon: Daemon, emu: Emulator
) -> None:
    """Without the execute websocket the REST loop (query, continue, input) does the same.

    This is where the generations differ on the wire: the execute body's ``runId`` (old)
    versus ``run_id`` (new); runbridge sends both.
    """
    session = "bai-rest"
    emu.config.stream_execute = False
    try:
        first = await daemon.run("r = 6\nprint('one', flush=True)", session=session)
        assert (first["status"], daemon.text(first["runId"])) == ("finished", "one\n"), first
        # output arrives with each "continued" answer (every flush_timeout)
        task = await start_run(
            daemon,
            session,
            "import sys, time\nprint('early', flush=True)\ntime.sleep(1.2)\n"
            "print('late', r * 7, file=sys.stderr)",
            "early",
        )
        result = await asyncio.wait_for(task, 15)
        assert result["status"] == "finished", result
        assert daemon.console(result["runId"]) == [["stdout", "early\n"], ["stderr", "late 42\n"]]

        daemon.answer = lambda p: {"value": "pw!" if p["password"] else "Ann"}
        try:
            result = await daemon.run(
                "import getpass\nn = input('Name: ')\npw = getpass.getpass('PW: ')\n"
                "print('hi', n, len(pw))",
                session=session,
            )
        finally:
            daemon.answer = lambda p: {"value": ""}
        assert (result["status"], result["exitCode"]) == ("finished", 0), result
        asked = [(p["prompt"], p["password"]) for p in daemon.input_requests]
        assert asked[-2:] == [("Name: ", False), ("PW: ", True)], asked
        assert daemon.text(result["runId"]).endswith("hi Ann 3\n"), daemon.console(result["runId"])

        png = make_png(1, 1, (0, 0, 255))
        result = await daemon.run(png_code(png), session=session)
        media = [r for r in daemon.console(result["runId"]) if r[0] == "image/png"]
        assert len(media) == 1 and base64.b64decode(media[0][1].split(",", 1)[1]) == png

        result = await daemon.run("raise KeyError('k')", session=session)
        assert result["exitCode"] == (0 if generation(emu) == "old" else 1), result
        assert result["error"]["ename"] == "KeyError", result

        task = await start_run(
            daemon, session, "import time\nprint('zz', flush=True)\ntime.sleep(60)", "zz"
        )
        await daemon.request("runbridge/interrupt", {"session": session})
        result = await asyncio.wait_for(task, 15)
        assert (result["status"], result["exitCode"]) == ("interrupted", 130), result

        result = await daemon.request(
            "runbridge/run",
            {
                "session": session,
                "mode": "batch",
                "code": "",
                "options": {"build": "echo building", "exec": "echo ran; exit 4"},
            },
        )
        assert (result["status"], result["exitCode"]) == ("finished", 4), result
        assert daemon.text(result["runId"]) == "building\nran\n", daemon.console(result["runId"])
        after = await daemon.run("print(r)", session=session)
        assert daemon.text(after["runId"]) == "6\n"
    finally:
        emu.config.stream_execute = True
    # every execute call of this session went through the REST route
    paths = [r["path"] for r in emu.requests_log]
    assert f"/stream/session/{session}/execute" in paths  # tried once, answered 404
    assert paths.count(f"/stream/session/{session}/execute") == 1
    assert paths.count(f"/session/{session}") >= 8


# -- batch and files -------------------------------------------------------------------


async def test_the_managers_time_limit_ends_a_batch_run_exec_timeout(
    daemon: Daemon, emu: Emulator
) -> None:
    """The kernel's execution time limit (the manager's, not ``options.timeout``)."""
    emu.config.batch_exec_timeout = 0.5
    try:
        timed_out = await batch(daemon, "bai-batch", exec="sleep 10")
    finally:
        emu.config.batch_exec_timeout = None
    assert (timed_out["status"], timed_out["exitCode"]) == ("exec-timeout", 124), timed_out
    assert "time limit" in timed_out["message"]
    ok = await batch(daemon, "bai-batch", exec="echo fine")
    assert (ok["status"], daemon.text(ok["runId"])) == ("finished", "fine\n"), ok


async def test_files_past_the_managers_limits(daemon: Daemon, tmp_path: Path) -> None:
    """More files than the manager takes in one request (20 up, 5 down) are sent in
    batches; a file of 1 MiB or more is refused before anything is sent."""
    session = "bai-batch"
    dest = tmp_path / "back"
    many = tmp_path / "many"
    many.mkdir()
    names = [f"f{i:02}.txt" for i in range(23)]
    for name in names:
        (many / name).write_text(name * 3)
    uploaded = await daemon.request(
        "runbridge/upload",
        {"session": session, "files": [str(many / n) for n in names], "dest": "many"},
    )
    assert sorted(f["path"] for f in uploaded["files"]) == [f"many/{n}" for n in names]
    downloaded = await daemon.request(
        "runbridge/download",
        {"session": session, "files": [f"many/{n}" for n in names[:7]], "dest": str(dest)},
    )
    assert sorted(Path(f["path"]).name for f in downloaded["files"]) == names[:7]
    for f in downloaded["files"]:
        assert Path(f["path"]).read_text() == Path(f["path"]).name * 3
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (1 << 20))
    refused = await rpc_error(daemon, "runbridge/upload", {"session": session, "files": [str(big)]})
    assert "1.0 MiB" in refused.message and "nothing was sent" in refused.message, refused


# -- terminal ------------------------------------------------------------------------------


async def test_terminal_frames_of_both_generations(
    daemon: Daemon, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PTY output frames are TEXT up to manager 25.5, BINARY from 25.6: both are understood
    (echo, resize and exit on both generations: tests/conformance)."""
    session = "bai-batch"
    # The emulator runs in this process: record the kind of the PTY output frames it sends.
    frames: list[str] = []
    send_str, send_bytes = web.WebSocketResponse.send_str, web.WebSocketResponse.send_bytes

    async def spy_str(self: web.WebSocketResponse, data: str, *args: Any, **kw: Any) -> None:
        if '"type": "out"' in data:
            frames.append("text")
        await send_str(self, data, *args, **kw)

    async def spy_bytes(self: web.WebSocketResponse, data: bytes, *args: Any, **kw: Any) -> None:
        if b'"type": "out"' in data:
            frames.append("binary")
        await send_bytes(self, data, *args, **kw)

    monkeypatch.setattr(web.WebSocketResponse, "send_str", spy_str)
    monkeypatch.setattr(web.WebSocketResponse, "send_bytes", spy_bytes)
    await open_session(daemon, session)
    tid = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    type_in(daemon, tid, "printf 'x\\303\\274y\\n'\n")  # multi-byte output
    await wait_text(daemon, tid, "xüy")
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    expected = "text" if generation(emu) == "old" else "binary"
    assert frames and set(frames) == {expected}, frames


async def test_dropped_terminal_websocket_reconnects(daemon: Daemon, emu: Emulator) -> None:
    """Every websocket dropped: the terminal connects again to the session's shell
    (tests/backendai/test_daemon_reconnect.py has the cases)."""
    session = "bai-batch"
    await open_session(daemon, session)
    tid = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    daemon.notify("runbridge/terminalInput", {"terminalId": tid, "data": "echo up-$((1+1))\n"})
    await daemon.wait_for(lambda: "up-2" in "".join(daemon.terminal_data[tid]), timeout=15)
    assert emu.drop_websockets() >= 1
    await wait_text(daemon, tid, "reconnected to the shell")
    daemon.notify("runbridge/terminalInput", {"terminalId": tid, "data": "echo again\n"})
    await daemon.wait_for(lambda: "again\r\n" in "".join(daemon.terminal_data[tid]), 15)
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)


# -- errors ----------------------------------------------------------------------------------


async def test_wrong_secret_key_is_a_clear_auth_error(daemon: Daemon) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "bai-badkey", "profile": "badkey"}
    )
    assert error.code == -32020, error  # BackendError
    text = error.message + repr(error_data(error))
    assert "credentials" in error.message and "secret_key" in error.message, error.message
    assert WRONG_SECRET not in text and SECRET_KEY not in text
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "bai-badkey" not in [s["name"] for s in sessions]
    # nor anywhere in the daemon's logs and transcripts
    for path in daemon.home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert WRONG_SECRET not in text and SECRET_KEY not in text, path


async def test_check_profile_reaches_the_manager_and_proves_the_keys(
    daemon: Daemon, emu: Emulator
) -> None:
    good = await daemon.request("runbridge/checkProfile", {})  # the default profile
    assert good["ok"] is True and good["type"] == "backendai", good
    assert emu.url in good["message"] and "API v" in good["message"], good
    bad = await daemon.request("runbridge/checkProfile", {"profile": "badkey"})
    assert bad["ok"] is False and "credentials" in bad["message"], bad
    nokey = await daemon.request("runbridge/checkProfile", {"profile": "nokey"})
    assert nokey["ok"] is False and "secret_key" in nokey["message"], nokey
    for answer in (good, bad, nokey):
        assert SECRET_KEY not in repr(answer) and WRONG_SECRET not in repr(answer)


async def test_missing_secret_key_is_a_config_error(daemon: Daemon) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "bai-nokey", "profile": "nokey"}
    )
    assert error.code == -32010, error  # ConfigError
    assert "secret_key" in error.message and "BACKEND_SECRET_KEY" in error.message, error


async def test_clock_skew_is_a_clear_error(daemon: Daemon, emu: Emulator) -> None:
    emu.config.clock_offset = 1200.0
    try:
        error = await rpc_error(daemon, "runbridge/openSession", {"name": "bai-skew"})
    finally:
        emu.config.clock_offset = 0.0
    assert error.code == -32020, error
    assert "clock differs from the manager's" in error.message, error.message
    assert "secret_key" not in error.message  # the keys are not blamed
    assert SECRET_KEY not in error.message
    # with the clock right again the same profile works
    info = await open_session(daemon, "bai-skew")
    assert info["state"] == "idle"
    await daemon.request("runbridge/closeSession", {"name": "bai-skew"})


async def test_rate_limit_is_waited_out_or_named(daemon: Daemon, emu: Emulator) -> None:
    session = "bai-runs"
    await daemon.run("pass", session=session)
    try:
        # a short window: the daemon waits for the reset and retries
        emu.config.rate_limit, emu.config.rate_window = 2, 1.0
        emu.hits.clear()
        t0 = time.monotonic()
        results = [await daemon.run(f"print({i})", session=session) for i in range(4)]
        assert [r["status"] for r in results] == ["finished"] * 4, [
            r.get("message") for r in results
        ]
        assert [daemon.text(r["runId"]) for r in results] == ["0\n", "1\n", "2\n", "3\n"]
        assert time.monotonic() - t0 > 0.5  # it did have to wait
        # a long window: a clear error that says when to retry
        emu.config.rate_limit, emu.config.rate_window = 1, 120.0
        emu.hits.clear()
        # (the execute socket of the next run is opened in the background after each run,
        # so the run that meets the limit may be one or two later)
        results = [await daemon.run(f"print('limited{i}')", session=session) for i in range(4)]
        failed = [r for r in results if r["status"] == "failed"]
        assert failed, [r["status"] for r in results]
        result = failed[0]
        message = result.get("message", "")
        assert "too many requests" in message and "retry in" in message, message
        assert "limited" not in daemon.text(result["runId"])
        # the same through a request answered with an error
        error = await rpc_error(daemon, "runbridge/openSession", {"name": "bai-ratelimited"})
        assert error.code == -32020 and "retry in" in error.message, error
    finally:
        emu.config.rate_limit, emu.config.rate_window = 1000, 900.0
        emu.hits.clear()
    result = await daemon.run("print('ok again')", session=session)
    assert daemon.text(result["runId"]) == "ok again\n"


async def test_quota_exceeded(daemon: Daemon, emu: Emulator) -> None:
    emu.config.max_sessions = len(live_sessions(emu))
    try:
        error = await rpc_error(daemon, "runbridge/openSession", {"name": "bai-quota"})
    finally:
        emu.config.max_sessions = 8
    assert error.code == -32020, error
    assert "quota" in error.message.lower(), error.message
    assert "concurrent sessions" in error.message
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "bai-quota" not in [s["name"] for s in sessions]


async def test_dropped_websocket_mid_run(daemon: Daemon, emu: Emulator) -> None:
    session = "bai-runs"
    await daemon.run("z = 7", session=session)
    task = await start_run(
        daemon, session, "import time\nprint('long', flush=True)\ntime.sleep(30)", "long"
    )
    assert emu.drop_websockets() >= 1
    result = await asyncio.wait_for(task, 15)
    assert result["status"] == "failed", result
    assert "dropped" in result["message"], result
    assert "run failed" in daemon.text(result["runId"], "stderr")
    # the daemon keeps serving and the next run on the same session works
    after = await daemon.run("print(z)", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "7\n"), (
        after,
        daemon.console(after["runId"]),
    )


# -- the emulator killed mid-run -------------------------------------------------------------


async def test_emulator_killed_mid_run(emu: Emulator, tmp_path: Path) -> None:
    port = free_port()  # fixed, so a restarted emulator is at the profile's endpoint again
    gen = generation(emu)
    # (``port=`` adds a second ``--port``, which argparse takes over the default ``--port 0``)
    proc = EmulatorProcess(generation=gen, port=port, scheduling_delay=0.1)
    await asyncio.to_thread(proc.start)
    try:
        # this daemon takes the endpoint and keys from the SDK's environment variables
        async with contextlib.AsyncExitStack() as stack:
            with pytest.MonkeyPatch.context() as env:
                env.setenv("BACKEND_ENDPOINT", proc.url)
                env.setenv("BACKEND_ACCESS_KEY", ACCESS_KEY)
                env.setenv("BACKEND_SECRET_KEY", SECRET_KEY)
                options = {"profiles": {"env": {"type": "backendai", "image": IMAGE}}}
                d = await stack.enter_async_context(
                    start_daemon(tmp_path / "home", init_options={**options, "profile": "env"})
                )
            await open_session(d, "bai-kill")
            task = await start_run(
                d, "bai-kill", "import time\nprint('running', flush=True)\ntime.sleep(30)", "runn"
            )
            await asyncio.to_thread(proc.kill)
            result = await asyncio.wait_for(task, 20)
            assert result["status"] == "failed", result
            assert "dropped" in result["message"] and proc.url in result["message"], result
            # the daemon survives: it answers, and says clearly that the manager is gone
            listed = await d.request("runbridge/listSessions")
            assert [s["name"] for s in listed["sessions"]] == ["bai-kill"]
            error = await rpc_error(d, "runbridge/openSession", {"name": "bai-kill2"})
            assert error.code == -32020, error
            assert proc.url in error.message and "reached" in error.message, error.message
            # a new emulator on the same address: a new session works
            proc2 = EmulatorProcess(
                generation=gen, port=port, scheduling_delay=0.1, flush_timeout=0.5
            )
            await asyncio.to_thread(proc2.start)
            try:
                assert proc2.url == proc.url
                result = await d.run("print(6 * 7)", session="bai-after")
                assert (result["status"], d.text(result["runId"])) == ("finished", "42\n")
                # the session that lived on the killed manager is gone: said clearly, and
                # the run after that opens it afresh
                lost = await d.run("print('x')", session="bai-kill")
                assert lost["status"] == "failed", lost
                assert "does not exist" in lost["message"], lost
                again = await d.run("print('back')", session="bai-kill")
                assert (again["status"], d.text(again["runId"])) == ("finished", "back\n"), again
                # killed during a REST execute call (a session without the execute stream)
                await asyncio.to_thread(proc2.configure, stream_execute=False)
                task = await start_run(
                    d,
                    "bai-rest-kill",
                    "import time\nprint('rest', flush=True)\ntime.sleep(30)",
                    "rest",
                )
                await asyncio.to_thread(proc2.kill)
                result = await asyncio.wait_for(task, 20)
                assert result["status"] == "failed", result
                assert proc.url in result["message"], result
                assert "cannot be reached" in result["message"], result
                assert (await d.request("runbridge/listSessions"))["sessions"]
            finally:
                with contextlib.suppress(Exception):
                    await d.request("runbridge/closeSession", {"name": "bai-after"})
                await asyncio.to_thread(proc2.stop)
                await asyncio.to_thread(proc2.kill)
    finally:
        await asyncio.to_thread(proc.stop)


# -- variables -------------------------------------------------------------------------


async def test_variables_are_not_available_and_the_session_is_untouched(daemon: Daemon) -> None:
    """Backend.AI's kernel runners have no silent run and no debugger: ``Unsupported``,
    naming the session, and nothing ran in it."""
    session = "bai-vars"
    result = await daemon.run("x = 1\nprint(x)", session)
    assert daemon.text(result["runId"]) == "1\n"
    error = await rpc_error(daemon, "runbridge/variables", {"session": session})
    assert error.code == -32023
    assert "not available for this kernel" in error.message
    assert repr(session) in error.message
    assert error_data(error) == {"kind": "Unsupported", "session": session}
    result = await daemon.run("print(x + 1)", session)
    assert daemon.text(result["runId"]) == "2\n"
    await daemon.request("runbridge/closeSession", {"name": session})
