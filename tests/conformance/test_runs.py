"""Query runs on every backend: state, stream order, media, input, errors, interrupts, a flood."""

from __future__ import annotations

import asyncio
import base64
import functools
import re
import time
import uuid
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conformance.conftest import Target
from tests.e2e.conftest import png_code, start_run
from tests.e2e.helpers import (
    MB,
    merged,
    open_session,
    run_end,
    session_run_ids,
    session_text,
    states_of,
    transcript_records,
)
from tests.media import DRAWING_SVG, DRAWING_VECTOR, drawing_code, make_png

pytestmark = pytest.mark.timeout(90)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: JSON-RPC "RequestCancelled".
REQUEST_CANCELLED = -32800
SLEEPER = "y = 5\nprint('started', flush=True)\nimport time\ntime.sleep(60)\nprint('woke up')\n"


async def test_state_is_kept_between_runs(target: Target) -> None:
    daemon, name = target.daemon, "c-state"
    first = await daemon.run("x = 20", session=name)
    assert (first["status"], first["exitCode"]) == ("finished", 0), first
    assert daemon.console(first["runId"]) == []
    second = await daemon.run("print(x + 22)", session=name)
    assert (second["status"], second["exitCode"]) == ("finished", 0), second
    assert daemon.text(second["runId"]) == "42\n"
    assert second["runId"] != first["runId"]
    # a bare expression's value is shown as stdout
    bare = await daemon.run("x * 2", session=name)
    assert daemon.console(bare["runId"]) == [["stdout", "40\n"]]
    # runs sent back to back on one session run in the order they were sent
    results = await asyncio.gather(*(daemon.run(f"print({i})", session=name) for i in range(8)))
    assert [daemon.text(r["runId"]) for r in results] == [f"{i}\n" for i in range(8)]


async def test_stdout_and_stderr_keep_their_order_and_stream(target: Target) -> None:
    daemon, name = target.daemon, "c-streams"
    code = (
        "import sys\n"
        "for i in range(6):\n"
        "    sys.stdout.write(f'out{i}\\n'); sys.stdout.flush()\n"
        "    sys.stderr.write(f'err{i}\\n'); sys.stderr.flush()\n"
    )
    result = await daemon.run(code, session=name)
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    expected = []
    for i in range(6):
        expected += [("stdout", f"out{i}\n"), ("stderr", f"err{i}\n")]
    assert merged(daemon.console(result["runId"])) == expected
    # output is streamed: the first line arrives, alone, while the run still executes
    task = await start_run(
        daemon,
        name,
        "import sys, time\nprint('early', flush=True)\ntime.sleep(1)\n"
        "print('late', file=sys.stderr)",
        "early",
    )
    assert not task.done()
    result = await asyncio.wait_for(task, 15)
    assert result["status"] == "finished", result
    notes = daemon.outputs[result["runId"]]
    assert len(notes) >= 2 and notes[0]["console"] == [["stdout", "early\n"]], notes
    assert daemon.console(result["runId"]) == [["stdout", "early\n"], ["stderr", "late\n"]]


async def test_media_records(target: Target) -> None:
    daemon, name = target.daemon, "c-media"
    png = make_png(3, 2, (200, 10, 30))
    result = await daemon.run(png_code(png), session=name)
    assert result["status"] == "finished", result
    [(kind, data)] = daemon.console(result["runId"])
    assert kind == "image/png"
    prefix = "data:image/png;base64,"
    assert data.startswith(prefix)
    assert base64.b64decode(data[len(prefix) :], validate=True) == png
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" fill="red"/></svg>'
    )
    result = await daemon.run(
        "from IPython.display import display, SVG, HTML\n"
        f"display(SVG({svg!r}))\ndisplay(HTML('<b>bold</b> text'))",
        session=name,
    )
    records = daemon.console(result["runId"])
    assert [kind for kind, _ in records] == ["image/svg+xml", "text/html"], records
    assert records[0][1].startswith("<svg") and "<rect" in records[0][1], records
    assert records[1][1] == "<b>bold</b> text"
    # a display with an id keeps it, and its update says so (Backend.AI has no display ids)
    result = await daemon.run(
        "h = display(HTML('<i>v1</i>'), display_id='progress')\nh.update(HTML('<i>v2</i>'))",
        session=name,
    )
    if target.display_ids:
        assert daemon.console(result["runId"]) == [
            ["text/html", "<i>v1</i>", {"displayId": "progress"}],
            ["text/html", "<i>v2</i>", {"displayId": "progress", "update": True}],
        ]
    else:
        assert [r[:2] for r in daemon.console(result["runId"])][:1] == [["text/html", "<i>v1</i>"]]
        assert all(len(r) == 2 for r in daemon.console(result["runId"]))


async def test_drawings_arrive_as_svg(target: Target) -> None:
    """A Backend.AI drawing (base64 of msgpack; on ``backendai`` a ``media`` record of the
    manager's console) reaches the editor as the SVG the daemon drew; one that cannot be
    read as a stderr record that says so and keeps its data."""
    daemon, name = target.daemon, "c-drawing"
    result = await daemon.run(drawing_code(DRAWING_VECTOR) + "print('after')", session=name)
    assert result["status"] == "finished", result
    assert daemon.console(result["runId"]) == [
        ["image/svg+xml", DRAWING_SVG],
        ["stdout", "after\n"],
    ]
    result = await daemon.run(drawing_code("gqNjbWQ="), session=name)
    [(kind, text)] = daemon.console(result["runId"])
    assert kind == "stderr"
    assert text == (
        "[runbridge] a drawing (application/x-sorna-drawing) could not be read: "
        "truncated msgpack data; its data:\ngqNjbWQ=\n"
    )


async def answered(daemon: Any, reply: Any, code: str, session: str) -> dict[str, Any]:
    """Run ``code`` with every ``runbridge/input`` answered by ``reply(params)``."""
    daemon.answer = reply
    try:
        result: dict[str, Any] = await daemon.run(code, session=session)
    finally:
        daemon.answer = lambda p: {"value": ""}
    return result


async def test_input_password_and_cancelled_input(target: Target) -> None:
    daemon, name = target.daemon, "c-input"
    result = await answered(
        daemon,
        lambda p: {"value": "Ada"},
        "print('before', flush=True)\nname = input('Name? ')\nprint('hello', name)",
        name,
    )
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
    assert asked == [
        {"session": name, "runId": result["runId"], "prompt": "Name? ", "password": False}
    ]
    assert daemon.text(result["runId"]) == "before\nName? Ada\nhello Ada\n"

    result = await answered(
        daemon,
        lambda p: {"value": "s3cret"},
        "import getpass\npw = getpass.getpass('Secret: ')\nprint(len(pw), pw[::-1])",
        name,
    )
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
    assert asked == [
        {"session": name, "runId": result["runId"], "prompt": "Secret: ", "password": True}
    ]
    text = daemon.text(result["runId"])
    assert text.endswith("6 terc3s\n") and "s3cret" not in text, text

    # an editor that cancels the prompt (no answer, or a null value) interrupts the run
    await daemon.run("kept_var = 9", session=name)
    for reply in (None, {"value": None}):
        t0 = time.monotonic()
        result = await answered(
            daemon,
            functools.partial(lambda r, p: r, reply),
            "answer = input('go? ')\nprint('not reached')",
            name,
        )
        assert time.monotonic() - t0 < 10
        assert (result["status"], result["exitCode"]) == ("interrupted", 130), (reply, result)
        assert "not reached" not in daemon.text(result["runId"])
        asked = [p for p in daemon.input_requests if p["runId"] == result["runId"]]
        assert [p["prompt"] for p in asked] == ["go? "]
    after = await daemon.run("print(kept_var)", session=name)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "9\n"), after


async def test_exception_gives_its_error_and_traceback(target: Target) -> None:
    daemon = target.daemon
    code = "def boom():\n    raise ValueError('bad value 17')\nprint('first', flush=True)\nboom()\n"
    result = await daemon.run(code, session="c-error")
    assert result["status"] == "finished", result
    assert result["exitCode"] == target.error_exit_code, result
    error = result["error"]
    assert (error["ename"], error["evalue"]) == ("ValueError", "bad value 17")
    traceback = error["traceback"]
    assert isinstance(traceback, list) and traceback
    assert all(isinstance(line, str) for line in traceback)
    assert traceback[-1].startswith("ValueError"), traceback
    joined = "\n".join(traceback)
    assert "\x1b" not in joined
    assert "bad value 17" in joined and "boom" in joined, joined
    assert daemon.text(result["runId"]) == "first\n"
    stderr = ANSI.sub("", daemon.text(result["runId"], "stderr"))
    assert "ValueError" in stderr and "bad value 17" in stderr, stderr


async def test_interrupt_stops_a_sleep(target: Target) -> None:
    daemon, name = target.daemon, "c-interrupt"
    assert (await open_session(daemon, name))["state"] == "idle"
    task = await start_run(daemon, name, SLEEPER, "started")
    t0 = time.monotonic()
    info = await daemon.request("runbridge/interrupt", {"session": name})
    assert info["name"] == name
    result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - t0 < 8  # the interrupt ended it, not the 60 s sleep
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert daemon.text(result["runId"]) == "started\n"
    after = await daemon.run("print(y)", session=name)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "5\n"), after
    # harmless on an idle session
    info = await daemon.request("runbridge/interrupt", {"session": name})
    assert info["state"] == "idle"
    after = await daemon.run("print(y)", session=name)
    assert daemon.text(after["runId"]) == "5\n"


async def test_an_interrupt_right_behind_the_run_stops_it(target: Target) -> None:
    """An interrupt sent right behind the run request, so that it may reach the kernel
    before the kernel began to run the code (when a Python kernel ignores it), still
    stops the run. Three times, as the moment it lands varies."""
    daemon, name = target.daemon, "c-interrupt-early"
    assert (await open_session(daemon, name))["state"] == "idle"
    for attempt in range(3):
        task = asyncio.ensure_future(
            daemon.run(f"import time\ntime.sleep(60 + {attempt})", session=name)
        )
        await asyncio.sleep(0)  # the run request is written first
        t0 = time.monotonic()
        await daemon.request("runbridge/interrupt", {"session": name})
        result = await asyncio.wait_for(task, 30)
        took = time.monotonic() - t0
        assert (result["status"], result["exitCode"]) == ("interrupted", 130), (attempt, result)
        assert took < 10, (attempt, took)  # (the run sleeps 60 s)
    after = await daemon.run("print('alive')", session=name)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "alive\n"), after


async def test_timeout_option_gives_exec_timeout(target: Target) -> None:
    daemon, name = target.daemon, "c-timeout"
    assert (await open_session(daemon, name))["state"] == "idle"
    t0 = time.monotonic()
    result = await daemon.run(
        "import time\nprint('tick', flush=True)\ntime.sleep(30)",
        session=name,
        options={"timeout": 0.5},
    )
    elapsed = time.monotonic() - t0
    assert (result["status"], result["exitCode"]) == ("exec-timeout", 124), result
    # one wording on every backend
    assert result["message"] == "the run exceeded its timeout of 0.5 s and was interrupted"
    assert 0.5 <= elapsed < 8, elapsed  # the timeout ended it, not the 30 s sleep
    assert daemon.text(result["runId"]) == "tick\n"
    after = await daemon.run("print('alive')", session=name)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "alive\n"), after


async def test_cancel_request_interrupts_the_run(target: Target) -> None:
    daemon, name = target.daemon, "c-cancel"
    assert (await open_session(daemon, name))["state"] == "idle"
    # pygls 2's client does not send $/cancelRequest when a request's future is
    # cancelled, so the test sends the notification itself, as an editor does.
    msg_id = f"run-{uuid.uuid4().hex}"
    future = asyncio.ensure_future(
        daemon.client.protocol.send_request_async(  # type: ignore[no-untyped-call]
            "runbridge/run", {"session": name, "code": SLEEPER}, msg_id=msg_id
        )
    )
    await daemon.wait_for(lambda: future.done() or "started" in session_text(daemon, name))
    assert not future.done()
    [run_id] = session_run_ids(daemon, name)
    idle_before = states_of(daemon, name).count("idle")
    t0 = time.monotonic()
    daemon.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(future, 10)
    assert caught.value.code == REQUEST_CANCELLED, caught.value
    # the run itself ends (interrupted) and the session goes back to idle
    await daemon.wait_for(lambda: states_of(daemon, name).count("idle") > idle_before, 8)
    assert time.monotonic() - t0 < 8  # the cancel ended it, not the 60 s sleep
    assert states_of(daemon, name)[-1] == "idle"
    # output from before the interrupt was delivered, and nothing after it
    assert daemon.text(run_id) == "started\n"
    after = await daemon.run("print(y * 2)", session=name)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "10\n"), after
    assert run_end(after["transcript"], run_id)["status"] == "interrupted"


FLOOD_MB = 30
#: 30 MB of numbered 1 KiB lines as fast as the kernel prints; ``pause`` (seconds) after
#: each MiB when given.
FLOOD = (
    "import sys, time\n"
    "for i in range({lines}):\n"
    "    sys.stdout.write(f'{{i:09d}}' + 'x' * 1014 + '\\n')\n"
    "    if {pause} and i % 1024 == 1023: sys.stdout.flush(); time.sleep({pause})\n"
    "sys.stdout.flush()\nprint('done', flush=True)\n"
)


@pytest.mark.timeout(180)
async def test_a_30_mb_flood_is_delivered_in_full(target: Target) -> None:
    daemon, name = target.daemon, "c-flood"
    burst = FLOOD.format(lines=FLOOD_MB * 1024, pause=0)
    if target.burst_drops_the_stream:
        # the gap, shown: the session stays usable, and a paced flood arrives in full
        result = await asyncio.wait_for(daemon.run(burst, session=name), 60)
        assert (result["status"], result["exitCode"]) == ("failed", None), result
        assert "dropped before the run finished" in result["message"], result
        after = await daemon.run("print('after')", session=name)
        assert (after["status"], daemon.text(after["runId"])) == ("finished", "after\n")
        burst = FLOOD.format(lines=FLOOD_MB * 1024, pause=0.05)
    t0 = time.monotonic()
    result = await asyncio.wait_for(daemon.run(burst, session=name), 150)
    print(f"\n[{target.kind}] {FLOOD_MB} MB in {time.monotonic() - t0:.1f} s")
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    run_id = result["runId"]
    records = daemon.console(run_id)
    assert {kind for kind, _ in records} == {"stdout"}, {kind for kind, _ in records}
    shown = "".join(data for _, data in records)
    lines = shown.splitlines()
    assert len(shown) == FLOOD_MB * MB + len("done\n"), len(shown)
    assert lines[-1] == "done"
    assert [int(line[:9]) for line in lines[:-1]] == list(range(FLOOD_MB * 1024))
    saved = transcript_records(result["transcript"], run_id)
    assert "".join(r["data"] for r in saved if r["kind"] == "stdout") == shown
    assert run_end(result["transcript"], run_id)["bytes"] == len(shown)
    del daemon.outputs[run_id]  # 30 MB the other tests need not keep
