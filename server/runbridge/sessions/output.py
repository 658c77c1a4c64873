"""Streaming a run's console records to the editor: coalesced, ordered, capped.

Records of a run are buffered and sent as one ``runbridge/output`` notification
per flush. A flush happens when the coalescing window ends (the first record of
a quiet stream goes out at once, later ones wait for the window), or early when
the buffer passes a size threshold, so memory stays bounded whatever the
kernel prints. Adjacent ``stdout`` (or ``stderr``) records are merged.

Past the per-run cap the editor stream stops with one record naming the
transcript; every record still goes to the session's transcript file (JSON
lines: ``{"run", "kind", "data"}``), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

#: Coalescing window for output notifications.
FLUSH_INTERVAL_S = 0.025
#: A buffer this large is flushed before the window ends.
FLUSH_BYTES = 4 * 1024 * 1024

_TEXT_KINDS = frozenset({"stdout", "stderr"})

SendOutput = Callable[[dict[str, Any]], None]
AskInput = Callable[[str, str, bool], Awaitable[str | None]]


class Transcript:
    """The append-only JSON-lines transcript of one session."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, run_id: str, kind: str, data: str) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps({"run": run_id, "kind": kind, "data": data}) + "\n")

    def mark(self, run_id: str, event: str, **fields: Any) -> None:
        self.write(run_id, "runbridge/" + event, json.dumps({"time": time.time(), **fields}))
        self.flush()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Throttle:
    """Leading-edge throttle: call ``fn`` at once if it has been quiet, else after ``interval``."""

    def __init__(self, fn: Callable[[], None], interval: float) -> None:
        self._fn = fn
        self._interval = interval
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def poke(self) -> None:
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = self._last + self._interval - now
        if wait <= 0:
            self._last = now
            self._fn()
        else:
            self._timer = loop.call_later(wait, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._last = asyncio.get_running_loop().time()
        self._fn()

    def now(self) -> None:
        """Call ``fn`` immediately (e.g. for a large buffer or at the end)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last = asyncio.get_running_loop().time()
        self._fn()


class RunOutput:
    """The :class:`~runbridge.backends.base.RunSink` of one run."""

    def __init__(
        self,
        session: str,
        run_id: str,
        send: SendOutput,
        ask: AskInput,
        transcript: Transcript,
        cap_bytes: int,
    ) -> None:
        self.session = session
        self.run_id = run_id
        self._send = send
        self._ask = ask
        self._transcript = transcript
        self._cap = cap_bytes
        # (kind, chunks): chunks are joined at flush time, since `+=` on a list item
        # copies the whole buffer each time (quadratic under a flood)
        self._buffer: list[tuple[str, list[str]]] = []
        self._buffered = 0
        self._sent = 0
        self._seq = 0
        self.truncated = False
        self.total_bytes = 0
        self._throttle = Throttle(self._flush, FLUSH_INTERVAL_S)

    # RunSink ------------------------------------------------------------
    def emit(self, kind: str, data: str) -> None:
        if not data and kind in _TEXT_KINDS:
            return
        self._transcript.write(self.run_id, kind, data)
        size = len(data)
        self.total_bytes += size
        if self.truncated:
            return
        if self._sent + self._buffered + size > self._cap:
            room = self._cap - self._sent - self._buffered
            if kind in _TEXT_KINDS and room > 0:
                self._append(kind, data[:room])
            self._truncate()
            return
        self._append(kind, data)
        if self._buffered >= FLUSH_BYTES:
            self._throttle.now()
        else:
            self._throttle.poke()

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        """Ask the editor; the prompt and the answer also go to stdout, as on a terminal.

        The prompt is shown as stdout before the request (as Backend.AI does) and
        is flushed with everything printed before it; the answer follows with a
        newline, except for passwords, where only the newline is shown.
        """
        if prompt:
            self.emit("stdout", prompt)
        self._throttle.now()
        value = await self._ask(self.run_id, prompt, password)
        if value is not None:
            self.emit("stdout", ("" if password else value) + "\n")
        return value

    # internals -----------------------------------------------------------
    def _append(self, kind: str, data: str) -> None:
        if self._buffer and kind in _TEXT_KINDS and self._buffer[-1][0] == kind:
            self._buffer[-1][1].append(data)
        else:
            self._buffer.append((kind, [data]))
        self._buffered += len(data)

    def _truncate(self) -> None:
        self.truncated = True
        mb = self._cap / (1024 * 1024)
        notice = (
            f"\n[runbridge] output of this run passed {mb:g} MB; the rest is not shown here. "
            f"Full output: {self._transcript.path}\n"
        )
        self._buffer.append(("stderr", [notice]))
        self._throttle.now()

    def _flush(self) -> None:
        if not self._buffer:
            return
        console = [[kind, "".join(chunks)] for kind, chunks in self._buffer]
        self._buffer = []
        self._sent += self._buffered
        self._buffered = 0
        self._seq += 1
        self._send(
            {"session": self.session, "runId": self.run_id, "seq": self._seq, "console": console}
        )

    def close(self) -> None:
        self._throttle.now()
        self._transcript.flush()
