"""Reading runs back from a transcript: the notifications they streamed, rebuilt exactly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import IO, Any

from runbridge.model import Display, HistoryQuery
from runbridge.sessions.history import open_files, read_runs, select
from runbridge.sessions.output import (
    FLUSH_BYTES,
    FLUSH_INTERVAL_S,
    OutputBatch,
    RunOutput,
    Transcript,
)
from tests.media import DRAWING_SVG, DRAWING_VECTOR


class Sent:
    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []

    def send(self, batch: OutputBatch) -> None:
        self.notes.append(batch.to_params())

    async def ask(self, run_id: str, prompt: str, password: bool) -> str | None:
        return "typed"

    def batches(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {"seq": n["seq"], "console": n["console"]} for n in self.notes if n["runId"] == run_id
        ]


def start(transcript: Transcript, sent: Sent, run_id: str, cap: int = 10**9) -> RunOutput:
    transcript.mark(run_id, "run-start", flush=False, mode="query", code=f"code of {run_id}")
    return RunOutput("s", run_id, sent.send, sent.ask, transcript, cap)


def end(transcript: Transcript, out: RunOutput) -> None:
    transcript.mark(out.run_id, "run-end", status="finished", exitCode=0, bytes=out.total_bytes)
    out.close()


def files(transcript: Transcript) -> list[IO[bytes]]:
    transcript.flush()
    return open_files([transcript.rotated_path, transcript.path])  # one may not exist


def history(transcript: Transcript, streamed: dict[str, int] | None = None, **query: Any) -> Any:
    return select(read_runs(files(transcript), streamed or {}), HistoryQuery(**query))


async def test_finished_runs_come_back_as_they_were_streamed(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    out = start(transcript, sent, "r1")
    out.emit("stdout", "first\n")  # out at once: seq 1
    for i in range(50):  # coalesced, merged
        out.emit("stdout", f"line {i}\n")
    out.emit("stderr", "warn\n")
    out.emit("image/png", "data:image/png;base64,AAAA", Display("d1"))
    out.emit("stdout", "10%", Display("d2"))
    out.emit("stdout", "x" * (FLUSH_BYTES * 2 + 5))  # one huge chunk: three notifications
    await asyncio.sleep(FLUSH_INTERVAL_S * 2)
    out.emit("stdout", "after a pause\n")
    answer = await out.ask_input("name? ", False)
    assert answer == "typed"
    end(transcript, out)
    out2 = start(transcript, sent, "r2")
    out2.emit("text/html", "<b>hi</b>")
    end(transcript, out2)

    result = history(transcript)
    assert result["more"] is False
    r1, r2 = result["runs"]
    assert r1["batches"] == sent.batches("r1")
    assert len(r1["batches"]) >= 5
    assert (r1["runId"], r1["mode"], r1["code"]) == ("r1", "query", "code of r1")
    assert (r1["status"], r1["exitCode"], r1["truncated"]) == ("finished", 0, False)
    assert r1["lastSeq"] == sent.batches("r1")[-1]["seq"]
    assert (
        r2["batches"] == sent.batches("r2") == [{"seq": 1, "console": [["text/html", "<b>hi</b>"]]}]
    )


async def test_past_the_cap_history_is_what_was_streamed_with_the_notice(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    out = start(transcript, sent, "r1", cap=100)
    out.emit("stdout", "a" * 60)
    out.emit("stdout", "b" * 60)  # crosses the cap: 40 of these go out, then the notice
    for _ in range(10):
        out.emit("stdout", "c" * 60)
    end(transcript, out)
    (run,) = history(transcript)["runs"]
    assert run["truncated"] is True
    assert run["batches"] == sent.batches("r1")
    text = "".join(r[1] for b in run["batches"] for r in b["console"])
    assert text.startswith("a" * 60 + "b" * 40 + "\n[runbridge] output of this run passed")
    assert "c" * 60 not in text and text.endswith(f"Full output: {transcript.path}\n")
    # the transcript itself still holds everything
    lines = [json.loads(line) for line in transcript.path.read_text().splitlines()]
    kept = "".join(line["data"] for line in lines if line["kind"] == "stdout")
    assert kept == "a" * 60 + "b" * 60 + "c" * 600
    crossing = next(line for line in lines if "sent" in line)
    assert (crossing["data"], crossing["sent"]) == ("b" * 60, 40)
    assert crossing["notice"].startswith("\n[runbridge] output of this run passed")
    assert [line.get("seq") for line in lines if line["data"] == "c" * 60] == [None] * 10


async def test_a_run_in_progress_stops_at_its_last_notification(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    out = start(transcript, sent, "r1")
    (quiet,) = history(transcript, {"r1": out.sent_seq})["runs"]
    assert (quiet["lastSeq"], quiet["batches"], quiet["status"]) == (0, [], None)
    out.emit("stdout", "one\n")  # sent at once: seq 1
    out.emit("stdout", "two\n")  # buffered, in the transcript, not sent yet
    assert out.sent_seq == 1
    (run,) = history(transcript, {"r1": out.sent_seq})["runs"]
    assert run["batches"] == [{"seq": 1, "console": [["stdout", "one\n"]]}]
    assert (run["lastSeq"], run["status"]) == (1, None)
    end(transcript, out)
    assert sent.batches("r1")[1] == {"seq": 2, "console": [["stdout", "two\n"]]}


async def test_partial_and_corrupt_lines_are_skipped(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    out = start(transcript, sent, "r1")
    out.emit("stdout", "kept\n")
    end(transcript, out)
    transcript.close()
    with transcript.path.open("a", encoding="utf-8") as f:
        f.write("not json at all\n")
        f.write('{"run":"r1","kind":"stdout"}\n')  # no data
        f.write('{"run":"r1","kind":"stdout","data":"half')  # a partial last line
    (run,) = history(transcript)["runs"]
    assert run["batches"] == [{"seq": 1, "console": [["stdout", "kept\n"]]}]
    assert run["status"] == "finished"


async def test_rotated_file_is_read_first(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    out = start(transcript, sent, "r1")
    out.emit("stdout", "old\n")
    end(transcript, out)
    assert transcript.rotate_if_over(1)
    out = start(transcript, sent, "r2")
    out.emit("stdout", "new\n")
    end(transcript, out)
    assert [r["runId"] for r in history(transcript)["runs"]] == ["r1", "r2"]


async def test_limit_after_and_max_bytes(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    for i in range(1, 6):
        out = start(transcript, sent, f"r{i}")
        out.emit("stdout", "a" * 10)  # seq 1
        out.emit("stdout", "b" * 10)  # seq 2 (at the close)
        end(transcript, out)
    ids = lambda result: [r["runId"] for r in result["runs"]]  # noqa: E731
    assert ids(history(transcript, limit=2)) == ["r4", "r5"]
    assert history(transcript, limit=2)["more"] is True
    assert history(transcript, limit=5)["more"] is False
    after = history(transcript, after=("r3", 1))
    assert after["afterFound"] is True
    assert ids(after) == ["r3", "r4", "r5"]
    assert [b["seq"] for b in after["runs"][0]["batches"]] == [2]
    assert after["runs"][0]["lastSeq"] == 2
    unknown = history(transcript, after=("gone", 3))
    assert (unknown["afterFound"], ids(unknown)) == (False, ["r1", "r2", "r3", "r4", "r5"])
    # 25 characters: r5 whole (20), then r4's last notification does not fit
    bounded = history(transcript, max_bytes=25)
    assert ids(bounded) == ["r4", "r5"] and bounded["more"] is True
    assert bounded["runs"][0]["batches"] == []
    assert bounded["runs"][0]["lastSeq"] == 2
    assert len(bounded["runs"][1]["batches"]) == 2


async def test_drawings_are_sent_kept_and_read_back_as_svg(tmp_path: Path) -> None:
    transcript, sent = Transcript(tmp_path / "s.jsonl"), Sent()
    out = start(transcript, sent, "r1")
    out.emit("application/x-sorna-drawing", DRAWING_VECTOR, Display("d1"))
    out.emit("application/x-sorna-drawing", "[]")
    end(transcript, out)
    unreadable = (
        "[runbridge] a drawing (application/x-sorna-drawing) could not be read: "
        "it creates no canvas; its data:\n[]\n"
    )
    expected = [["image/svg+xml", DRAWING_SVG, {"displayId": "d1"}], ["stderr", unreadable]]
    assert [r for b in sent.batches("r1") for r in b["console"]] == expected
    kinds = [json.loads(line)["kind"] for line in transcript.path.read_text().splitlines()]
    assert "application/x-sorna-drawing" not in kinds
    # a transcript line of an older runbridge, which kept drawings as they came
    transcript.close()
    with transcript.path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"run": "r0", "kind": "runbridge/run-start", "data": "{}"}) + "\n")
        old = {"run": "r0", "kind": "application/x-sorna-drawing", "data": DRAWING_VECTOR, "seq": 1}
        f.write(json.dumps(old) + "\n")
    r1, r0 = history(transcript)["runs"]
    assert [r for b in r1["batches"] for r in b["console"]] == expected
    assert r0["batches"] == [{"seq": 1, "console": [["image/svg+xml", DRAWING_SVG]]}]
