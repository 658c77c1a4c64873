"""``runbridge/history`` through the real daemon and real kernels: finished runs as they
were streamed (media included), its bounds and ``after``, errors, a run with input, a
run past the output cap, and a flood read mid-run and stitched to the live stream.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Daemon, plain, png_code, start_daemon, start_run
from tests.e2e.helpers import error_data, rpc_error, transcript_records

INVALID_PARAMS = -32602
#: A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def history(daemon: Daemon, session: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await daemon.request(
        "runbridge/history", {"session": session, **params}
    )
    return result


def streamed(daemon: Daemon, run_id: str) -> list[dict[str, Any]]:
    """The run's live notifications as history batches: ``{seq, console}``."""
    return [{"seq": n["seq"], "console": n["console"]} for n in daemon.outputs[run_id]]


def text_of(batches: list[dict[str, Any]]) -> str:
    return "".join(r[1] for b in batches for r in b["console"] if r[0] in ("stdout", "stderr"))


async def test_finished_runs_in_order_with_their_records_and_media(daemon: Daemon) -> None:
    first = await daemon.run("print('one')\nimport sys; print('two', file=sys.stderr)", "h-done")
    second = await daemon.run(png_code(PNG) + "print('after the image')", "h-done")
    result = await history(daemon, "h-done")
    assert result["session"] == "h-done" and result["more"] is False
    assert result["transcript"] == first["transcript"]
    runs = result["runs"]
    assert [r["runId"] for r in runs] == [first["runId"], second["runId"]]
    for run in runs:
        # the same records under the same numbers as the live stream, byte for byte
        assert run["batches"] == streamed(daemon, run["runId"])
        assert (run["status"], run["exitCode"], run["truncated"]) == ("finished", 0, False)
        assert run["lastSeq"] == daemon.outputs[run["runId"]][-1]["seq"]
        assert run["mode"] == "query" and isinstance(run["started"], float)
    assert runs[0]["code"].startswith("print('one')")
    kinds = [r[0] for b in runs[1]["batches"] for r in b["console"]]
    assert "image/png" in kinds
    assert text_of(runs[0]["batches"]) == "one\ntwo\n"


async def test_limit_and_after(daemon: Daemon) -> None:
    ids = []
    for i in range(4):
        ids.append((await daemon.run(f"print({i})", "h-limit"))["runId"])
    limited = await history(daemon, "h-limit", limit=2)
    assert [r["runId"] for r in limited["runs"]] == ids[2:] and limited["more"] is True
    # after run 2's first notification: the rest of run 2 (nothing), then runs 3 and 4
    after = await history(daemon, "h-limit", after={"runId": ids[1], "seq": 1})
    assert after["afterFound"] is True
    assert [r["runId"] for r in after["runs"]] == ids[1:]
    assert after["runs"][0]["batches"] == [] and after["runs"][0]["lastSeq"] == 1
    assert [text_of(r["batches"]) for r in after["runs"][1:]] == ["2\n", "3\n"]
    # after a run the transcript does not hold: said so, and the recent runs as without it
    gone = await history(daemon, "h-limit", after={"runId": "no-such-run", "seq": 0})
    assert gone["afterFound"] is False
    assert [r["runId"] for r in gone["runs"]] == ids


async def test_default_limit_is_20_runs(daemon: Daemon) -> None:
    for i in range(22):
        await daemon.run(f"{i}", "h-default")
    result = await history(daemon, "h-default")
    assert len(result["runs"]) == 20 and result["more"] is True


async def test_max_bytes_keeps_the_newest_whole_notifications(daemon: Daemon) -> None:
    code = (
        "import sys\n"
        "for _ in range(6):\n"
        "    sys.stdout.write('y' * (1024 * 1024)); sys.stdout.flush()\n"
    )
    await daemon.run(code, "h-bytes")
    last = await daemon.run(code, "h-bytes")
    result = await history(daemon, "h-bytes")  # default: 10 MiB
    sizes = [sum(len(r[1]) for r in b["console"]) for run in result["runs"] for b in run["batches"]]
    assert 8 * 1024 * 1024 < sum(sizes) <= 10 * 1024 * 1024
    assert result["more"] is True
    newest = result["runs"][-1]
    assert newest["runId"] == last["runId"] and newest["batches"] == streamed(daemon, last["runId"])
    small = await history(daemon, "h-bytes", maxBytes=2 * 1024 * 1024)
    (only,) = small["runs"]
    assert only["batches"] == streamed(daemon, last["runId"])[-len(only["batches"]) :]
    assert 0 < len(only["batches"]) < len(streamed(daemon, last["runId"]))


async def test_a_run_with_input(daemon: Daemon) -> None:
    daemon.answer = lambda params: {"value": "Ada"}
    try:
        result = await daemon.run("name = input('name? ')\nprint('hello', name)", "h-input")
    finally:
        daemon.answer = lambda params: {"value": ""}
    (run,) = (await history(daemon, "h-input"))["runs"]
    assert run["batches"] == streamed(daemon, result["runId"])
    assert text_of(run["batches"]) == "name? Ada\nhello Ada\n"


async def test_unknown_session_and_bad_params(daemon: Daemon) -> None:
    error = await rpc_error(daemon, "runbridge/history", {"session": "ghost"})
    assert error.code == -32011
    assert plain(error.data) == {"kind": "SessionNotFound", "session": "ghost"}
    await daemon.run("1", "h-bad")
    bad: list[tuple[dict[str, Any], str]] = [
        ({}, "session"),
        ({"session": "h-bad", "limit": 0}, "limit"),
        ({"session": "h-bad", "limit": "2"}, "limit"),
        ({"session": "h-bad", "limit": 1001}, "limit"),
        ({"session": "h-bad", "maxBytes": 0}, "maxBytes"),
        ({"session": "h-bad", "maxBytes": 49 * 1024 * 1024}, "maxBytes"),
        ({"session": "h-bad", "after": 3}, "after"),
        ({"session": "h-bad", "after": {"seq": 1}}, "after.runId"),
        ({"session": "h-bad", "after": {"runId": "r", "seq": "1"}}, "after.seq"),
        ({"session": "h-bad", "after": {"runId": "r", "seq": -1}}, "after.seq"),
    ]
    for params, field in bad:
        error = await rpc_error(daemon, "runbridge/history", params)
        assert error.code == INVALID_PARAMS, params
        assert f"'{field}'" in error.message, (params, error.message)
        assert error_data(error).get("field") == field, params


async def test_past_the_cap_history_holds_what_was_streamed(tmp_path: Path) -> None:
    async with start_daemon(tmp_path / "home", "neovim", {"outputCapMb": 0.05}) as daemon:
        code = "for i in range(20000):\n    print(f'line {i:06d}')\n"
        result = await daemon.run(code, "h-cap")
        (run,) = (await history(daemon, "h-cap"))["runs"]
        assert run["truncated"] is True
        assert run["batches"] == streamed(daemon, result["runId"])
        shown = text_of(run["batches"])
        assert "the rest is not shown here" in shown and "line 019999" not in shown
        # the transcript keeps everything; history returns only what the editor got
        kept = transcript_records(result["transcript"], result["runId"])
        assert "line 019999" in "".join(r["data"] for r in kept if r["kind"] == "stdout")


@pytest.mark.parametrize("client", ["neovim"])
async def test_history_mid_flood_stitches_to_the_live_stream(tmp_path: Path, client: str) -> None:
    lines = 300_000  # ~4.5 MB, under the 10 MB cap, over a second at least (a pause per 1000)
    code = (
        "import sys, time\n"
        "print('flooding', flush=True)\n"
        "time.sleep(0.3)\n"
        f"for i in range({lines}):\n"
        "    sys.stdout.write(f'{i:09d} xxxx\\n')\n"
        "    if i % 1000 == 0: sys.stdout.flush(); time.sleep(0.003)\n"
        "print('done', flush=True)\n"
    )
    expected = "flooding\n" + "".join(f"{i:09d} xxxx\n" for i in range(lines)) + "done\n"
    async with start_daemon(tmp_path / "home", client) as daemon:
        task = await start_run(daemon, "h-flood", code, "flooding")
        run_id = next(iter(daemon.outputs))
        readings = []  # history read at a few points of the flood

        def reached(count: int) -> Callable[[], bool]:
            return lambda: task.done() or len(daemon.outputs[run_id]) >= count

        for count in (5, 15, 30):
            await daemon.wait_for(reached(count))
            readings.append(await history(daemon, "h-flood"))
        result = await asyncio.wait_for(task, 60)
        assert result["status"] == "finished"
        live = daemon.outputs[run_id]
        assert readings[0]["runs"][0]["status"] is None  # read while the run was going on
        for reading in readings:
            (run,) = reading["runs"]
            if run["status"] is not None:
                continue
            assert run["exitCode"] is None
            last_seq = run["lastSeq"]
            assert [b["seq"] for b in run["batches"]] == list(range(1, last_seq + 1))
            assert last_seq < live[-1]["seq"]
            later = [
                {"seq": n["seq"], "console": n["console"]} for n in live if n["seq"] > last_seq
            ]
            # no gap and no duplicate: history's numbers, then the live ones, one by one
            seqs = [b["seq"] for b in run["batches"] + later]
            assert seqs == list(range(1, live[-1]["seq"] + 1))
            assert text_of(run["batches"] + later) == expected
            # and history's part is exactly what was streamed under those numbers
            assert run["batches"] == streamed(daemon, run_id)[:last_seq]
