"""Runs end to end: real ipykernel kernels driven over the daemon's stdio protocol.

Each test uses its own session name (so the module's shared daemon keeps one
kernel per test) unless sharing a session is the point of the test. The output
flood test gets a daemon of its own so the others are not slowed.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon, plain, start_daemon
from tests.e2e.conftest import start_run as start_run_seen
from tests.media import make_png

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CLEAR_OUTPUT = "application/x-runbridge-clear-output"
#: JSON-RPC "RequestCancelled".
REQUEST_CANCELLED = -32800


# -- helpers ------------------------------------------------------------------


def merged(records: list[list[str]]) -> list[tuple[str, str]]:
    """Records with adjacent stdout (or stderr) pieces joined, however they were flushed."""
    out: list[tuple[str, str]] = []
    for kind, data in records:
        if out and kind in ("stdout", "stderr") and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + data)
        else:
            out.append((kind, data))
    return out


def session_run_ids(daemon: Daemon, session: str) -> list[str]:
    """Run ids that have sent output for ``session``, in first-output order."""
    return [
        rid for rid, notes in daemon.outputs.items() if notes and notes[0]["session"] == session
    ]


def session_text(daemon: Daemon, session: str, kind: str = "stdout") -> str:
    return "".join(daemon.text(rid, kind) for rid in session_run_ids(daemon, session))


def states_of(daemon: Daemon, session: str) -> list[str]:
    return [s["state"] for s in daemon.states if s["name"] == session]


def transcript_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def transcript_records(path: str, run_id: str) -> list[dict[str, Any]]:
    records = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["run"] == run_id:
                records.append(record)
    return records


def run_end(path: str, run_id: str) -> dict[str, Any]:
    ends = [r for r in transcript_records(path, run_id) if r["kind"] == "runbridge/run-end"]
    assert len(ends) == 1, ends
    end: dict[str, Any] = json.loads(ends[0]["data"])
    return end


def start_run(
    daemon: Daemon, session: str, code: str, msg_id: str | None = None
) -> asyncio.Task[Any]:
    """Send a run request now (tasks start in creation order) and return its raw reply."""
    request = daemon.client.protocol.send_request_async(  # type: ignore[no-untyped-call]
        "runbridge/run", {"session": session, "code": code}, msg_id=msg_id
    )
    return asyncio.ensure_future(request)


async def open_session(daemon: Daemon, name: str) -> None:
    info = await daemon.request("runbridge/openSession", {"name": name})
    assert info["state"] == "idle", info


async def start_sleeper(daemon: Daemon, session: str, code: str) -> asyncio.Task[Any]:
    """Start a run whose code prints 'started' and then blocks; return once it printed."""
    task = asyncio.ensure_future(daemon.run(code, session=session))
    await daemon.wait_for(lambda: task.done() or "started" in session_text(daemon, session))
    assert not task.done(), f"the run ended early: {task.result()}"
    return task


# -- 1. state ---------------------------------------------------------------------


async def test_state_is_kept_between_runs(daemon: Daemon) -> None:
    first = await daemon.run("x = 41", session="runs-state")
    assert (first["status"], first["exitCode"]) == ("finished", 0)
    assert daemon.console(first["runId"]) == []
    second = await daemon.run("print(x + 1)", session="runs-state")
    assert (second["status"], second["exitCode"]) == ("finished", 0)
    assert daemon.text(second["runId"]) == "42\n"
    assert second["runId"] != first["runId"]


# -- 2. stream order ----------------------------------------------------------------


async def test_stdout_and_stderr_keep_their_order(daemon: Daemon) -> None:
    code = (
        "import sys\n"
        "for i in range(6):\n"
        "    sys.stdout.write(f'out{i}\\n'); sys.stdout.flush()\n"
        "    sys.stderr.write(f'err{i}\\n'); sys.stderr.flush()\n"
    )
    result = await daemon.run(code, session="runs-order-streams")
    assert result["status"] == "finished"
    expected = []
    for i in range(6):
        expected += [("stdout", f"out{i}\n"), ("stderr", f"err{i}\n")]
    assert merged(daemon.console(result["runId"])) == expected


# -- 3. rich output -------------------------------------------------------------------


async def test_png_display_is_a_data_uri_of_the_same_bytes(daemon: Daemon) -> None:
    png = make_png(3, 2, (200, 10, 30))
    code = f"from IPython.display import Image, display\ndisplay(Image(data={png!r}))\n"
    result = await daemon.run(code, session="runs-rich")
    assert result["status"] == "finished", result
    records = daemon.console(result["runId"])
    assert len(records) == 1, records
    kind, data = records[0]
    assert kind == "image/png"
    prefix = "data:image/png;base64,"
    assert data.startswith(prefix)
    assert base64.b64decode(data[len(prefix) :], validate=True) == png


async def test_svg_html_markdown_json_records(daemon: Daemon) -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" fill="red"/></svg>'
    )
    code = (
        "from IPython.display import SVG, HTML, Markdown, JSON, display\n"
        f"display(SVG({svg!r}))\n"
        "display(HTML('<b>bold</b> text'))\n"
        "display(Markdown('# Title\\n\\n*em*'))\n"
        "display(JSON({'a': [1, 2], 'b': None}))\n"
    )
    result = await daemon.run(code, session="runs-rich")
    assert result["status"] == "finished", result
    records = daemon.console(result["runId"])
    assert [kind for kind, _ in records] == [
        "image/svg+xml",
        "text/html",
        "text/markdown",
        "application/json",
    ], records
    assert records[0][1].startswith("<svg")
    assert "<rect" in records[0][1]
    assert records[1][1] == "<b>bold</b> text"
    assert records[2][1] == "# Title\n\n*em*"
    assert json.loads(records[3][1]) == {"a": [1, 2], "b": None}


async def test_bare_expression_is_echoed_on_stdout(daemon: Daemon) -> None:
    result = await daemon.run("1+1", session="runs-rich")
    assert result["status"] == "finished"
    assert daemon.console(result["runId"]) == [["stdout", "2\n"]]


async def test_clear_output_record(daemon: Daemon) -> None:
    code = (
        "from IPython.display import clear_output\n"
        "print('before', flush=True)\n"
        "clear_output()\n"
        "print('after')\n"
    )
    result = await daemon.run(code, session="runs-rich")
    assert result["status"] == "finished"
    records = merged(daemon.console(result["runId"]))
    assert [kind for kind, _ in records] == ["stdout", CLEAR_OUTPUT, "stdout"], records
    assert records[0][1] == "before\n"
    assert json.loads(records[1][1]) == {"wait": False}
    assert records[2][1] == "after\n"


async def test_a_display_with_an_id_is_updated_in_place_even_from_a_later_run(
    daemon: Daemon,
) -> None:
    session = "runs-display-id"
    first = await daemon.run(
        "from IPython.display import display, HTML\n"
        "h = display(HTML('<b>one</b>'), display_id=True)\n"
        "h.update(HTML('<b>two</b>'))\n"
        "display('plain', display_id='txt')\n"
        "print('printed')\n",
        session=session,
    )
    records = daemon.console(first["runId"])
    shown, updated, text, printed = records
    assert shown[:2] == ["text/html", "<b>one</b>"] and shown[2].keys() == {"displayId"}
    display_id = shown[2]["displayId"]
    assert updated == ["text/html", "<b>two</b>", {"displayId": display_id, "update": True}]
    # a text-only display stays its own record: printed text is not merged into it
    assert text == ["stdout", "'plain'\n", {"displayId": "txt"}]
    assert printed == ["stdout", "printed\n"]
    later = await daemon.run("h.update(HTML('<b>three</b>'))", session=session)
    assert daemon.console(later["runId"]) == [
        ["text/html", "<b>three</b>", {"displayId": display_id, "update": True}]
    ]
    saved = [r for r in transcript_records(later["transcript"], later["runId"])]
    assert saved[1]["display"] == {"displayId": display_id, "update": True}


# -- 4. input -------------------------------------------------------------------------


async def test_input_is_asked_and_answered(daemon: Daemon) -> None:
    session = "runs-input"
    daemon.answer = lambda p: {"value": "Ada"}
    try:
        result = await daemon.run("name = input('Name? ')\nprint('hello', name)", session=session)
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    asked = [p for p in daemon.input_requests if p["session"] == session]
    assert asked == [
        {"session": session, "runId": result["runId"], "prompt": "Name? ", "password": False}
    ]
    assert "hello Ada\n" in daemon.text(result["runId"])


async def test_password_input_is_flagged_and_used(daemon: Daemon) -> None:
    session = "runs-password"
    daemon.answer = lambda p: {"value": "s3cret"}
    try:
        result = await daemon.run(
            "import getpass\npw = getpass.getpass('Secret: ')\nprint(len(pw), pw[::-1])",
            session=session,
        )
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    asked = [p for p in daemon.input_requests if p["session"] == session]
    assert asked == [
        {"session": session, "runId": result["runId"], "prompt": "Secret: ", "password": True}
    ]
    assert daemon.text(result["runId"]).endswith("6 terc3s\n")


async def test_cancelled_input_interrupts_the_run(daemon: Daemon) -> None:
    session = "runs-input-cancel"
    code = "answer = input('go? ')\nprint('not reached')"
    replies: list[dict[str, Any] | None] = [None, {"value": None}]
    for reply in replies:
        daemon.answer = functools.partial(lambda r, p: r, reply)
        try:
            t0 = time.monotonic()
            result = await daemon.run(code, session=session)
            elapsed = time.monotonic() - t0
        finally:
            daemon.answer = lambda p: {"value": ""}
        assert result["status"] == "interrupted", (reply, result)
        assert result["exitCode"] == 130
        assert elapsed < 5, elapsed
        assert "not reached" not in daemon.text(result["runId"])
        asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
        assert len(asked) == 1 and asked[0]["prompt"] == "go? "
    # The kernel survived the cancellations.
    after = await daemon.run("print('still here')", session=session)
    assert after["status"] == "finished"
    assert daemon.text(after["runId"]) == "still here\n"


# -- 5. exceptions ----------------------------------------------------------------------


async def test_exception_gives_error_and_plain_traceback(daemon: Daemon) -> None:
    code = "def boom():\n    raise ValueError('bad value 17')\nprint('first', flush=True)\nboom()\n"
    result = await daemon.run(code, session="runs-error")
    assert result["status"] == "finished"
    assert result["exitCode"] == 1
    error = result["error"]
    assert error["ename"] == "ValueError"
    assert error["evalue"] == "bad value 17"
    traceback = error["traceback"]
    assert isinstance(traceback, list) and traceback
    assert all(isinstance(line, str) for line in traceback)
    joined = "\n".join(traceback)
    assert "\x1b" not in joined
    assert "ValueError" in joined and "bad value 17" in joined and "boom" in joined
    assert daemon.text(result["runId"]) == "first\n"
    stderr = ANSI.sub("", daemon.text(result["runId"], "stderr"))
    assert "ValueError" in stderr and "bad value 17" in stderr


# -- 6. interrupts ------------------------------------------------------------------------


SLEEPER = "y = 5\nprint('started', flush=True)\nimport time\ntime.sleep(60)\nprint('woke up')\n"


async def test_interrupt_request_stops_a_sleep(daemon: Daemon) -> None:
    session = "runs-interrupt"
    await open_session(daemon, session)
    task = await start_sleeper(daemon, session, SLEEPER)
    t0 = time.monotonic()
    info = await daemon.request("runbridge/interrupt", {"session": session})
    assert info["name"] == session
    result = await asyncio.wait_for(task, 10)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, elapsed
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert daemon.text(result["runId"]) == "started\n"
    after = await daemon.run("print(y)", session=session)
    assert after["status"] == "finished"
    assert daemon.text(after["runId"]) == "5\n"


async def test_cancel_request_interrupts_the_run(daemon: Daemon) -> None:
    session = "runs-cancel"
    await open_session(daemon, session)
    # pygls 2's client does not send $/cancelRequest when a request's future is
    # cancelled (send_request only registers the future; cancelling it locally would
    # even make the later response fail with InvalidStateError), so the test sends the
    # notification itself, as an editor does, and keeps waiting for the response.
    msg_id = f"run-{uuid.uuid4().hex}"
    future = start_run(daemon, session, SLEEPER, msg_id=msg_id)
    await daemon.wait_for(lambda: future.done() or "started" in session_text(daemon, session))
    assert not future.done()
    [run_id] = session_run_ids(daemon, session)
    idle_before = states_of(daemon, session).count("idle")
    t0 = time.monotonic()
    daemon.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    try:
        await asyncio.wait_for(future, 10)
    except JsonRpcException as exc:
        assert exc.code == REQUEST_CANCELLED, exc
    else:
        raise AssertionError("the cancelled run request did not answer RequestCancelled")
    # The run itself ends (interrupted) and the session goes back to idle.
    await daemon.wait_for(lambda: states_of(daemon, session).count("idle") > idle_before, 5)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, elapsed
    assert states_of(daemon, session)[-1] == "idle"
    # Output produced before the interrupt was delivered, and nothing after it.
    assert daemon.text(run_id) == "started\n"
    # Same kernel, still usable.
    after = await daemon.run("print(y * 2)", session=session)
    assert after["status"] == "finished"
    assert daemon.text(after["runId"]) == "10\n"
    # The cancelled run was recorded as interrupted.
    assert run_end(after["transcript"], run_id)["status"] == "interrupted"


async def test_cancel_request_drops_a_queued_run(daemon: Daemon) -> None:
    session = "runs-cancel-queued"
    await open_session(daemon, session)
    first = await start_sleeper(daemon, session, SLEEPER)
    msg_id = f"run-{uuid.uuid4().hex}"
    queued = start_run(daemon, session, "print('never')", msg_id=msg_id)
    await asyncio.sleep(0.2)
    assert not queued.done()
    daemon.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(queued, 10)
    assert caught.value.code == REQUEST_CANCELLED, caught.value
    # the run ahead of it is untouched: still running, then interrupted on request
    assert not first.done()
    await daemon.request("runbridge/interrupt", {"session": session})
    result = await asyncio.wait_for(first, 10)
    assert result["status"] == "interrupted", result
    after = await daemon.run("print(y + 1)", session=session)
    assert daemon.text(after["runId"]) == "6\n"
    assert "never" not in session_text(daemon, session)


async def test_cancel_request_while_the_run_opens_its_session(daemon: Daemon) -> None:
    session = "runs-cancel-opening"
    msg_id = f"run-{uuid.uuid4().hex}"
    running = start_run(daemon, session, "print('never')", msg_id=msg_id)
    await daemon.wait_for(lambda: "starting" in states_of(daemon, session), 10)
    daemon.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(running, 30)
    assert caught.value.code == REQUEST_CANCELLED, caught.value
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert session not in [s["name"] for s in listed]  # the start was abandoned
    assert "never" not in session_text(daemon, session)
    # the name is free: a new run opens it and runs
    result = await daemon.run("print('opened')", session=session)
    assert daemon.text(result["runId"]) == "opened\n"


# -- 7. kernel death ------------------------------------------------------------------------


async def test_kernel_death_fails_the_run_and_the_next_run_gets_a_fresh_kernel(
    daemon: Daemon,
) -> None:
    session = "runs-death"
    setup = await daemon.run("x = 1", session=session)
    assert setup["status"] == "finished"
    t0 = time.monotonic()
    result = await daemon.run("import os\nos._exit(1)", session=session)
    assert time.monotonic() - t0 < 10
    assert result["status"] == "failed", result
    assert "died" in result["message"]
    assert "[runbridge] run failed" in daemon.text(result["runId"], "stderr")
    await daemon.wait_for(lambda: "dead" in states_of(daemon, session), 5)
    after = await daemon.run("print('x' in globals(), 6 * 7)", session=session)
    assert (after["status"], after["exitCode"]) == ("finished", 0), after
    assert daemon.text(after["runId"]) == "False 42\n"
    states = states_of(daemon, session)
    dead_at = states.index("dead")
    assert states[dead_at + 1 :][:3] == ["starting", "busy", "idle"], states


async def test_closing_the_session_ends_its_run_interrupted(daemon: Daemon) -> None:
    """closeSession during a run: the run is answered at once, ``interrupted`` (as on the
    jupyter backend), and the session goes from busy to closed, never dead."""
    session = "runs-close"
    task = await start_run_seen(
        daemon, session, "import time\nprint('zz', flush=True)\ntime.sleep(30)", "zz"
    )
    t0 = time.monotonic()
    closed = await daemon.request("runbridge/closeSession", {"name": session})
    assert closed["state"] == "closed"
    result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - t0 < 5
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert result["message"] == "the session was closed"
    assert "dead" not in states_of(daemon, session)
    assert daemon.text(result["runId"]) == "zz\n"


# -- 8. concurrency -------------------------------------------------------------------------


async def test_runs_on_two_sessions_are_parallel(daemon: Daemon) -> None:
    await asyncio.gather(open_session(daemon, "runs-par-a"), open_session(daemon, "runs-par-b"))
    code = "import time\ntime.sleep(2)\nprint('slept')"
    t0 = time.monotonic()
    results = await asyncio.gather(
        daemon.run(code, session="runs-par-a"), daemon.run(code, session="runs-par-b")
    )
    elapsed = time.monotonic() - t0
    assert elapsed < 3.5, elapsed
    for result in results:
        assert result["status"] == "finished"
        assert daemon.text(result["runId"]) == "slept\n"


async def test_runs_on_one_session_execute_in_order(daemon: Daemon) -> None:
    session = "runs-queue"
    setup = await daemon.run("log = []", session=session)
    assert setup["status"] == "finished"
    # Sent back to back: the first is slow, so the second would overtake it if
    # runs on one session were not queued.
    first = start_run(daemon, session, "import time\ntime.sleep(0.5)\nlog.append('a')\nprint(log)")
    second = start_run(daemon, session, "log.append('b')\nprint(log)")
    a, b = [plain(r) for r in await asyncio.gather(first, second)]
    assert (a["status"], b["status"]) == ("finished", "finished")
    assert daemon.text(a["runId"]) == "['a']\n"
    assert daemon.text(b["runId"]) == "['a', 'b']\n"


# -- 9. output flood --------------------------------------------------------------------------


async def test_output_flood_is_capped_and_kept_in_the_transcript(fresh_daemon: Daemon) -> None:
    daemon = fresh_daemon
    chunks = 55
    code = (
        "import sys\n"
        "chunk = 'x' * (1024 * 1024 - 1) + '\\n'\n"
        f"for _ in range({chunks}):\n"
        "    sys.stdout.write(chunk); sys.stdout.flush()\n"
        "print('done', flush=True)\n"
    )
    result = await asyncio.wait_for(daemon.run(code, session="runs-flood"), 60)
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    run_id = result["runId"]
    notes = daemon.outputs[run_id]
    assert 0 < len(notes) < 200, len(notes)
    records = daemon.console(run_id)
    kind, last = records[-1]
    assert kind == "stderr"
    assert "not shown" in last
    assert result["transcript"] in last
    shown = sum(len(data) for kind, data in records if kind == "stdout")
    assert shown < 20 * 1024 * 1024, shown
    saved = transcript_records(result["transcript"], run_id)
    saved_stdout = "".join(r["data"] for r in saved if r["kind"] == "stdout")
    assert len(saved_stdout) >= chunks * 1024 * 1024
    assert saved_stdout.endswith("done\n")
    end = run_end(result["transcript"], run_id)
    assert end["status"] == "finished"
    assert end["bytes"] >= chunks * 1024 * 1024


async def test_a_full_transcript_is_rotated_at_the_next_run(tmp_path: Path) -> None:
    options = {"transcriptMaxMb": 0.01}  # ~10 KB
    async with start_daemon(tmp_path / "home", "vscode", options) as daemon:
        big = await daemon.run("print('a' * 20000)", session="runs-rotate")
        path = Path(big["transcript"])
        rotated = path.with_name(path.name + ".1")
        assert not rotated.exists()
        small = await daemon.run("print('after')", session="runs-rotate")
        assert small["transcript"] == big["transcript"]  # the same name, a fresh file
        # the big run is whole in the rotated file, the next one starts the new file
        assert [r["run"] for r in transcript_lines(path)] == [small["runId"]] * 3
        old = [r for r in transcript_lines(rotated) if r["run"] == big["runId"]]
        assert "".join(r["data"] for r in old if r["kind"] == "stdout") == "a" * 20000 + "\n"
        assert old[-1]["kind"] == "runbridge/run-end"
        await daemon.request("runbridge/closeSession", {"name": "runs-rotate"})


# -- 10. timeout ---------------------------------------------------------------------------------


async def test_timeout_option_gives_exec_timeout(daemon: Daemon) -> None:
    session = "runs-timeout"
    await open_session(daemon, session)
    t0 = time.monotonic()
    result = await daemon.run(
        "import time\ntime.sleep(30)", session=session, options={"timeout": 0.5}
    )
    elapsed = time.monotonic() - t0
    assert result["status"] == "exec-timeout", result
    assert result["exitCode"] == 124
    # one wording on every backend (the jupyter and backendai suites check theirs)
    assert result["message"] == "the run exceeded its timeout of 0.5 s and was interrupted"
    assert 0.5 <= elapsed < 3.0, elapsed
    after = await daemon.run("print('ok')", session=session)
    assert after["status"] == "finished"
    assert daemon.text(after["runId"]) == "ok\n"


# -- 11. implicit open -----------------------------------------------------------------------------


async def test_run_on_unopened_session_opens_it(daemon: Daemon) -> None:
    session = "runs-auto-open"
    assert states_of(daemon, session) == []
    listed = await daemon.request("runbridge/listSessions")
    assert session not in [s["name"] for s in listed["sessions"]]
    result = await daemon.run("print('hi')", session=session)
    assert result["status"] == "finished"
    assert daemon.text(result["runId"]) == "hi\n"
    await daemon.wait_for(lambda: states_of(daemon, session)[-1:] == ["idle"])
    assert states_of(daemon, session) == ["starting", "idle", "busy", "idle"]
    listed = await daemon.request("runbridge/listSessions")
    assert session in [s["name"] for s in listed["sessions"]]
