"""A session's recent runs read back from its transcript, numbered as they were streamed.

Each output line of the transcript carries the ``seq`` of the ``runbridge/output``
notification that carried it (see :mod:`runbridge.sessions.output`), so the
notifications of a run can be rebuilt exactly: the same records, merged the same
way, under the same numbers. Lines without a ``seq`` (past the output cap, or
written by an older runbridge) were never streamed and are not returned. A line
that cannot be read (a partial last line, a corrupt one) is skipped.

Reading runs in a worker thread over files opened beforehand, on the event loop,
right after the transcript was flushed, so what a run in progress has streamed
(up to the ``seq`` its :class:`~runbridge.sessions.output.RunOutput` last sent) is
all there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from runbridge import drawing
from runbridge.model import HistoryQuery

log = logging.getLogger(__name__)

_TEXT_KINDS = frozenset({"stdout", "stderr"})


@dataclass
class _Batch:
    seq: int
    console: list[list[Any]] = field(default_factory=list)
    size: int = 0
    #: The last record is a notice that later text must not merge into.
    sealed: bool = False

    def add(self, kind: str, data: str, display: Any) -> None:
        last = self.console[-1] if self.console else None
        if (
            display is None
            and kind in _TEXT_KINDS
            and last is not None
            and len(last) == 2
            and last[0] == kind
            and not self.sealed
        ):
            last[1] += data
        elif display is None:
            self.console.append([kind, data])
        else:
            self.console.append([kind, data, display])
        self.size += len(data)


@dataclass
class RunHistory:
    run_id: str
    details: dict[str, Any] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    truncated: bool = False
    last_seq: int = 0
    batches: list[_Batch] = field(default_factory=list)

    def add(self, record: dict[str, Any], seq: int) -> None:
        self.last_seq = max(self.last_seq, seq)
        if not self.batches or self.batches[-1].seq != seq:
            self.batches.append(_Batch(seq))
        batch = self.batches[-1]
        kind, data, display = record["kind"], record["data"], record.get("display")
        if "sent" in record:  # the line that passed the output cap
            sent = record["sent"]
            if sent:
                batch.add(kind, data[:sent], None)
            self.truncated = True
            batch.add("stderr", str(record.get("notice", "")), None)
            batch.sealed = True
            return
        if kind == drawing.KIND:  # a line of an older runbridge, which sent drawings as they came
            kind, data = drawing.record(data)
        batch.add(kind, data, display)

    def to_wire(self) -> dict[str, Any]:
        end = self.end or {}
        return {
            "runId": self.run_id,
            "mode": self.details.get("mode"),
            "code": self.details.get("code"),
            "started": self.details.get("time"),
            "status": end.get("status"),
            "exitCode": end.get("exitCode"),
            "truncated": self.truncated,
            "lastSeq": self.last_seq,
            "batches": [{"seq": b.seq, "console": b.console} for b in self.batches],
        }


def open_files(paths: list[Path]) -> list[IO[bytes]]:
    """The files of ``paths`` that exist, opened now (read later, in a thread)."""
    files: list[IO[bytes]] = []
    for path in paths:
        try:
            files.append(path.open("rb"))
        except OSError as exc:  # none yet, or unreadable: the runs it held are not given
            if not isinstance(exc, FileNotFoundError):
                log.warning("transcript %s not read for history: %s", path, exc)
    return files


def read_runs(files: list[IO[bytes]], streamed: dict[str, int]) -> list[RunHistory]:
    """Every run in ``files`` (oldest first), each with the notifications it streamed;
    ``streamed`` bounds the runs in progress (run id → the last ``seq`` sent)."""
    runs: dict[str, RunHistory] = {}
    for file in files:
        with file:
            text = file.read()
        for line in text.split(b"\n"):
            if not line:
                continue
            try:
                record = json.loads(line)
                run_id, kind = record["run"], record["kind"]
                if kind == "runbridge/run-start":
                    runs.pop(run_id, None)  # a run id used again: the later run counts
                    runs[run_id] = RunHistory(run_id, json.loads(record["data"]))
                    continue
                run = runs.get(run_id)
                if run is None:
                    run = runs[run_id] = RunHistory(run_id)
                if kind == "runbridge/run-end":
                    run.end = json.loads(record["data"])
                    continue
                seq = record.get("seq")
                if not isinstance(seq, int) or seq > streamed.get(run_id, seq):
                    continue
                run.add(record, seq)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                log.debug("an unreadable transcript line skipped: %.80r", line)
    for run_id, seq in streamed.items():
        if run_id in runs:
            runs[run_id].last_seq = max(runs[run_id].last_seq, seq)
    return list(runs.values())


def select(runs: list[RunHistory], query: HistoryQuery) -> dict[str, Any]:
    """The runs ``query`` asks for, newest kept first within its bounds, in order."""
    result: dict[str, Any] = {}
    if query.after is not None:
        after_run, after_seq = query.after
        index = next((i for i, r in enumerate(runs) if r.run_id == after_run), None)
        result["afterFound"] = index is not None
        if index is not None:
            runs = runs[index:]
            first = runs[0]
            first.batches = [b for b in first.batches if b.seq > after_seq]
    more = len(runs) > query.limit
    runs = runs[-query.limit :]
    budget = query.max_bytes
    kept: list[RunHistory] = []
    for run in reversed(runs):
        batches: list[_Batch] = []
        for batch in reversed(run.batches):
            if batch.size > budget:
                budget = -1
                break
            budget -= batch.size
            batches.append(batch)
        if len(batches) < len(run.batches):
            more = True
        run.batches = batches[::-1]
        kept.append(run)
        if budget < 0:
            more = more or len(kept) < len(runs)
            break
    result["runs"] = [run.to_wire() for run in reversed(kept)]
    result["more"] = more
    return result
