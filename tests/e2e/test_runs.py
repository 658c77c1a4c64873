"""Runs end to end on the ``local`` backend: real ipykernel kernels over the daemon's stdio.

What every backend does alike (state, stream order, PNG/SVG/HTML, input, errors,
interrupts, ``$/cancelRequest``, timeouts, kernel death) is in tests/conformance; here
is what only this suite checks: more record kinds, display ids across runs, queued and
opening runs cancelled, parallel sessions, the output cap and transcript rotation.

Each test uses its own session name (so the module's shared daemon keeps one
kernel per test) unless sharing a session is the point of the test. The output
flood test gets a daemon of its own so the others are not slowed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon, plain, start_daemon, start_run
from tests.e2e.helpers import (
    merged,
    open_session,
    run_end,
    session_text,
    states_of,
    transcript_records,
)

CLEAR_OUTPUT = "application/x-runbridge-clear-output"
#: JSON-RPC "RequestCancelled".
REQUEST_CANCELLED = -32800
SLEEPER = "y = 5\nprint('started', flush=True)\nimport time\ntime.sleep(60)\nprint('woke up')\n"


# -- helpers ------------------------------------------------------------------


def transcript_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def send_run(
    daemon: Daemon, session: str, code: str, msg_id: str | None = None
) -> asyncio.Task[Any]:
    """Send a run request now (tasks start in creation order) and return its raw reply."""
    request = daemon.client.protocol.send_request_async(  # type: ignore[no-untyped-call]
        "runbridge/run", {"session": session, "code": code}, msg_id=msg_id
    )
    return asyncio.ensure_future(request)


# -- rich output ----------------------------------------------------------------------


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


# -- cancelled requests ------------------------------------------------------------------


async def test_cancel_request_drops_a_queued_run(daemon: Daemon) -> None:
    session = "runs-cancel-queued"
    assert (await open_session(daemon, session))["state"] == "idle"
    first = await start_run(daemon, session, SLEEPER, "started")
    msg_id = f"run-{uuid.uuid4().hex}"
    queued = send_run(daemon, session, "print('never')", msg_id=msg_id)
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
    running = send_run(daemon, session, "print('never')", msg_id=msg_id)
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


# -- concurrency -------------------------------------------------------------------------


async def test_runs_on_two_sessions_are_parallel(daemon: Daemon) -> None:
    infos = await asyncio.gather(
        open_session(daemon, "runs-par-a"), open_session(daemon, "runs-par-b")
    )
    assert [info["state"] for info in infos] == ["idle", "idle"]
    # each kernel says when its sleep began and ended: parallel runs overlap, whatever the
    # machine's load adds around them
    code = "import time\nbegan = time.time()\ntime.sleep(2)\nprint(began, time.time())"
    results = await asyncio.gather(
        daemon.run(code, session="runs-par-a"), daemon.run(code, session="runs-par-b")
    )
    spans = []
    for result in results:
        assert result["status"] == "finished", result
        began, ended = map(float, daemon.text(result["runId"]).split())
        spans.append((began, ended))
    assert max(b for b, _ in spans) < min(e for _, e in spans), spans


async def test_runs_on_one_session_execute_in_order(daemon: Daemon) -> None:
    session = "runs-queue"
    setup = await daemon.run("log = []", session=session)
    assert setup["status"] == "finished"
    # Sent back to back: the first is slow, so the second would overtake it if
    # runs on one session were not queued.
    first = send_run(daemon, session, "import time\ntime.sleep(0.5)\nlog.append('a')\nprint(log)")
    second = send_run(daemon, session, "log.append('b')\nprint(log)")
    a, b = [plain(r) for r in await asyncio.gather(first, second)]
    assert (a["status"], b["status"]) == ("finished", "finished")
    assert daemon.text(a["runId"]) == "['a']\n"
    assert daemon.text(b["runId"]) == "['a', 'b']\n"


async def test_a_run_id_chosen_by_the_client_is_carried_and_kept_unique(daemon: Daemon) -> None:
    session = "runs-client-id"
    mine = f"nvim-{uuid.uuid4().hex[:8]}"
    running = asyncio.ensure_future(
        daemon.request(
            "runbridge/run",
            {"session": session, "code": SLEEPER, "runId": mine},
        )
    )
    await daemon.wait_for(lambda: "started" in daemon.text(mine), timeout=60)
    # its output carried the client's id from the first notification
    assert daemon.text(mine) == "started\n"
    # the same id for another run of the session, while it runs: refused, naming runId
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("runbridge/run", {"session": session, "code": "1", "runId": mine})
    assert caught.value.code == -32602 and "runId" in caught.value.message, caught.value
    await daemon.request("runbridge/interrupt", {"session": session})
    result = plain(await asyncio.wait_for(running, 20))
    assert (result["runId"], result["status"]) == (mine, "interrupted")
    again = await daemon.run("print(y)", session=session)  # the session still runs code
    assert daemon.text(again["runId"]) == "5\n"


# -- output flood --------------------------------------------------------------------------


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


# -- implicit open -------------------------------------------------------------------------------


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
