"""Streaming a run's console records to the editor: coalesced, ordered, capped.

Records of a run are buffered and sent as one ``runbridge/output`` notification
per flush. A flush happens when the coalescing window ends (the first record of
a quiet stream goes out at once, later ones wait for the window), or early when
the buffer passes a size threshold, so memory stays bounded whatever the
kernel prints. Adjacent ``stdout`` (or ``stderr``) records are merged. A Backend.AI
drawing record of any backend becomes its SVG here (:mod:`runbridge.drawing`).

Past the per-run cap the editor stream stops with one record naming the
transcript; every record still goes to the session's transcript file (JSON
lines: ``{"run", "kind", "data"}``), so nothing is lost. An output line also has
``seq``, the notification that carries it (written as the record is buffered: the
buffer goes out as the next notification), which ``runbridge/history`` reads back;
lines past the cap have none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

from runbridge import drawing
from runbridge.model import Display
from runbridge.paths import open_private, own_folder

log = logging.getLogger(__name__)

#: Coalescing window for output notifications.
FLUSH_INTERVAL_S = 0.025
#: A buffer this large is flushed before the window ends, and no notification carries
#: much more: small enough for an editor to decode between two frames (Neovim: ~3 ms),
#: large enough that a flood stays under 100 notifications/s (at ~120 MB/s: ~80/s).
FLUSH_BYTES = 3 * 512 * 1024

_TEXT_KINDS = frozenset({"stdout", "stderr"})


def encode(text: str) -> str:
    """A JSON string literal (non-ASCII kept as is: the wire and files are UTF-8)."""
    return json.dumps(text, ensure_ascii=False)


class OutputBatch:
    """One ``runbridge/output`` notification, its console already JSON-encoded.

    Every chunk of output is encoded once, in :meth:`RunOutput.emit`; the same
    text serves the transcript and the wire. Adjacent chunks of one kind are
    merged by joining their encoded bodies (JSON string literals concatenate
    once their quotes are dropped).
    """

    __slots__ = ("console_json", "run_id", "seq", "session")

    def __init__(self, session: str, run_id: str, seq: int, console_json: str) -> None:
        self.session = session
        self.run_id = run_id
        self.seq = seq
        self.console_json = console_json

    def params_json(self) -> str:
        """The notification's params as JSON text."""
        return (
            f'{{"session":{encode(self.session)},"runId":{encode(self.run_id)},'
            f'"seq":{self.seq},"console":{self.console_json}}}'
        )

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = json.loads(self.params_json())
        return params


SendOutput = Callable[[OutputBatch], None]
AskInput = Callable[[str, str, bool], Awaitable[str | None]]


class Transcript:
    """The append-only JSON-lines transcript of one session (0600, in a 0700 folder).

    It is rotated between runs (:meth:`rotate_if_over`): the full file becomes
    ``NAME.jsonl.1`` (a name no session's transcript can have), replacing an older
    one, so a session reopened day after day keeps at most about twice the limit on
    disk, and a run's records stay in one file.

    The editor's stream never depends on it: when the file cannot be written (a full,
    read-only or vanished disk), :attr:`failure` says why, the records are dropped,
    one warning is logged, and the next run tries again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        #: Characters in the file (its size, give or take non-ASCII text).
        self._size = 0
        #: Why the transcript cannot be written now (None: it can).
        self.failure: str | None = None
        #: Failures so far, and how many of them the editor was told of (once each).
        self.failures = 0
        self.announced = 0
        self._last_failure: str | None = None

    @property
    def rotated_path(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def write_encoded(
        self,
        run_id: str,
        kind: str,
        data_json: str,
        display_json: str = "",
        seq: int = 0,
        tail: str = "",
    ) -> None:
        """Append a record whose ``data`` is already a JSON string literal (``display_json``:
        its display, ``{"displayId", "update"}``, when it has one; ``seq``: the number of
        the ``runbridge/output`` notification that carries it, 0 for none; ``tail``: more
        members, as JSON text starting with a comma)."""
        if self._file is None and not self._open():
            return
        assert self._file is not None
        display = f',"display":{display_json}' if display_json else ""
        if seq:
            display += f',"seq":{seq}'
        line = (
            f'{{"run":{encode(run_id)},"kind":{encode(kind)},"data":{data_json}{display}{tail}}}\n'
        )
        try:
            self._file.write(line)
        except OSError as exc:
            self._fail(exc)
            return
        self._size += len(line)

    def _open(self) -> bool:
        """Open the file for appending; False (and :attr:`failure` set) when it cannot be."""
        if self.failure is not None:
            return False
        try:
            own_folder(self.path.parent)
            fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            self._file = os.fdopen(fd, "a", encoding="utf-8", errors="replace")
            self._size = os.fstat(fd).st_size
        except OSError as exc:
            self._fail(exc)
            return False
        return True

    def _fail(self, exc: OSError) -> None:
        why = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        if self.failure is None and why != self._last_failure:  # a new failure, not a retry
            self.failures += 1
            log.warning(
                "the transcript %s cannot be written (%s); output is still shown, not kept",
                self.path,
                why,
            )
        self.failure = self._last_failure = why
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                file.close()

    def retry(self) -> None:
        """Between runs: try again after a failure (the disk may have room again)."""
        if self.failure is not None:
            self.failure = None
            if self._open():
                self._last_failure = None
                log.info("the transcript %s can be written again", self.path)

    def rotate_if_over(self, max_bytes: int) -> bool:
        """Start a new file if this one holds ``max_bytes`` or more (True if it did)."""
        if self._file is None:
            if not self.path.exists():
                return False
            if not self._open():
                return False
        if self._size < max_bytes:
            return False
        self.close()
        try:
            os.replace(self.path, self.rotated_path)
        except OSError as exc:
            self._fail(exc)
            return False
        self._size = 0
        return True

    def mark(self, run_id: str, event: str, *, flush: bool = True, **fields: Any) -> None:
        """Append a ``runbridge/EVENT`` record; ``flush=False`` leaves it in the buffer
        with the run's output records (both go to disk at the run's end)."""
        details = json.dumps({"time": time.time(), **fields})
        self.write_encoded(run_id, "runbridge/" + event, encode(details))
        if flush:
            self.flush()

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as exc:
                self._file = None
                self._fail(exc)


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
        # (kind, chunks, display JSON or ""): chunks are joined at flush time, since `+=`
        # on a list item copies the whole buffer each time (quadratic under a flood)
        self._buffer: list[tuple[str, list[str], str]] = []
        self._buffered = 0
        self._sent = 0
        self._seq = 0
        self.truncated = False
        self.total_bytes = 0
        self._throttle = Throttle(self._flush, FLUSH_INTERVAL_S)

    # RunSink ------------------------------------------------------------
    def emit(self, kind: str, data: str, display: Display | None = None) -> None:
        if kind == drawing.KIND:  # editors and the transcript only ever see its SVG
            kind, data = drawing.record(data)
        if not data and kind in _TEXT_KINDS and display is None:
            return
        # a display's record keeps its id (the third element on the wire) and is never
        # merged with the text around it: an editor may replace it in place later
        display_json = json.dumps(display.to_wire()) if display is not None else ""
        transcript = self._transcript
        size = len(data)
        self.total_bytes += size
        # each transcript line names the notification that carries it (`seq`): a record
        # is written as it is buffered, and the buffer goes out as the next notification
        if self.truncated:
            transcript.write_encoded(self.run_id, kind, encode(data), display_json)
        elif self._sent + self._buffered + size > self._cap:
            self._cross_cap(kind, data, display_json)
        elif kind in _TEXT_KINDS and size > FLUSH_BYTES and not display_json:
            # one huge chunk (a kernel flushes what a tight loop printed) goes out in
            # FLUSH_BYTES pieces, so no notification costs an editor a long JSON decode;
            # each piece is its own transcript line, with its own notification's seq
            for start in range(0, size, FLUSH_BYTES):
                piece = data[start : start + FLUSH_BYTES]
                encoded = encode(piece)
                transcript.write_encoded(self.run_id, kind, encoded, "", self._seq + 1)
                self._append(kind, encoded, len(piece))
                self._throttle.now()
        else:
            encoded = encode(data)
            transcript.write_encoded(self.run_id, kind, encoded, display_json, self._seq + 1)
            self._append(kind, encoded, size, display_json)
            if self._buffered >= FLUSH_BYTES:
                self._throttle.now()
            else:
                self._throttle.poke()
        if transcript.failures > transcript.announced:
            self._announce_failure()

    @property
    def sent_seq(self) -> int:
        """The ``seq`` of the last notification sent (0: none yet)."""
        return self._seq

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
    def _append(self, kind: str, encoded: str, size: int, display_json: str = "") -> None:
        """Buffer an encoded chunk (``size`` counts the text's characters, for the cap)."""
        last = self._buffer[-1] if self._buffer else None
        if (
            last is not None
            and kind in _TEXT_KINDS
            and last[0] == kind
            and not last[2]
            and not display_json
        ):
            last[1].append(encoded)
        else:
            self._buffer.append((kind, [encoded], display_json))
        self._buffered += size

    def _announce_failure(self) -> None:
        """Tell the editor, once per failure, that the transcript keeps nothing now."""
        transcript = self._transcript
        transcript.announced = transcript.failures
        notice = (
            f"[runbridge] this session's transcript cannot be written ({transcript.failure}); "
            "output is shown here but not kept\n"
        )
        self._buffer.append(("stderr", [encode(notice)], ""))
        self._throttle.poke()

    def _cross_cap(self, kind: str, data: str, display_json: str) -> None:
        """The record that passes the cap: what fits goes out, then the notice, and the
        editor stream stops. Its transcript line keeps all of it, and says how much of it
        was sent (``sent``, characters) and the notice that followed."""
        room = self._cap - self._sent - self._buffered
        sent = room if kind in _TEXT_KINDS and room > 0 and not display_json else 0
        if sent:
            self._append(kind, encode(data[:sent]), sent)
        self.truncated = True
        notice = self._truncation_notice()
        tail = f',"sent":{sent},"notice":{encode(notice)}'
        self._transcript.write_encoded(
            self.run_id, kind, encode(data), display_json, self._seq + 1, tail
        )
        self._buffer.append(("stderr", [encode(notice)], ""))
        self._throttle.now()

    def _truncation_notice(self) -> str:
        mb = self._cap / (1024 * 1024)
        failure = self._transcript.failure
        kept = (
            f"Full output: {self._transcript.path}"
            if failure is None
            else f"The transcript cannot be written ({failure}): the rest is lost."
        )
        return (
            f"\n[runbridge] output of this run passed {mb:g} MB; the rest is not shown here. "
            f"{kept}\n"
        )

    def _flush(self) -> None:
        if not self._buffer:
            return
        records = ",".join(
            f"[{encode(kind)},{_join_literals(chunks)}{',' + display if display else ''}]"
            for kind, chunks, display in self._buffer
        )
        self._buffer = []
        self._sent += self._buffered
        self._buffered = 0
        self._seq += 1
        self._send(OutputBatch(self.session, self.run_id, self._seq, f"[{records}]"))

    def close(self) -> None:
        transcript = self._transcript
        transcript.flush()
        if transcript.failures > transcript.announced:
            self._announce_failure()
        self._throttle.now()


def _join_literals(literals: list[str]) -> str:
    """Concatenate JSON string literals into one literal of the joined text."""
    if len(literals) == 1:
        return literals[0]
    return '"' + "".join(lit[1:-1] for lit in literals) + '"'
