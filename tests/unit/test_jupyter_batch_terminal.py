"""The jupyter backend's batch helper (marker stripping, the generated cell) and terminal frames."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from runbridge.backends.jupyter import batch, terminal
from runbridge.backends.remote.websocket_terminal import Frame
from runbridge.errors import Unsupported
from runbridge.model import BatchOptions, RunOutcome, RunStatus

MARK = "\x1erunbridge-batch-0123:"


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def emit(self, kind: str, data: str, display: Any = None) -> None:
        self.records.append((kind, data))

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        return "typed"

    def text(self, kind: str) -> str:
        return "".join(d for k, d in self.records if k == kind)


@pytest.mark.parametrize("split", [1, 2, 3, 7, 1000])
def test_marker_line_is_stripped_however_it_is_split(split: int):
    stream = "out 1\npartial" + MARK + json.dumps({"status": "finished", "exit": 3}) + "\ntail\n"
    sink = Sink()
    marker = batch.MarkerSink(sink, MARK)
    for i in range(0, len(stream), split):
        marker.emit("stdout", stream[i : i + split])
    marker.flush()
    assert sink.text("stdout") == "out 1\npartialtail\n"
    assert marker.result == {"status": "finished", "exit": 3}


def test_marker_sink_passes_other_kinds_and_input():
    sink = Sink()
    marker = batch.MarkerSink(sink, MARK)
    marker.emit("stdout", "a\x1e")  # could start the marker: held back...
    marker.emit("stderr", "err")  # ...until something else shows it does not
    marker.emit("text/html", "<b>")
    assert sink.records == [
        ("stdout", "a"),
        ("stdout", "\x1e"),
        ("stderr", "err"),
        ("text/html", "<b>"),
    ]
    assert marker.result is None


def test_helper_cell_compiles_and_cleans_up_its_name():
    options = BatchOptions(build="*", exec="*", clean="rm -f x", timeout=5, language="python")
    code = batch.helper_code(options, "print('a')\n'''\"\"\"", "/w", "abc", MARK)
    tree = ast.parse(code)
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert names == {"_runbridge_batch_abc"}
    assert "del _runbridge_batch_abc" in code


class FakeSession:
    cwd = "/w"

    def __init__(self, language: str | None, reply: str | None) -> None:
        self.language = language
        self.reply = reply
        self.codes: list[str] = []

    async def execute(self, code: str, sink, timeout: float | None) -> RunOutcome:  # type: ignore[no-untyped-def]
        self.codes.append(code)
        sink.emit("stdout", "step output\n")
        if self.reply is not None and len(self.codes) == 1:
            marker = code.split("runbridge-batch-")[1].split(":")[0]
            sink.emit("stdout", f"\x1erunbridge-batch-{marker}:{self.reply}\n")
        return RunOutcome(RunStatus.FINISHED, 0)


async def test_run_batch_reads_the_outcome():
    reply = {"status": "exec-timeout", "exit": 124, "message": "exec exceeded the timeout"}
    session = FakeSession("python", json.dumps(reply))
    sink = Sink()
    outcome = await batch.run_batch(session, BatchOptions(exec="sleep 9", timeout=1), "", sink)
    assert (outcome.status, outcome.exit_code) == (RunStatus.EXEC_TIMEOUT, 124)
    assert sink.text("stdout").count("step output") == 2  # the run and the status clean-up


async def test_run_batch_needs_a_python_kernel():
    with pytest.raises(Unsupported):
        await batch.run_batch(FakeSession("R", None), BatchOptions(exec="x"), "", Sink())


async def test_run_batch_without_a_marker_fails_clearly(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(batch, "RATE_LIMIT_WINDOW_S", 0.0)
    outcome = await batch.run_batch(FakeSession("python", None), BatchOptions(exec="x"), "", Sink())
    assert outcome.status == RunStatus.FAILED and "exit status" in (outcome.message or "")


def test_terminal_frames():
    assert json.loads(terminal.set_size_frame(24, 80)) == ["set_size", 24, 80, 0, 0]
    assert json.loads(terminal.stdin_frame("ls\r")) == ["stdin", "ls\r"]
    assert terminal.parse_frame('["stdout", "hi"]') == ("stdout", "hi")
    assert terminal.parse_frame('["setup", {}]') == ("setup", {})
    assert terminal.parse_frame('["disconnect", 1]') == ("disconnect", 1)
    assert terminal.parse_frame("not json") is None
    assert terminal.parse_frame('{"a": 1}') is None


def test_terminal_frames_for_the_pump():
    frames = terminal.JupyterTerminalFrames()
    assert json.loads(frames.stdin("ls\r")) == ["stdin", "ls\r"]
    assert json.loads(frames.resize(24, 80)) == ["set_size", 24, 80, 0, 0]
    assert frames.read('["stdout", "hi"]') == "hi"
    assert frames.read('["disconnect", 1]') is Frame.EXIT
    assert frames.read('["setup", {}]') is None
    assert frames.read('["stdout", 5]') is None
    assert frames.read("not json") is None
