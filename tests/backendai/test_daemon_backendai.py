"""runbridge's behavioural suite through the real daemon (stdio) against the Backend.AI emulator.

Every test runs against both wire generations ("old": 24.09-like, "new": 26.x-like).
One in-process emulator and one daemon (with a ``backendai`` profile given through
``initializationOptions``) are shared per generation; the "emulator killed mid-run"
test runs the emulator as a subprocess with a daemon of its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.profile import ENV_PREFIXES, BackendAIProfile
from tests.backendai.daemon_helpers import (
    ACCESS_KEY,
    IMAGE,
    OTHER_IMAGE,
    SECRET_KEY,
    WRONG_SECRET,
    error_data,
    free_port,
    init_options,
    profile,
    rpc_error,
)
from tests.backendai_emulator import Emulator, EmulatorProcess
from tests.backendai_emulator.server import TERMINAL
from tests.e2e.conftest import Daemon, png_code, start_daemon, start_run
from tests.media import make_png

pytestmark = pytest.mark.timeout(60)


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["old", "new"])
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async with Emulator(
        generation=request.param,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        scheduling_delay=0.1,
        flush_timeout=0.5,  # REST execute: "continued" every 0.5 s (2 s on a real agent)
    ) as emulator:
        yield emulator


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-bai-"))
    options = init_options(
        emu.url,
        badkey=profile(emu.url, secret_key=WRONG_SECRET),
        nokey={"type": "backendai", "endpoint": emu.url, "access_key": ACCESS_KEY},
    )
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # the daemon's environment: no SDK keys
            for prefix in ENV_PREFIXES:
                for key in ("ENDPOINT", "ACCESS_KEY", "SECRET_KEY"):
                    env.delenv(prefix + key, raising=False)
            started = await stack.enter_async_context(start_daemon(home, init_options=options))
        yield started


def generation(emu: Emulator) -> str:
    return str(emu.config.generation)


async def open_session(daemon: Daemon, name: str, **extra: Any) -> dict[str, Any]:
    info: dict[str, Any] = await daemon.request("runbridge/openSession", {"name": name, **extra})
    return info


def live_sessions(emu: Emulator) -> list[Any]:
    """Sessions the emulator counts against the quota (TERMINATING ones included)."""
    return [s for s in emu.sessions.values() if s.status not in TERMINAL]


# -- sessions --------------------------------------------------------------------------


async def test_open_reuse_and_conflict(daemon: Daemon, emu: Emulator) -> None:
    info = await open_session(daemon, "bai-open")
    assert (info["backend"], info["profile"], info["image"]) == ("backendai", "bai", IMAGE)
    assert (info["state"], info["created"]) == ("idle", True)
    assert [s.name for s in live_sessions(emu)].count("bai-open") == 1
    # the daemon saw the scheduler's states on the way
    changes = [s for s in daemon.states if s["name"] == "bai-open"]
    states = [s["state"] for s in changes]
    assert states[0] == "starting" and states[-1] == "idle", states
    # ... and the scheduler's own status words while it was starting
    statuses = [s.get("backendStatus") for s in changes if s["state"] == "starting"]
    assert "PENDING" in statuses and statuses.index("PENDING") < statuses.index("RUNNING"), changes

    again = await open_session(daemon, "bai-open")
    assert again["created"] is False
    assert [s.name for s in live_sessions(emu)].count("bai-open") == 1

    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "bai-open", "image": OTHER_IMAGE}
    )
    assert error.code == -32012, error  # SessionConflict
    assert "bai-open" in error.message and "image" in error.message, error.message
    # the open session is untouched
    result = await daemon.run("print('still here')", session="bai-open")
    assert daemon.text(result["runId"]) == "still here\n"


async def test_open_reports_the_scheduler_states_as_progress(daemon: Daemon) -> None:
    token = "tok-bai-open"
    daemon.client.progress_reports[token] = []
    await daemon.request("runbridge/openSession", {"name": "bai-progress", "workDoneToken": token})

    def ended() -> bool:
        reports = daemon.client.progress_reports[token]
        return bool(reports) and isinstance(reports[-1], types.WorkDoneProgressEnd)

    await daemon.wait_for(ended, timeout=10)
    reports = daemon.client.progress_reports[token]
    assert isinstance(reports[0], types.WorkDoneProgressBegin), reports
    assert "bai-progress" in reports[0].title
    messages = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert "PENDING" in messages, reports
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


async def test_streamed_output_state_and_stdout_stderr(daemon: Daemon) -> None:
    session = "bai-runs"
    first = await daemon.run("x = 20\nprint('set', flush=True)", session=session)
    assert (first["status"], first["exitCode"]) == ("finished", 0), first
    assert daemon.text(first["runId"]) == "set\n"
    # state is kept between runs
    second = await daemon.run(
        "import sys, time\n"
        "print('out', x + 22, flush=True)\n"
        "time.sleep(0.6)\n"
        "print('err', file=sys.stderr, flush=True)\n",
        session=session,
    )
    assert second["status"] == "finished", second
    assert daemon.text(second["runId"]) == "out 42\n"
    bare = await daemon.run("x * 2", session=session)  # a bare expression's value is shown
    assert daemon.text(bare["runId"]).strip() == "40", daemon.console(bare["runId"])
    assert daemon.text(second["runId"], "stderr") == "err\n"
    kinds = [k for k, _ in daemon.console(second["runId"])]
    assert kinds.index("stdout") < kinds.index("stderr")
    # streamed: the first line arrived in its own notification, before the stderr one
    notes = daemon.outputs[second["runId"]]
    assert len(notes) >= 2, notes
    assert notes[0]["console"][0] == ["stdout", "out 42\n"]


async def test_streaming_arrives_before_the_run_ends(daemon: Daemon) -> None:
    session = "bai-runs"
    task = await start_run(
        daemon, session, "import time\nprint('early', flush=True)\ntime.sleep(1.5)", "early"
    )
    assert not task.done()
    result = await asyncio.wait_for(task, 15)
    assert result["status"] == "finished"


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


async def test_media_records_are_mime_data_pairs(daemon: Daemon) -> None:
    session = "bai-runs"
    png = make_png(3, 2, (255, 0, 0))
    result = await daemon.run(png_code(png), session=session)
    assert result["status"] == "finished", result
    records = [r for r in daemon.console(result["runId"]) if r[0] != "stdout" or r[1].strip()]
    assert [r[0] for r in records] == ["image/png"], records
    uri = records[0][1]
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png

    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>'
    result = await daemon.run(
        f"from IPython.display import display, SVG\ndisplay(SVG({svg!r}))", session=session
    )
    records = daemon.console(result["runId"])
    svgs = [data for kind, data in records if kind == "image/svg+xml"]
    assert len(svgs) == 1 and "<rect" in svgs[0], records
    assert not any(kind == "media" for kind, _ in records)


async def test_input_and_password(daemon: Daemon) -> None:
    session = "bai-runs"
    daemon.answer = lambda p: {"value": "Ada"}
    try:
        result = await daemon.run(
            "print('before', flush=True)\nname = input('Name? ')\nprint('hello', name)",
            session=session,
        )
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
    assert asked == [
        {"session": session, "runId": result["runId"], "prompt": "Name? ", "password": False}
    ]
    assert "hello Ada\n" in daemon.text(result["runId"])

    daemon.answer = lambda p: {"value": "s3cret"}
    try:
        result = await daemon.run(
            "import getpass\npw = getpass.getpass('Secret: ')\nprint(len(pw), pw[::-1])",
            session=session,
        )
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
    assert [(p["prompt"], p["password"]) for p in asked] == [("Secret: ", True)]
    text = daemon.text(result["runId"])
    assert text.endswith("6 terc3s\n"), text
    assert "s3cret" not in text


async def test_cancelled_input_interrupts_the_run(daemon: Daemon) -> None:
    session = "bai-runs"
    await daemon.run("kept_var = 9", session=session)
    daemon.answer = lambda p: {"value": None}
    try:
        result = await daemon.run("a = input('go? ')\nprint('not reached')", session=session)
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert "not reached" not in daemon.text(result["runId"])
    after = await daemon.run("print(kept_var)", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "9\n"), after


async def test_timeout_option_gives_exec_timeout(daemon: Daemon) -> None:
    session = "bai-runs"
    t0 = time.monotonic()
    result = await daemon.request(
        "runbridge/run",
        {
            "session": session,
            "code": "import time\nprint('tick', flush=True)\ntime.sleep(30)",
            "options": {"timeout": 1},
        },
    )
    assert time.monotonic() - t0 < 8
    assert (result["status"], result["exitCode"]) == ("exec-timeout", 124), result
    assert result["message"] == "the run exceeded its timeout of 1 s and was interrupted"
    after = await daemon.run("print('alive')", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "alive\n"), after


async def test_exception_gives_error_and_exit_code(daemon: Daemon, emu: Emulator) -> None:
    result = await daemon.run("print('hi')\n1/0", session="bai-runs")
    assert result["status"] == "finished", result
    # the manager's exitCode after an exception: 0 on old managers, 1 on new ones
    assert result["exitCode"] == (0 if generation(emu) == "old" else 1), result
    error = result["error"]
    assert (error["ename"], error["evalue"]) == ("ZeroDivisionError", "division by zero")
    assert error["traceback"][-1].startswith("ZeroDivisionError")
    assert not any("\x1b[" in line for line in error["traceback"])
    assert "ZeroDivisionError" in daemon.text(result["runId"], "stderr")
    assert daemon.text(result["runId"]) == "hi\n"


async def test_interrupt_stops_a_long_sleep(daemon: Daemon) -> None:
    session = "bai-runs"
    task = await start_run(
        daemon, session, "y = 5\nimport time\nprint('sleeping', flush=True)\ntime.sleep(60)", "sl"
    )
    t0 = time.monotonic()
    info = await daemon.request("runbridge/interrupt", {"session": session})
    assert info["name"] == session
    result = await asyncio.wait_for(task, 15)
    assert time.monotonic() - t0 < 5
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    after = await daemon.run("print(y)", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "5\n"), after


async def test_cancel_request_interrupts_the_run(daemon: Daemon) -> None:
    session = "bai-runs"
    await daemon.run("w = 3", session=session)
    msg_id = f"run-{uuid.uuid4().hex}"
    before = set(daemon.outputs)
    future = asyncio.ensure_future(
        daemon.client.protocol.send_request_async(  # type: ignore[no-untyped-call]
            "runbridge/run",
            {"session": session, "code": "import time\nprint('nap', flush=True)\ntime.sleep(60)"},
            msg_id=msg_id,
        )
    )
    await daemon.wait_for(lambda: future.done() or set(daemon.outputs) - before)
    assert not future.done()
    [run_id] = set(daemon.outputs) - before
    t0 = time.monotonic()
    daemon.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(future, 10)
    assert caught.value.code == -32800, caught.value  # RequestCancelled
    assert time.monotonic() - t0 < 5
    assert daemon.text(run_id) == "nap\n"
    after = await daemon.run("print(w * 2)", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "6\n"), after
    ends = [
        json.loads(line)
        for line in Path(after["transcript"]).read_text().splitlines()
        if json.loads(line)["run"] == run_id and json.loads(line)["kind"] == "runbridge/run-end"
    ]
    assert [json.loads(e["data"])["status"] for e in ends] == ["interrupted"]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "rest"])
async def test_closing_the_session_ends_its_run(
    daemon: Daemon, emu: Emulator, stream: bool
) -> None:
    session = f"bai-close-{'stream' if stream else 'rest'}"
    await open_session(daemon, session)
    emu.config.stream_execute = stream
    try:
        task = await start_run(
            daemon, session, "import time\nprint('zz', flush=True)\ntime.sleep(30)", "zz"
        )
        t0 = time.monotonic()
        closed = await daemon.request("runbridge/closeSession", {"name": session})
        assert closed["state"] == "closed"
        result = await asyncio.wait_for(task, 10)
    finally:
        emu.config.stream_execute = True
    assert time.monotonic() - t0 < 5
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert [s["state"] for s in daemon.states if s["name"] == session][-1] == "closed"
    # the name can be opened again, afresh
    info = await open_session(daemon, session)
    assert info["created"] is True
    again = await daemon.run("print('z' in globals())", session=session)
    assert daemon.text(again["runId"]) == "False\n"
    await daemon.request("runbridge/closeSession", {"name": session})


async def test_restart(daemon: Daemon, emu: Emulator) -> None:
    session = "bai-restart"
    await daemon.run("kept = 1\nopen('file.txt', 'w').write('x')", session=session)
    if generation(emu) == "old":
        info = await daemon.request("runbridge/restart", {"session": session})
        assert (info["name"], info["state"]) == (session, "idle")
        result = await daemon.run(
            "import os\nprint('kept' in globals(), os.path.exists('file.txt'))", session=session
        )
        assert daemon.text(result["runId"]) == "False True\n", daemon.console(result["runId"])
    else:
        error = await rpc_error(daemon, "runbridge/restart", {"session": session})
        assert error.code == -32023, error  # Unsupported
        assert "no longer supports restarting" in error.message and "501" in error.message, (
            error.message
        )
        listed = (await daemon.request("runbridge/listSessions"))["sessions"]
        assert [s["state"] for s in listed if s["name"] == session] == ["idle"]
        result = await daemon.run("print('kept' in globals())", session=session)
        assert daemon.text(result["runId"]) == "True\n"


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


async def test_batch_with_upload_build_exec_and_exit_code(
    daemon: Daemon, emu: Emulator, tmp_path: Path
) -> None:
    session = "bai-batch"
    (tmp_path / "Makefile").write_text("hello.txt:\n\techo built > hello.txt\n")
    (tmp_path / "main.py").write_text(
        "import sys\nprint('main saw', open('hello.txt').read().strip())\nsys.exit(3)\n"
    )
    uploaded = await daemon.request(
        "runbridge/upload",
        {"session": session, "files": [str(tmp_path / "Makefile"), str(tmp_path / "main.py")]},
    )
    assert sorted(f["path"] for f in uploaded["files"]) == ["Makefile", "main.py"]
    result = await daemon.request(
        "runbridge/run",
        {
            "session": session,
            "mode": "batch",
            "code": "",
            "options": {"build": "*", "exec": "*"},
        },
    )
    assert (result["status"], result["exitCode"]) == ("finished", 3), result
    out = daemon.text(result["runId"])
    assert "echo built" in out and "main saw built" in out, daemon.console(result["runId"])

    ok = await daemon.request(
        "runbridge/run",
        {"session": session, "mode": "batch", "code": "", "options": {"exec": "echo fine"}},
    )
    assert (ok["status"], ok["exitCode"]) == ("finished", 0), ok
    assert daemon.text(ok["runId"]) == "fine\n"
    failing_build = await daemon.request(
        "runbridge/run",
        {
            "session": session,
            "mode": "batch",
            "code": "",
            "options": {"build": "exit 2", "exec": "echo not-reached"},
        },
    )
    assert failing_build["status"] == "finished" and failing_build["exitCode"] != 0
    assert "not-reached" not in daemon.text(failing_build["runId"])
    # the kernel's execution time limit ends the run exec-timeout
    emu.config.batch_exec_timeout = 0.5
    try:
        timed_out = await daemon.request(
            "runbridge/run",
            {"session": session, "mode": "batch", "code": "", "options": {"exec": "sleep 10"}},
        )
    finally:
        emu.config.batch_exec_timeout = None
    assert (timed_out["status"], timed_out["exitCode"]) == ("exec-timeout", 124), timed_out
    assert "time limit" in timed_out["message"]
    # code sent with a batch run is uploaded and executed
    with_code = await daemon.request(
        "runbridge/run",
        {
            "session": session,
            "mode": "batch",
            "code": "import os\nprint('code ran in', os.path.basename(os.getcwd()))",
        },
    )
    assert (with_code["status"], with_code["exitCode"]) == ("finished", 0), with_code
    assert daemon.text(with_code["runId"]) == "code ran in work\n", daemon.console(
        with_code["runId"]
    )


async def test_upload_download_round_trip(daemon: Daemon, tmp_path: Path) -> None:
    session = "bai-batch"
    src = tmp_path / "src"
    src.mkdir()
    payload = bytes(range(256)) * 1000
    (src / "data.bin").write_bytes(payload)
    (src / "note.txt").write_text("héllo\n")
    uploaded = await daemon.request(
        "runbridge/upload",
        {"session": session, "files": [str(src / "data.bin"), str(src / "note.txt")], "dest": "in"},
    )
    assert sorted((f["path"], f["size"]) for f in uploaded["files"]) == [
        ("in/data.bin", len(payload)),
        ("in/note.txt", 7),
    ]
    result = await daemon.run(
        "import hashlib\nprint(hashlib.sha256(open('in/data.bin','rb').read()).hexdigest())",
        session=session,
    )
    assert daemon.text(result["runId"]).strip() == hashlib.sha256(payload).hexdigest()
    listing = await daemon.request("runbridge/listFiles", {"session": session, "path": "in"})
    rows = [(e["name"], e["path"], e["type"], e["size"]) for e in listing["entries"]]
    assert rows == [
        ("data.bin", "in/data.bin", "file", len(payload)),
        ("note.txt", "in/note.txt", "file", 7),
    ]

    dest = tmp_path / "back"
    downloaded = await daemon.request(
        "runbridge/download",
        {"session": session, "files": ["in/data.bin", "in/note.txt"], "dest": str(dest)},
    )
    assert len(downloaded["files"]) == 2, downloaded
    got = {Path(f["path"]).name: Path(f["path"]) for f in downloaded["files"]}
    assert got["data.bin"].read_bytes() == payload
    assert got["note.txt"].read_text() == "héllo\n"
    assert all(Path(f["path"]).is_relative_to(dest) for f in downloaded["files"])

    missing = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": session, "files": ["in/nope.bin"], "dest": str(dest)},
    )
    assert missing.code == -32014, missing  # FileError
    # more files than the manager takes in one request (20 up, 5 down): sent in batches
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


async def test_terminal_echo_and_resize(
    daemon: Daemon, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    opened = await daemon.request(
        "runbridge/openTerminal", {"session": session, "rows": 24, "cols": 80}
    )
    tid = opened["terminalId"]

    def screen() -> str:
        return "".join(daemon.terminal_data[tid])

    def type_in(data: str) -> None:
        daemon.notify("runbridge/terminalInput", {"terminalId": tid, "data": data})

    type_in("echo hi-$((40+2))\n")
    await daemon.wait_for(lambda: "hi-42" in screen(), timeout=15)
    type_in('echo "size=<$(stty size)>"\n')
    await daemon.wait_for(lambda: "size=<24 80>" in screen(), timeout=15)
    daemon.notify("runbridge/resizeTerminal", {"terminalId": tid, "rows": 33, "cols": 101})
    await asyncio.sleep(0.2)
    type_in('echo "size=<$(stty size)>"\n')
    await daemon.wait_for(lambda: "size=<33 101>" in screen(), timeout=15)
    type_in("printf 'x\\303\\274y\\n'\n")  # multi-byte output
    await daemon.wait_for(lambda: "xüy" in screen(), timeout=15)
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    # PTY output frames are TEXT up to manager 25.5, BINARY from 25.6: both were understood
    expected = "text" if generation(emu) == "old" else "binary"
    assert frames and set(frames) == {expected}, frames


async def test_dropped_terminal_websocket_ends_the_terminal(daemon: Daemon, emu: Emulator) -> None:
    session = "bai-batch"
    await open_session(daemon, session)
    tid = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    daemon.notify("runbridge/terminalInput", {"terminalId": tid, "data": "echo up-$((1+1))\n"})
    await daemon.wait_for(lambda: "up-2" in "".join(daemon.terminal_data[tid]), timeout=15)
    assert emu.drop_websockets() >= 1
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    error = await rpc_error(daemon, "runbridge/closeTerminal", {"terminalId": tid})
    assert error.code == -32013, error  # TerminalNotFound: it is gone
    # a new terminal works
    tid2 = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    daemon.notify("runbridge/terminalInput", {"terminalId": tid2, "data": "echo again\n"})
    await daemon.wait_for(lambda: "again\r\n" in "".join(daemon.terminal_data[tid2]), 15)
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid2})


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
