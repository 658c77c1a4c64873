"""The session host's per-connection writer: output past the bound is dropped in whole
spans of ``seq``, and the note that follows names exactly what was not sent.

The tests are coroutines: the writer may use the running loop (timers)."""

from __future__ import annotations

import json
import re
from typing import Any

from runbridge.lsp.bounded_writer import HARD_LIMIT_BYTES, OUTPUT_LIMIT_BYTES, BoundedWriter

MB = 1 << 20


class Transport:
    """A socket's transport whose unsent backlog the test sets."""

    def __init__(self) -> None:
        self.backlog = 0
        self.written: list[bytes] = []
        self.aborted = False

    def get_write_buffer_size(self) -> int:
        return self.backlog

    def is_closing(self) -> bool:
        return self.aborted

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.aborted = True


def output(writer: BoundedWriter, transport: Transport, seq: int) -> None:
    """What :meth:`LspEvents.output` does with one notification of run ``r`` in ``s``."""
    if writer.takes_output():
        transport.write(b"output %d" % seq)
    else:
        writer.drop("s", "r", seq)


def sent_seqs(transport: Transport) -> list[int]:
    return [int(w.split()[1]) for w in transport.written if w.startswith(b"output ")]


def notes(transport: Transport) -> list[str]:
    found = []
    for data in transport.written:
        if b"window/logMessage" in data:
            body: dict[str, Any] = json.loads(data.split(b"\r\n\r\n", 1)[1])
            found.append(body["params"]["message"])
    return found


async def test_a_backlog_that_shrinks_a_little_does_not_punch_holes_in_the_dropped_span() -> None:
    transport = Transport()
    writer = BoundedWriter(transport, "client")  # type: ignore[arg-type]
    for seq, backlog in enumerate([0, 3 * MB, 9 * MB, 6 * MB, 9 * MB, 7 * MB, 3 * MB, 1 * MB], 1):
        transport.backlog = backlog
        output(writer, transport, seq)
    # dropped from 8 MB on until less than 4 MB were left: 3, 4, 5 and 6, none sent
    assert sent_seqs(transport) == [1, 2, 7, 8]
    (note,) = notes(transport)
    first, last = (int(n) for n in re.findall(r"output (\d+)-(\d+) of run r", note)[0])
    assert (first, last) == (3, 6)
    # the note comes before the output that follows the span
    assert b"logMessage" in transport.written[2] and transport.written[3] == b"output 7"


async def test_any_message_says_what_was_dropped_once_the_backlog_is_low() -> None:
    transport = Transport()
    writer = BoundedWriter(transport, "client")  # type: ignore[arg-type]
    transport.backlog = OUTPUT_LIMIT_BYTES
    output(writer, transport, 1)
    writer.write(b"state change")  # still behind: no note yet
    assert notes(transport) == []
    transport.backlog = 0
    writer.write(b"state change")
    assert len(notes(transport)) == 1 and "output 1-1 of run r in session s" in notes(transport)[0]


async def test_a_client_that_reads_nothing_at_all_is_disconnected() -> None:
    transport = Transport()
    writer = BoundedWriter(transport, "client")  # type: ignore[arg-type]
    transport.backlog = HARD_LIMIT_BYTES - 10
    writer.write(b"x" * 100)
    assert transport.aborted and transport.written == []
