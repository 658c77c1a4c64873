"""Requests and checks the daemon suites share (e2e, jupyter, backendai, conformance).

Everything here goes through the wire: a :class:`~tests.e2e.conftest.Daemon` sends
requests and records notifications; nothing imports the server's internals.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon

MB = 1024 * 1024


async def rpc_error(daemon: Daemon, method: str, params: dict[str, Any]) -> JsonRpcException:
    """The error a request is answered with (fails when it succeeds)."""
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request(method, params)
    return caught.value


def error_data(error: JsonRpcException) -> dict[str, Any]:
    data: Any = error.data
    if data is None:
        return {}
    if hasattr(data, "_asdict"):
        data = data._asdict()
    return dict(data)


async def open_session(daemon: Daemon, name: str, **extra: Any) -> dict[str, Any]:
    info: dict[str, Any] = await daemon.request("runbridge/openSession", {"name": name, **extra})
    return info


async def batch(daemon: Daemon, session: str, code: str = "", **options: Any) -> dict[str, Any]:
    """A batch run (build / exec / clean in ``options``); its RunResult."""
    result: dict[str, Any] = await daemon.request(
        "runbridge/run", {"session": session, "mode": "batch", "code": code, "options": options}
    )
    return result


def states_of(daemon: Daemon, session: str, since: int = 0) -> list[str]:
    """The states ``runbridge/sessionChanged`` reported for ``session`` (from index ``since``),
    each once per stretch: a ``sessionChanged`` that only tells a new ``backendStatus``
    (a ``jupyter`` start's progress, a replaced kernel's id) repeats the state."""
    states: list[str] = []
    for s in daemon.states[since:]:
        if s["name"] == session and (not states or states[-1] != s["state"]):
            states.append(s["state"])
    return states


def session_run_ids(daemon: Daemon, session: str) -> list[str]:
    """Run ids that have sent output for ``session``, in first-output order."""
    return [
        rid for rid, notes in daemon.outputs.items() if notes and notes[0]["session"] == session
    ]


def session_text(daemon: Daemon, session: str, kind: str = "stdout") -> str:
    """Everything streamed so far for ``session`` (any run)."""
    return "".join(daemon.text(rid, kind) for rid in session_run_ids(daemon, session))


def merged(records: list[list[str]]) -> list[tuple[str, str]]:
    """Records with adjacent stdout (or stderr) pieces joined, however they were flushed."""
    out: list[tuple[str, str]] = []
    for kind, data in records:
        if out and kind in ("stdout", "stderr") and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + data)
        else:
            out.append((kind, data))
    return out


def transcript_records(path: str, run_id: str) -> list[dict[str, Any]]:
    """The transcript lines of one run."""
    records = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["run"] == run_id:
                records.append(record)
    return records


def run_end(path: str, run_id: str) -> dict[str, Any]:
    """The ``run-end`` record of a run in its transcript (there is exactly one)."""
    ends = [r for r in transcript_records(path, run_id) if r["kind"] == "runbridge/run-end"]
    assert len(ends) == 1, ends
    end: dict[str, Any] = json.loads(ends[0]["data"])
    return end


def progress_ended(daemon: Daemon, token: str) -> bool:
    reports = daemon.client.progress_reports.get(token, [])
    return bool(reports) and isinstance(reports[-1], types.WorkDoneProgressEnd)


def progress_messages(daemon: Daemon, token: str) -> list[str]:
    """The messages of the ``$/progress`` reports of ``token`` so far."""
    return [
        r.message
        for r in daemon.client.progress_reports.get(token, [])
        if isinstance(r, types.WorkDoneProgressReport) and r.message
    ]


def check_progress(daemon: Daemon, token: str) -> list[int]:
    """One begin, reports of rising percentages ending at 100, one end; the percentages."""
    reports = daemon.client.progress_reports[token]
    assert isinstance(reports[0], types.WorkDoneProgressBegin), reports
    assert isinstance(reports[-1], types.WorkDoneProgressEnd), reports
    assert sum(isinstance(r, types.WorkDoneProgressBegin) for r in reports) == 1, reports
    assert sum(isinstance(r, types.WorkDoneProgressEnd) for r in reports) == 1, reports
    middle = reports[1:-1]
    assert all(isinstance(r, types.WorkDoneProgressReport) for r in middle), reports
    percentages = [r.percentage for r in middle if r.percentage is not None]
    assert percentages == sorted(percentages), percentages
    assert percentages and percentages[-1] == 100, percentages
    return percentages


def screen(daemon: Daemon, terminal_id: str) -> str:
    """Everything a terminal has shown so far."""
    return "".join(daemon.terminal_data[terminal_id])


def type_in(daemon: Daemon, terminal_id: str, data: str) -> None:
    daemon.notify("runbridge/terminalInput", {"terminalId": terminal_id, "data": data})


async def wait_text(daemon: Daemon, terminal_id: str, text: str, timeout: float = 15) -> str:
    """Wait until the terminal has shown ``text``; what it has shown."""
    await daemon.wait_for(lambda: text in screen(daemon, terminal_id), timeout=timeout)
    return screen(daemon, terminal_id)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


async def assert_gone(pid: int) -> None:
    """Wait up to 5 s for process ``pid`` to end."""
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")
