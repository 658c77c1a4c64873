"""runbridge's behavioural suite through the real daemon (stdio) against stock Jupyter servers.

Every test runs against an unmodified Jupyter Server and an unmodified Jupyter Kernel
Gateway (``server`` fixture, one process per module and kind), through one daemon per kind
whose ``jupyter`` profiles are given in ``initializationOptions``. Kernel Gateway has no
contents and no terminals API (and does not list kernels): there the file and terminal
tests check runbridge's clear ``Unsupported`` errors instead, and reattaching by name relies
on runbridge's own state. The "server killed mid-run" test runs a server of its own.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import signal
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.backendai.daemon_helpers import error_data, rpc_error
from tests.e2e.conftest import Daemon, png_code, start_daemon, start_run
from tests.jupyter.conftest import (
    WRONG_TOKEN,
    SilentServer,
    make_server,
    profile,
    profiles_for,
)
from tests.jupyter.helpers import assert_secret_nowhere, open_session, sha256, states_of
from tests.jupyter.servers import KernelGateway, ServerProcess
from tests.media import make_png

pytestmark = pytest.mark.timeout(60)

UNSUPPORTED = -32023
BACKEND_ERROR = -32020
MB = 1024 * 1024


def gateway(server: ServerProcess) -> bool:
    return isinstance(server, KernelGateway)


# -- sessions ----------------------------------------------------------------------------


async def test_open_reuse_and_state_changes(daemon: Daemon, server: ServerProcess) -> None:
    info = await open_session(daemon, "j-open")
    assert (info["backend"], info["profile"], info["image"]) == ("jupyter", "jup", "python3")
    assert (info["state"], info["created"]) == ("idle", True), info
    states = states_of(daemon, "j-open")
    assert states[0] == "starting" and states[-1] == "idle", states
    again = await open_session(daemon, "j-open")
    assert (again["created"], again["state"]) == (False, "idle"), again
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert [s["name"] for s in listed].count("j-open") == 1
    # a run goes busy, then idle
    before = len(daemon.states)
    result = await daemon.run("print('ok')", session="j-open")
    assert daemon.text(result["runId"]) == "ok\n"
    await daemon.wait_for(lambda: states_of(daemon, "j-open")[-1] == "idle", timeout=5)
    during = [s["state"] for s in daemon.states[before:] if s["name"] == "j-open"]
    assert "busy" in during and during[-1] == "idle", during
    # the other image is a conflict, the open session untouched
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "j-open", "image": "nope"})
    assert error.code == -32012, error
    if not gateway(server):
        # one kernel on the server for this session
        names = [s.get("name") for s in server.api("GET", "/api/sessions")]
        assert names.count("j-open") == 1, names


async def assert_gone(pid: int) -> None:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"kernel process {pid} still runs")


async def test_close_session_deletes_the_kernel_on_the_server(
    daemon: Daemon, server: ServerProcess
) -> None:
    session = "j-close"
    result = await daemon.run("import os\nprint(os.getpid())", session=session)
    pid = int(daemon.text(result["runId"]))
    closed = await daemon.request("runbridge/closeSession", {"name": session})
    assert closed["state"] == "closed"
    assert states_of(daemon, session)[-1] == "closed"
    await assert_gone(pid)  # the server shut the kernel down
    if not gateway(server):
        assert session not in [s.get("name") for s in server.api("GET", "/api/sessions")]
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert session not in [s["name"] for s in listed]
    error = await rpc_error(daemon, "runbridge/closeSession", {"name": session})
    assert error.code == -32011, error
    # the name opens again, afresh
    info = await open_session(daemon, session)
    assert info["created"] is True
    again = await daemon.run("print('pid' in globals())", session=session)
    assert daemon.text(again["runId"]) == "False\n"
    await daemon.request("runbridge/closeSession", {"name": session})


async def test_closing_the_session_ends_its_run(daemon: Daemon) -> None:
    """closeSession during a run: the run's request is answered at once, not left hanging."""
    session = "j-close-run"
    task = await start_run(
        daemon, session, "import time\nprint('zz', flush=True)\ntime.sleep(30)", "zz"
    )
    t0 = time.monotonic()
    closed = await daemon.request("runbridge/closeSession", {"name": session})
    assert closed["state"] == "closed"
    try:
        result = await asyncio.wait_for(asyncio.shield(task), 10)
    except TimeoutError:
        task.cancel()
        raise AssertionError("the run was still unanswered 10 s after closeSession") from None
    assert time.monotonic() - t0 < 5
    # docs/jupyter.md: "closeSession ... a run in progress ends interrupted"
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result


KERNEL_ID = (
    "import os\nfrom ipykernel.kernelapp import IPKernelApp\n"
    "print(os.path.basename(IPKernelApp.instance().connection_file)[7:-5])"
)


async def test_kernel_shut_down_elsewhere_mid_run(daemon: Daemon, server: ServerProcess) -> None:
    """Someone else deletes the session's kernel on the server during a run: the run ends
    failed, naming the server, and the next run gets a kernel again."""
    session = "j-elsewhere"
    result = await daemon.run(KERNEL_ID, session=session)
    kernel_id = daemon.text(result["runId"]).strip()
    assert kernel_id, daemon.console(result["runId"])
    server.api("GET", f"/api/kernels/{kernel_id}")  # it is the server's kernel
    task = await start_run(
        daemon, session, "import time\nprint('busy', flush=True)\ntime.sleep(60)", "busy"
    )
    t0 = time.monotonic()
    server.api("DELETE", f"/api/kernels/{kernel_id}")
    result = await asyncio.wait_for(task, 20)
    assert time.monotonic() - t0 < 10
    assert (result["status"], result["exitCode"]) == ("failed", None), result
    assert server.url in result["message"] and "'jup'" in result["message"], result
    await daemon.wait_for(lambda: states_of(daemon, session)[-1] == "dead", timeout=5)
    after = await daemon.run("print('back')", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "back\n"), after
    await daemon.request("runbridge/closeSession", {"name": session})


async def test_unknown_kernelspec_is_named_and_leaves_nothing(
    daemon: Daemon, server: ServerProcess
) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "j-nospec", "image": "no-such-kernel"}
    )
    assert error.code == -32021, error  # KernelSpecNotFound
    assert "no-such-kernel" in error.message and "python3" in error.message, error.message
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "j-nospec" not in [s["name"] for s in listed]
    if not gateway(server):
        assert "j-nospec" not in [s.get("name") for s in server.api("GET", "/api/sessions")]


async def test_token_from_the_environment(daemon: Daemon) -> None:
    """``token_env``: the profile names a variable of the daemon's environment."""
    result = await daemon.run("print(1 + 1)", session="j-envtok", profile="envtok")
    assert (result["status"], daemon.text(result["runId"])) == ("finished", "2\n"), result
    check = await daemon.request("runbridge/checkProfile", {"profile": "envtok"})
    assert check["ok"] is True and check["type"] == "jupyter", check
    await daemon.request("runbridge/closeSession", {"name": "j-envtok"})


# -- runs ---------------------------------------------------------------------------------


async def test_streamed_output_state_and_stdout_stderr(daemon: Daemon) -> None:
    session = "j-runs"
    first = await daemon.run("x = 20\nprint('set', flush=True)", session=session)
    assert (first["status"], first["exitCode"]) == ("finished", 0), first
    assert daemon.text(first["runId"]) == "set\n"
    second = await daemon.run(
        "import sys, time\n"
        "print('out', x + 22, flush=True)\n"
        "time.sleep(0.6)\n"
        "print('err', file=sys.stderr, flush=True)\n",
        session=session,
    )
    assert second["status"] == "finished", second
    assert daemon.text(second["runId"]) == "out 42\n"
    assert daemon.text(second["runId"], "stderr") == "err\n"
    notes = daemon.outputs[second["runId"]]
    assert len(notes) >= 2, notes  # streamed: the first line came in its own notification
    assert notes[0]["console"][0] == ["stdout", "out 42\n"]
    bare = await daemon.run("x * 2", session=session)
    assert daemon.text(bare["runId"]) == "40\n", daemon.console(bare["runId"])


async def test_streaming_arrives_before_the_run_ends(daemon: Daemon) -> None:
    task = await start_run(
        daemon, "j-runs", "import time\nprint('early', flush=True)\ntime.sleep(1.5)", "early"
    )
    assert not task.done()
    result = await asyncio.wait_for(task, 15)
    assert result["status"] == "finished"


async def test_back_to_back_runs_keep_order(daemon: Daemon) -> None:
    session = "j-runs"
    results = await asyncio.gather(*(daemon.run(f"print({i})", session=session) for i in range(8)))
    assert [daemon.text(r["runId"]) for r in results] == [f"{i}\n" for i in range(8)]


async def test_media_records(daemon: Daemon) -> None:
    session = "j-runs"
    png = make_png(3, 2, (255, 0, 0))
    result = await daemon.run(png_code(png), session=session)
    records = [r for r in daemon.console(result["runId"]) if r[0] != "stdout" or r[1].strip()]
    assert [r[0] for r in records] == ["image/png"], records
    assert records[0][1].startswith("data:image/png;base64,")
    assert base64.b64decode(records[0][1].split(",", 1)[1]) == png
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>'
    result = await daemon.run(
        "from IPython.display import display, SVG, HTML\n"
        f"display(SVG({svg!r}))\ndisplay(HTML('<b>bold</b>'))",
        session=session,
    )
    records = daemon.console(result["runId"])
    assert [k for k, _ in records] == ["image/svg+xml", "text/html"], records
    assert "<rect" in records[0][1] and records[1][1] == "<b>bold</b>"
    # a display with an id keeps it, and its update says so
    result = await daemon.run(
        "h = display(HTML('<i>v1</i>'), display_id='progress')\nh.update(HTML('<i>v2</i>'))",
        session=session,
    )
    assert daemon.console(result["runId"]) == [
        ["text/html", "<i>v1</i>", {"displayId": "progress"}],
        ["text/html", "<i>v2</i>", {"displayId": "progress", "update": True}],
    ]


async def test_input_and_password(daemon: Daemon) -> None:
    session = "j-runs"
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
    assert daemon.text(result["runId"]) == "before\nName? Ada\nhello Ada\n"

    daemon.answer = lambda p: {"value": "s3cret"}
    try:
        result = await daemon.run(
            "import getpass\npw = getpass.getpass('Secret: ')\nprint(len(pw), pw[::-1])",
            session=session,
        )
    finally:
        daemon.answer = lambda p: {"value": ""}
    asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
    assert [(p["prompt"], p["password"]) for p in asked] == [("Secret: ", True)]
    text = daemon.text(result["runId"])
    assert text.endswith("6 terc3s\n") and "s3cret" not in text, text


async def test_output_before_the_prompt_comes_before_it(daemon: Daemon) -> None:
    """protocol.md, runbridge/input: output printed before the prompt has already been sent.

    The kernel flushes stdout (iopub) before it sends ``input_request`` (stdin); the two
    are separate sockets, so the client must keep that order. A race shows only now and
    then, hence the repetitions."""
    session = "j-runs"
    daemon.answer = lambda p: {"value": "Ada"}
    wrong = []
    try:
        for i in range(25):
            result = await daemon.run(
                f"print('line {i}')\nname = input('Name? ')\nprint('hello', name)", session
            )
            text = daemon.text(result["runId"])
            if text != f"line {i}\nName? Ada\nhello Ada\n":
                wrong.append(daemon.console(result["runId"]))
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert not wrong, f"{len(wrong)} of 25 runs out of order, e.g. {wrong[0]}"


async def test_cancelled_input_interrupts_the_run(daemon: Daemon) -> None:
    session = "j-runs"
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


async def test_exception_gives_error_and_exit_code(daemon: Daemon) -> None:
    result = await daemon.run("print('hi')\n1/0", session="j-runs")
    assert (result["status"], result["exitCode"]) == ("finished", 1), result
    error = result["error"]
    assert (error["ename"], error["evalue"]) == ("ZeroDivisionError", "division by zero")
    assert error["traceback"][-1].startswith("ZeroDivisionError")
    assert not any("\x1b[" in line for line in error["traceback"])
    assert "ZeroDivisionError" in daemon.text(result["runId"], "stderr")
    assert daemon.text(result["runId"]) == "hi\n"


async def test_timeout_option_gives_exec_timeout(daemon: Daemon) -> None:
    session = "j-runs"
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


async def test_interrupt_stops_a_long_sleep(daemon: Daemon) -> None:
    session = "j-runs"
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
    # harmless on an idle session
    info = await daemon.request("runbridge/interrupt", {"session": session})
    assert info["state"] == "idle"


async def test_cancel_request_interrupts_the_run(daemon: Daemon) -> None:
    session = "j-runs"
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
    t0 = time.monotonic()
    daemon.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(future, 10)
    assert caught.value.code == -32800, caught.value
    assert time.monotonic() - t0 < 5
    after = await daemon.run("print(w * 2)", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "6\n"), after


async def test_restart_loses_variables_and_keeps_the_session(daemon: Daemon) -> None:
    session = "j-restart"
    result = await daemon.run("import os\nkept = 1\nprint(os.getpid())", session=session)
    pid = daemon.text(result["runId"])
    token = "tok-restart"
    daemon.client.progress_reports[token] = []
    info = await daemon.request("runbridge/restart", {"session": session, "workDoneToken": token})
    assert (info["name"], info["state"]) == (session, "idle"), info
    result = await daemon.run("import os\nprint('kept' in globals(), os.getpid())", session=session)
    after = daemon.text(result["runId"])
    assert after.startswith("False "), daemon.console(result["runId"])
    assert after.split()[1] != pid.strip(), "the same kernel process after restart"
    # a run executing during a restart ends failed, and the session keeps working
    task = await start_run(
        daemon, session, "import time\nprint('r', flush=True)\ntime.sleep(30)", "r"
    )
    await daemon.request("runbridge/restart", {"session": session})
    result = await asyncio.wait_for(task, 15)
    assert result["status"] == "failed", result
    result = await daemon.run("print('again')", session=session)
    assert daemon.text(result["runId"]) == "again\n"


async def test_kernel_death_fails_the_run_and_the_next_run_works(daemon: Daemon) -> None:
    session = "j-death"
    await daemon.run("import os", session=session)
    result = await daemon.run("print('bye', flush=True)\nos._exit(1)", session=session)
    assert result["status"] == "failed" and result["exitCode"] is None, result
    assert result.get("message"), result
    after = await daemon.run("print('fresh', 'os' in globals())", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "fresh False\n"), after


# -- batch ---------------------------------------------------------------------------------


async def batch(daemon: Daemon, session: str, code: str = "", **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = await daemon.request(
        "runbridge/run", {"session": session, "mode": "batch", "code": code, "options": options}
    )
    return result


async def test_batch_build_exec_and_exit_codes(daemon: Daemon) -> None:
    session = "j-batch"
    names = "print(sorted(k for k in globals() if not k.startswith('_')))"
    before = await daemon.run(names, session=session)
    ok = await batch(daemon, session, build="echo building", exec="echo ran; exit 4")
    assert (ok["status"], ok["exitCode"]) == ("finished", 4), ok
    assert daemon.text(ok["runId"]) == "building\nran\n", daemon.console(ok["runId"])
    failing = await batch(daemon, session, build="echo oops >&2; exit 2", exec="echo not-reached")
    assert (failing["status"], failing["exitCode"]) == ("finished", 2), failing
    assert "not-reached" not in daemon.text(failing["runId"])
    assert daemon.text(failing["runId"], "stderr") == "oops\n"
    timed = await batch(daemon, session, exec="sleep 20", timeout=1)
    assert (timed["status"], timed["exitCode"]) == ("exec-timeout", 124), timed
    code = await batch(daemon, session, code="import sys\nprint('code ran', sys.argv[0][-3:])")
    assert (code["status"], code["exitCode"]) == ("finished", 0), code
    assert daemon.text(code["runId"]) == "code ran .py\n", daemon.console(code["runId"])
    # the user's namespace of the session is untouched by batch runs
    after = await daemon.run(names, session=session)
    assert daemon.text(after["runId"]) == daemon.text(before["runId"])


async def test_batch_interrupt(daemon: Daemon) -> None:
    session = "j-batch"
    task = asyncio.create_task(batch(daemon, session, exec="echo started; sleep 60"))
    await daemon.wait_for(
        lambda: (
            task.done()
            or any(
                "started" in daemon.text(r)
                for r in daemon.outputs
                if daemon.outputs[r][0]["session"] == session
            )
        ),
        timeout=20,
    )
    assert not task.done()
    await daemon.request("runbridge/interrupt", {"session": session})
    result = await asyncio.wait_for(task, 15)
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result


# -- files -----------------------------------------------------------------------------------


def progress_ended(daemon: Daemon, token: str) -> bool:
    reports = daemon.client.progress_reports.get(token, [])
    return bool(reports) and isinstance(reports[-1], types.WorkDoneProgressEnd)


def check_progress(daemon: Daemon, token: str) -> list[int]:
    reports = daemon.client.progress_reports[token]
    assert isinstance(reports[0], types.WorkDoneProgressBegin), reports
    assert isinstance(reports[-1], types.WorkDoneProgressEnd), reports
    middle = reports[1:-1]
    assert all(isinstance(r, types.WorkDoneProgressReport) for r in middle), reports
    percentages = [r.percentage for r in middle if r.percentage is not None]
    assert percentages == sorted(percentages), percentages
    assert percentages and percentages[-1] == 100, percentages
    return percentages


@pytest.mark.timeout(120)
async def test_upload_50mb_with_progress_and_checksum(
    daemon: Daemon, server: ServerProcess, tmp_path: Path
) -> None:
    session = "j-files"
    src = tmp_path / "big.bin"
    with src.open("wb") as f:
        for _ in range(50):
            f.write(os.urandom(MB))
    token = "tok-up50"
    daemon.client.progress_reports[token] = []
    if gateway(server):
        error = await rpc_error(
            daemon,
            "runbridge/upload",
            {"session": session, "files": [str(src)], "dest": "in", "workDoneToken": token},
        )
        assert error.code == UNSUPPORTED, error
        assert "contents" in error.message and server.url in error.message, error.message
        # the session is unchanged and works
        result = await daemon.run("print('still here')", session=session)
        assert daemon.text(result["runId"]) == "still here\n"
        return
    t0 = time.monotonic()
    uploaded = await daemon.request(
        "runbridge/upload",
        {"session": session, "files": [str(src)], "dest": "in", "workDoneToken": token},
    )
    elapsed = time.monotonic() - t0
    assert uploaded["files"] == [{"path": "in/big.bin", "size": 50 * MB}], uploaded
    await daemon.wait_for(functools.partial(progress_ended, daemon, token), timeout=10)
    percentages = check_progress(daemon, token)
    assert len(set(percentages)) >= 3, f"no progress between start and end: {percentages}"
    # the kernel sees the file in its working folder, byte for byte
    result = await daemon.run(
        "import hashlib\nprint(hashlib.sha256(open('in/big.bin','rb').read()).hexdigest())",
        session=session,
    )
    assert daemon.text(result["runId"]).strip() == sha256(src), daemon.console(result["runId"])
    # and on the server's disk, with no partial file left behind
    on_disk = [p for p in server.root.rglob("*") if p.is_file() and p.name.startswith("big.bin")]
    assert [p.name for p in on_disk] == ["big.bin"], on_disk
    assert sha256(on_disk[0]) == sha256(src)
    assert elapsed < 30, f"50 MB took {elapsed:.1f} s on loopback"


async def test_upload_download_list_round_trip(
    daemon: Daemon, server: ServerProcess, tmp_path: Path
) -> None:
    session = "j-files"
    src = tmp_path / "src"
    src.mkdir()
    payload = os.urandom(3 * MB + 12345)
    (src / "data.bin").write_bytes(payload)
    (src / "note é.txt").write_text("héllo\n", encoding="utf-8")
    files = [str(src / "data.bin"), str(src / "note é.txt")]
    dest = tmp_path / "back"
    dest.mkdir()
    if gateway(server):
        for method, params in (
            ("runbridge/upload", {"session": session, "files": files}),
            ("runbridge/download", {"session": session, "files": ["x"], "dest": str(dest)}),
            ("runbridge/listFiles", {"session": session}),
        ):
            error = await rpc_error(daemon, method, params)
            assert error.code == UNSUPPORTED, (method, error)
            assert "contents" in error.message and server.url in error.message, error.message
        return
    uploaded = await daemon.request(
        "runbridge/upload", {"session": session, "files": files, "dest": "rt/sub"}
    )
    assert uploaded["files"] == [
        {"path": "rt/sub/data.bin", "size": len(payload)},
        {"path": "rt/sub/note é.txt", "size": 7},
    ]
    listing = await daemon.request("runbridge/listFiles", {"session": session, "path": "rt/sub"})
    rows = [(e["name"], e["path"], e["type"], e["size"]) for e in listing["entries"]]
    assert rows == [
        ("data.bin", "rt/sub/data.bin", "file", len(payload)),
        ("note é.txt", "rt/sub/note é.txt", "file", 7),
    ]
    top = await daemon.request("runbridge/listFiles", {"session": session, "path": "rt"})
    assert [(e["name"], e["type"]) for e in top["entries"]] == [("sub", "dir")]
    token = "tok-down"
    daemon.client.progress_reports[token] = []
    downloaded = await daemon.request(
        "runbridge/download",
        {
            "session": session,
            "files": ["rt/sub/data.bin", "rt/sub/note é.txt"],
            "dest": str(dest),
            "workDoneToken": token,
        },
    )
    assert downloaded["files"] == [
        {"path": str(dest / "data.bin"), "size": len(payload)},
        {"path": str(dest / "note é.txt"), "size": 7},
    ]
    assert (dest / "data.bin").read_bytes() == payload
    assert (dest / "note é.txt").read_text(encoding="utf-8") == "héllo\n"
    await daemon.wait_for(functools.partial(progress_ended, daemon, token), timeout=10)
    check_progress(daemon, token)
    # a file written by the kernel comes back too
    await daemon.run("open('made.txt', 'w').write('by the kernel\\n')", session=session)
    got = await daemon.request(
        "runbridge/download", {"session": session, "files": ["made.txt"], "dest": str(dest)}
    )
    assert Path(got["files"][0]["path"]).read_text() == "by the kernel\n"
    # errors are named
    missing = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": session, "files": ["rt/nope.bin"], "dest": str(dest)},
    )
    assert missing.code == -32014 and "nope.bin" in missing.message, missing
    escape = await rpc_error(
        daemon, "runbridge/upload", {"session": session, "files": files, "dest": "../out"}
    )
    assert escape.code == -32014, escape


async def test_session_folders_by_name_one_to_one(daemon: Daemon, server: ServerProcess) -> None:
    """Session names map to folders one to one on the server too; a folder that the first
    naming gave a name (unsafe characters made '_', the crc32 appended) moves to its new
    name when nothing is there and no server-side session lives in it."""
    if gateway(server):
        return  # no folders on a gateway
    crc = f"{zlib.crc32(b'j old/1'):08x}"
    old = server.root / "runbridge" / f"j_old_1-{crc}"
    old.mkdir(parents=True)
    (old / "kept.txt").write_text("kept\n")
    info = await open_session(daemon, "j old/1")
    assert info["workdir"] == "runbridge/j~20old~2F1", info
    listing = await daemon.request("runbridge/listFiles", {"session": "j old/1"})
    assert "kept.txt" in [e["name"] for e in listing["entries"]]
    assert not old.exists()
    # "j/2" and the literal name of the folder the first naming gave it: the literal name
    # opens first, and its folder (the other's old folder) stays its own
    literal = f"j_2-{zlib.crc32(b'j/2'):08x}"
    for name in (literal, "j/2"):
        result = await daemon.run(f"open('who.txt', 'w').write({name!r})", session=name)
        assert result["status"] == "finished", result
    assert (server.root / "runbridge" / literal / "who.txt").read_text() == literal
    assert (server.root / "runbridge" / "j~2F2" / "who.txt").read_text() == "j/2"
    for name in ("j old/1", literal, "j/2"):
        await daemon.request("runbridge/closeSession", {"name": name})


# -- terminal ----------------------------------------------------------------------------------


async def test_terminal_echo_and_resize(daemon: Daemon, server: ServerProcess) -> None:
    session = "j-term"
    if gateway(server):
        error = await rpc_error(daemon, "runbridge/openTerminal", {"session": session})
        assert error.code == UNSUPPORTED, error
        assert "terminals" in error.message and server.url in error.message, error.message
        result = await daemon.run("print('still here')", session=session)
        assert daemon.text(result["runId"]) == "still here\n"
        return
    opened = await daemon.request(
        "runbridge/openTerminal", {"session": session, "rows": 24, "cols": 80}
    )
    tid = opened["terminalId"]
    assert len(server.api("GET", "/api/terminals")) == 1

    def screen() -> str:
        return "".join(daemon.terminal_data[tid])

    def type_in(data: str) -> None:
        daemon.notify("runbridge/terminalInput", {"terminalId": tid, "data": data})

    type_in("echo hi-$((40+2))\r")
    await daemon.wait_for(lambda: "hi-42" in screen(), timeout=15)
    type_in('echo "size=<$(stty size)>"\r')
    await daemon.wait_for(lambda: "size=<24 80>" in screen(), timeout=15)
    daemon.notify("runbridge/resizeTerminal", {"terminalId": tid, "rows": 33, "cols": 101})
    await asyncio.sleep(0.2)
    type_in('echo "size=<$(stty size)>"\r')
    await daemon.wait_for(lambda: "size=<33 101>" in screen(), timeout=15)
    type_in("printf 'x\\303\\274y\\n'\r")  # multi-byte output
    await daemon.wait_for(lambda: "xüy" in screen(), timeout=15)
    # the shell starts in the session's work folder: a file made there is seen by the kernel
    type_in("echo from-shell > term.txt\r")
    await daemon.wait_for(lambda: screen().count("term.txt") >= 1, timeout=15)
    await asyncio.sleep(0.3)
    result = await daemon.run("print(open('term.txt').read().strip())", session=session)
    assert daemon.text(result["runId"]) == "from-shell\n", daemon.console(result["runId"])
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    # the PTY is deleted on the server (it would outlive the websocket otherwise)
    assert server.api("GET", "/api/terminals") == []
    error = await rpc_error(daemon, "runbridge/closeTerminal", {"terminalId": tid})
    assert error.code == -32013, error
    # a shell that exits by itself is reported and its PTY deleted too
    tid = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    daemon.notify("runbridge/terminalInput", {"terminalId": tid, "data": "exit\r"})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=15)
    for _ in range(50):
        if server.api("GET", "/api/terminals") == []:
            break
        await asyncio.sleep(0.1)
    assert server.api("GET", "/api/terminals") == []


# -- reattach ---------------------------------------------------------------------------------


async def test_reattach_by_name_after_a_daemon_restart(
    server: ServerProcess, silent: SilentServer, tmp_path: Path
) -> None:
    """The kernel stays on the server when the daemon goes (a crash, or a clean exit, which
    detaches); the next daemon opening the same name gets that kernel back, variables and
    all. On Jupyter Server the name is found on the server (even by a daemon with another
    home); on Kernel Gateway, which lists nothing, through runbridge's state file."""
    options = {"profiles": profiles_for(server, silent), "profile": "jup"}
    home = tmp_path / "home"
    async with start_daemon(home, init_options=options) as first:
        result = await first.run("import os\nkept = 41\nprint(os.getpid())", session="j-re")
        pid = first.text(result["runId"]).strip()
        proc = first.client._server
        assert proc is not None
        proc.send_signal(signal.SIGKILL)  # a crash: no chance to clean up
        await proc.wait()
    async with start_daemon(home, init_options=options) as second:
        info = await open_session(second, "j-re")
        assert info["state"] == "idle" and info["created"] is False, info
        result = await second.run("import os\nkept += 1\nprint(kept, os.getpid())", "j-re")
        assert (result["status"], second.text(result["runId"])) == ("finished", f"42 {pid}\n")
    # the second daemon left cleanly (shutdown + exit): it detached, the kernel still runs
    os.kill(int(pid), 0)
    third_home = home if gateway(server) else tmp_path / "other-home"
    async with start_daemon(third_home, init_options=options) as third:
        result = await third.run("import os\nprint(kept, os.getpid())", session="j-re")
        assert (result["status"], third.text(result["runId"])) == ("finished", f"42 {pid}\n")
        assert [s["name"] for s in (await third.request("runbridge/listSessions"))["sessions"]]
        await third.request("runbridge/closeSession", {"name": "j-re"})
    await assert_gone(int(pid))  # closeSession shut the reattached kernel down
    async with start_daemon(home, init_options=options) as fourth:
        info = await open_session(fourth, "j-re")
        assert info["created"] is True, info  # closed for good: a fresh kernel
        await fourth.request("runbridge/closeSession", {"name": "j-re"})


async def test_keep_sessions_false_closes_kernels_on_daemon_exit(
    server: ServerProcess, silent: SilentServer, tmp_path: Path
) -> None:
    profiles = profiles_for(server, silent)
    profiles["jup"]["keep_sessions"] = False
    options = {"profiles": profiles, "profile": "jup"}
    async with start_daemon(tmp_path / "home", init_options=options) as d:
        result = await d.run("import os\nkept = 1\nprint(os.getpid())", session="j-nokeep")
        pid = int(d.text(result["runId"]))
    await assert_gone(pid)  # shutdown closed the session's kernel
    async with start_daemon(tmp_path / "home", init_options=options) as d:
        info = await open_session(d, "j-nokeep")
        assert info["created"] is True, info
        result = await d.run("print('kept' in globals())", session="j-nokeep")
        assert d.text(result["runId"]) == "False\n"


# -- errors --------------------------------------------------------------------------------------


async def test_bad_token_is_a_clear_auth_error(daemon: Daemon, server: ServerProcess) -> None:
    for name in ("badtoken", "notoken"):
        t0 = time.monotonic()
        error = await rpc_error(
            daemon, "runbridge/openSession", {"name": f"j-{name}", "profile": name}
        )
        assert time.monotonic() - t0 < 10
        assert error.code == BACKEND_ERROR, error
        message = error.message
        assert server.url in message and repr(name) in message, message
        assert "token" in message and ("401" in message or "403" in message), message
        assert_secret_nowhere(daemon, [WRONG_TOKEN, server.token], message, error_data(error))
        check = await daemon.request("runbridge/checkProfile", {"profile": name})
        assert check["ok"] is False and "token" in check["message"], check
        assert_secret_nowhere(daemon, [WRONG_TOKEN, server.token], check)
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert not {"j-badtoken", "j-notoken"} & {s["name"] for s in sessions}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("wrongpath", ["404", "URL"]),
        ("down", ["cannot be reached", "connection refused"]),
        ("silent", ["did not answer within 3 s"]),
    ],
)
async def test_wrong_url_and_server_down_are_clear_errors(
    daemon: Daemon, server: ServerProcess, silent: SilentServer, name: str, words: list[str]
) -> None:
    url = {"wrongpath": server.url + "/user/nobody", "silent": silent.url}.get(name)
    t0 = time.monotonic()
    error = await rpc_error(daemon, "runbridge/openSession", {"name": f"j-{name}", "profile": name})
    elapsed = time.monotonic() - t0
    assert elapsed < 3 + 5, f"{elapsed:.1f} s for an error (read_timeout 3 s)"
    assert error.code == BACKEND_ERROR, error
    message = error.message
    assert repr(name) in message, message
    assert (url or "http://127.0.0.1:") in message, message
    for word in words:
        assert word.lower() in message.lower(), message
    assert_secret_nowhere(daemon, [server.token], message, error_data(error))
    check = await daemon.request("runbridge/checkProfile", {"profile": name})
    assert check["ok"] is False, check
    assert_secret_nowhere(daemon, [server.token], check)
    # the daemon still serves the good profile
    result = await daemon.run("print('fine')", session="j-runs")
    assert daemon.text(result["runId"]) == "fine\n"


async def test_check_profile_reports_the_server(daemon: Daemon, server: ServerProcess) -> None:
    good = await daemon.request("runbridge/checkProfile", {})
    assert good["ok"] is True and good["type"] == "jupyter", good
    assert server.url in good["message"], good
    assert_secret_nowhere(daemon, [server.token], good)


# -- the server killed mid-run ----------------------------------------------------------------


@pytest.mark.timeout(150)
async def test_server_killed_mid_run(
    server: ServerProcess, silent: SilentServer, tmp_path: Path
) -> None:
    """The server (and its kernels) killed during a run: a clear error, the daemon survives,
    and the next run after the server returns works.

    On Jupyter Server the server comes back within runbridge's reconnect window (the run
    ends when the reconnect finds its kernel gone); on Kernel Gateway it stays down until
    the run has been given up (the window runs out)."""
    kind = "kernel-gateway" if gateway(server) else "jupyter-server"
    back_early = not gateway(server)
    own = make_server(kind, tmp_path / "server")
    await asyncio.to_thread(own.start)
    try:
        options = {
            "profiles": {"mine": profile(own.url, own.token, connect_timeout=3, read_timeout=5)},
            "profile": "mine",
        }
        async with start_daemon(tmp_path / "home", init_options=options) as d:
            await d.run("z = 7", session="j-kill")
            task = await start_run(
                d, "j-kill", "import time\nprint('running', flush=True)\ntime.sleep(120)", "runn"
            )
            t0 = time.monotonic()
            await asyncio.to_thread(own.kill)
            # the daemon survives: it answers, and says clearly that the server is gone
            listed = (await d.request("runbridge/listSessions"))["sessions"]
            assert "j-kill" in [s["name"] for s in listed]
            t1 = time.monotonic()
            error = await rpc_error(d, "runbridge/openSession", {"name": "j-kill2"})
            assert time.monotonic() - t1 < 8
            assert error.code == BACKEND_ERROR, error
            assert own.url in error.message and "'mine'" in error.message, error.message
            assert "cannot be reached" in error.message, error.message
            if back_early:
                await asyncio.to_thread(own.start)
            result = await asyncio.wait_for(task, 60)
            lost_after = time.monotonic() - t0
            print(f"\n[{kind}] run ended {lost_after:.1f} s after the kill: {result}")
            assert result["status"] == "failed" and result["exitCode"] is None, result
            message = result["message"]
            assert own.url in message and "'mine'" in message, message
            if back_early:
                assert "no longer exists" in message, message
                assert lost_after < 15, f"the lost kernel was noticed after {lost_after:.0f} s"
            else:
                assert "cannot be reached" in message, message
                assert lost_after < 45, f"the lost server was noticed after {lost_after:.0f} s"
                await asyncio.to_thread(own.start)
            # the server is back at the same address: the next run works
            after = await d.run("print(6 * 7)", session="j-kill")
            assert (after["status"], d.text(after["runId"])) == ("finished", "42\n"), (
                after,
                d.console(after["runId"]),
            )
            other = await d.run("print('new')", session="j-after")
            assert d.text(other["runId"]) == "new\n"
            assert_secret_nowhere(d, [own.token], result, error.message)
    finally:
        await asyncio.to_thread(own.stop)
