"""Run output: coalesced notifications, strict order, the per-run cap and the transcript."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from runbridge.model import Display
from runbridge.sessions import output
from runbridge.sessions.output import FLUSH_INTERVAL_S, RunOutput, Throttle, Transcript

WINDOW = FLUSH_INTERVAL_S


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.asked: list[tuple[str, str, bool]] = []
        self.sent_before_ask: int | None = None

    def send(self, batch: output.OutputBatch) -> None:
        self.sent.append(batch.to_params())

    async def ask(self, run_id: str, prompt: str, password: bool) -> str | None:
        self.sent_before_ask = len(self.sent)
        self.asked.append((run_id, prompt, password))
        return "answer"

    def records(self) -> list[list[str]]:
        return [record for note in self.sent for record in note["console"]]


def make_output(
    tmp_path: Path, cap: int = 10**9, run_id: str = "r1"
) -> tuple[RunOutput, Recorder, Transcript]:
    recorder = Recorder()
    transcript = Transcript(tmp_path / "s.jsonl")
    out = RunOutput("s", run_id, recorder.send, recorder.ask, transcript, cap)
    return out, recorder, transcript


def transcript_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def settle() -> None:
    await asyncio.sleep(WINDOW * 4)


async def test_many_small_emits_coalesce_into_one_notification(tmp_path: Path) -> None:
    out, rec, _ = make_output(tmp_path)
    out.emit("stdout", "first\n")  # a quiet stream: goes out at once
    assert len(rec.sent) == 1
    for i in range(500):
        out.emit("stdout", f"line {i}\n")
    assert len(rec.sent) == 1  # the rest waits for the window
    await settle()
    assert len(rec.sent) == 2
    assert rec.sent[1]["console"] == [["stdout", "".join(f"line {i}\n" for i in range(500))]]
    assert [n["seq"] for n in rec.sent] == [1, 2]
    assert all(n["session"] == "s" and n["runId"] == "r1" for n in rec.sent)
    out.close()
    assert len(rec.sent) == 2  # nothing left to send


async def test_order_is_kept_across_kinds_and_only_neighbours_merge(tmp_path: Path) -> None:
    out, rec, _ = make_output(tmp_path)
    out.emit("stdout", "start\n")
    out.emit("stdout", "a")
    out.emit("stdout", "b")
    out.emit("stderr", "c")
    out.emit("stderr", "d")
    out.emit("image/png", "data:image/png;base64,AAAA")
    out.emit("image/png", "data:image/png;base64,BBBB")
    out.emit("stdout", "e")
    out.emit("stderr", "f")
    out.close()
    assert rec.sent[1]["console"] == [
        ["stdout", "ab"],
        ["stderr", "cd"],
        ["image/png", "data:image/png;base64,AAAA"],
        ["image/png", "data:image/png;base64,BBBB"],
        ["stdout", "e"],
        ["stderr", "f"],
    ]


async def test_seq_increments_by_one_per_notification(tmp_path: Path) -> None:
    out, rec, _ = make_output(tmp_path)
    for i in range(6):
        out.emit("stdout", f"{i}\n")
        out.emit("stderr", f"{i}!\n")
        await asyncio.sleep(WINDOW * 1.5)
    out.close()
    assert [n["seq"] for n in rec.sent] == list(range(1, len(rec.sent) + 1))
    assert len(rec.sent) >= 6
    text = "".join(d for k, d in rec.records() if k == "stdout")
    assert text == "".join(f"{i}\n" for i in range(6))


async def test_empty_text_is_dropped(tmp_path: Path) -> None:
    out, rec, _ = make_output(tmp_path)
    out.emit("stdout", "")
    out.emit("stderr", "")
    out.close()
    assert rec.sent == []
    assert out.total_bytes == 0


async def test_every_record_goes_to_the_transcript(tmp_path: Path) -> None:
    out, _, transcript = make_output(tmp_path)
    out.emit("stdout", "x")
    out.emit("text/html", "<b>")
    out.close()
    assert transcript_lines(transcript.path) == [
        # each line names the notification that carried it: "x" went out at once
        {"run": "r1", "kind": "stdout", "data": "x", "seq": 1},
        {"run": "r1", "kind": "text/html", "data": "<b>", "seq": 2},
    ]


async def test_cap_truncates_once_and_names_the_transcript(tmp_path: Path) -> None:
    out, rec, transcript = make_output(tmp_path, cap=100)
    out.emit("stdout", "a" * 60)
    out.emit("stdout", "b" * 60)  # crosses the cap: 40 of these fit
    for _ in range(50):
        out.emit("stdout", "c" * 60)
        out.emit("image/png", "data:image/png;base64,AAAA")
    out.close()
    await settle()
    records = rec.records()
    shown = "".join(d for k, d in records if k == "stdout")
    assert shown == "a" * 60 + "b" * 40
    notices = [d for k, d in records if str(transcript.path) in d]
    assert len(notices) == 1
    assert records[-1][0] == "stderr" and str(transcript.path) in records[-1][1]
    assert not any(k == "image/png" for k, _ in records)
    assert out.truncated
    assert out.total_bytes == 120 + 50 * (60 + len("data:image/png;base64,AAAA"))
    # the transcript keeps everything
    lines = transcript_lines(transcript.path)
    assert len(lines) == 2 + 100
    assert "".join(line["data"] for line in lines if line["kind"] == "stdout") == (
        "a" * 60 + "b" * 60 + "c" * 3000
    )


async def test_media_past_the_cap_is_not_cut_in_half(tmp_path: Path) -> None:
    out, rec, _ = make_output(tmp_path, cap=50)
    out.emit("stdout", "x" * 10)
    out.emit("image/png", "data:image/png;base64," + "A" * 100)
    out.close()
    kinds = [k for k, _ in rec.records()]
    assert "image/png" not in kinds
    assert kinds[-1] == "stderr"


async def test_buffer_stays_bounded_without_the_loop_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 64 * 1024
    monkeypatch.setattr(output, "FLUSH_BYTES", limit)
    out, rec, _ = make_output(tmp_path)
    record = "y" * 5000
    total = 0
    # no await in this loop: the window never ends, so only the size threshold flushes
    for _ in range(400):
        out.emit("stdout", record)
        total += len(record)
        sent = sum(len(d) for n in rec.sent for _, d in n["console"])
        assert total - sent <= limit + len(record)
    assert len(rec.sent) >= total // (limit + len(record))
    for note in rec.sent:
        assert sum(len(d) for _, d in note["console"]) <= limit + len(record)
    out.close()
    assert sum(len(d) for _, d in rec.records()) == total


@pytest.mark.parametrize(("password", "echo"), [(False, "answer\n"), (True, "\n")])
async def test_input_prompt_is_shown_after_pending_output_and_answer_echoed(
    tmp_path: Path, password: bool, echo: str
) -> None:
    out, rec, transcript = make_output(tmp_path)
    out.emit("stdout", "one\n")
    out.emit("stdout", "two\n")  # still buffered
    assert len(rec.sent) == 1
    answer = await out.ask_input("Your name: ", password)
    assert answer == "answer"
    assert rec.asked == [("r1", "Your name: ", password)]
    # everything printed before, and the prompt, were on screen before the question
    assert rec.sent_before_ask == 2
    assert rec.sent[1]["console"] == [["stdout", "two\nYour name: "]]
    out.close()
    await settle()
    assert "".join(d for _, d in rec.records()) == "one\ntwo\nYour name: " + echo
    # a password never reaches the transcript either
    transcript.flush()
    assert ("answer" in transcript.path.read_text()) is not password


async def test_cancelled_input_is_not_echoed(tmp_path: Path) -> None:
    recorder = Recorder()

    async def cancel(run_id: str, prompt: str, password: bool) -> str | None:
        return None

    out = RunOutput("s", "r1", recorder.send, cancel, Transcript(tmp_path / "c.jsonl"), 10**9)
    assert await out.ask_input("? ", False) is None
    out.close()
    await settle()
    assert recorder.records() == [["stdout", "? "]]


async def test_transcript_marks_are_json_with_a_time(tmp_path: Path) -> None:
    transcript = Transcript(tmp_path / "t.jsonl")
    transcript.mark("r9", "run-start", mode="query")
    line = transcript_lines(transcript.path)[0]  # mark flushes: readable at once
    assert line["run"] == "r9" and line["kind"] == "runbridge/run-start"
    body = json.loads(line["data"])
    assert body["mode"] == "query" and isinstance(body["time"], float)
    transcript.close()
    transcript.write_encoded("r9", "stdout", output.encode('after "reopen" é'))
    transcript.close()
    lines = transcript_lines(transcript.path)
    assert len(lines) == 2
    assert lines[1] == {"run": "r9", "kind": "stdout", "data": 'after "reopen" é'}


async def test_merged_chunks_and_escapes_survive_the_single_encoding(tmp_path: Path) -> None:
    out, rec, transcript = make_output(tmp_path)
    out.emit("stdout", "a")  # a quiet stream: goes out at once
    chunks = ['quote " ', "back\\slash ", "tab\t nl\n ", "ctl\x01 ", "é漢 ", "\U0001f600"]
    for chunk in chunks:
        out.emit("stdout", chunk)
    out.emit("image/svg+xml", "<svg/>")
    out.close()
    assert rec.records() == [
        ["stdout", "a"],
        ["stdout", "".join(chunks)],
        ["image/svg+xml", "<svg/>"],
    ]
    kept = [line["data"] for line in transcript_lines(transcript.path)]
    assert kept == ["a", *chunks, "<svg/>"]


# -- Throttle ----------------------------------------------------------------------


class Counter:
    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self) -> None:
        self.times.append(asyncio.get_running_loop().time())


async def test_throttle_calls_at_once_when_quiet() -> None:
    calls = Counter()
    throttle = Throttle(calls, 0.05)
    throttle.poke()
    assert len(calls.times) == 1


async def test_throttle_coalesces_pokes_within_the_interval() -> None:
    calls = Counter()
    throttle = Throttle(calls, 0.05)
    start = asyncio.get_running_loop().time()
    throttle.poke()
    for _ in range(20):
        throttle.poke()
    assert len(calls.times) == 1
    await asyncio.sleep(0.15)
    assert len(calls.times) == 2
    assert calls.times[1] - start >= 0.05 - 0.005
    await asyncio.sleep(0.1)
    assert len(calls.times) == 2  # no trailing call without a poke


async def test_throttle_is_leading_edge_again_after_a_quiet_interval() -> None:
    calls = Counter()
    throttle = Throttle(calls, 0.03)
    throttle.poke()
    await asyncio.sleep(0.06)
    throttle.poke()
    assert len(calls.times) == 2


async def test_throttle_now_cancels_the_pending_call() -> None:
    calls = Counter()
    throttle = Throttle(calls, 0.05)
    throttle.poke()
    throttle.poke()  # scheduled
    throttle.now()
    assert len(calls.times) == 2
    await asyncio.sleep(0.12)
    assert len(calls.times) == 2  # the scheduled call was cancelled
    throttle.poke()
    assert len(calls.times) == 3


async def test_a_huge_chunk_is_sent_in_pieces_no_larger_than_the_flush_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 64 * 1024
    monkeypatch.setattr(output, "FLUSH_BYTES", limit)
    out, rec, _ = make_output(tmp_path)
    huge = "".join(chr(0x41 + i % 26) for i in range(5 * limit + 123))
    out.emit("stdout", huge)
    out.close()
    sizes = [sum(len(d) for _, d in n["console"]) for n in rec.sent]
    assert max(sizes) <= limit, sizes
    assert len(sizes) >= 6
    assert "".join(d for _, d in rec.records()) == huge  # nothing lost, in order


def test_transcript_rotates_between_runs_past_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    transcript = Transcript(path)
    assert transcript.rotate_if_over(100) is False  # nothing written yet: no file
    transcript.mark("r1", "run-start")
    transcript.write_encoded("r1", "stdout", output.encode("x" * 200))
    transcript.flush()
    assert transcript.rotate_if_over(10_000) is False  # under the limit: kept
    assert transcript.rotate_if_over(100) is True
    assert transcript.rotated_path == tmp_path / "s.jsonl.1"
    assert not path.exists()
    assert [r["run"] for r in transcript_lines(transcript.rotated_path)] == ["r1", "r1"]
    transcript.mark("r2", "run-start")  # the next run starts a fresh file
    assert [r["run"] for r in transcript_lines(path)] == ["r2"]
    # a reopened session (a new Transcript on the same file) counts what is there
    transcript.write_encoded("r2", "stdout", output.encode("y" * 200))
    transcript.close()
    again = Transcript(path)
    assert again.rotate_if_over(100) is True  # the older rotated file is replaced
    assert [r["run"] for r in transcript_lines(again.rotated_path)] == ["r2", "r2"]
    again.close()


async def test_a_display_keeps_its_id_and_is_never_merged(tmp_path: Path) -> None:
    out, rec, transcript = make_output(tmp_path)
    out.emit("stdout", "before\n")
    out.emit("stdout", "10%\n", Display("d1"))  # a text-only display
    out.emit("stdout", "after\n")
    out.emit("image/png", "data:image/png;base64,AAAA", Display("d2"))
    out.emit("stdout", "", Display("d1", update=True))  # an emptied display still counts
    out.close()
    await settle()
    assert rec.records() == [
        ["stdout", "before\n"],
        ["stdout", "10%\n", {"displayId": "d1"}],
        ["stdout", "after\n"],
        ["image/png", "data:image/png;base64,AAAA", {"displayId": "d2"}],
        ["stdout", "", {"displayId": "d1", "update": True}],
    ]
    lines = [r for r in transcript_lines(transcript.path) if r["kind"] != "runbridge/run-end"]
    assert [r.get("display") for r in lines] == [
        None,
        {"displayId": "d1"},
        None,
        {"displayId": "d2"},
        {"displayId": "d1", "update": True},
    ]
