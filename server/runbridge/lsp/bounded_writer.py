"""A connection's writer that never blocks the session host, with bounded memory."""

from __future__ import annotations

import asyncio
import json
import logging

from runbridge.lsp import wire

log = logging.getLogger(__name__)

#: A connection's unsent bytes past which its runs' output is dropped.
OUTPUT_LIMIT_BYTES = 8 << 20
#: A connection's unsent bytes past which it is disconnected (it reads nothing at all).
HARD_LIMIT_BYTES = 64 << 20
#: How often a connection that had output dropped is looked at until it has caught up.
_WATCH_S = 0.25


class BoundedWriter:
    """pygls' writer on one connection's transport: never blocks the host."""

    def __init__(self, transport: asyncio.WriteTransport, label: str) -> None:
        self._transport = transport
        self._label = label
        #: (session, run id) -> [first, last] seq of the output dropped for this connection
        self._dropped: dict[tuple[str, str], list[int]] = {}
        self._watch: asyncio.TimerHandle | None = None

    def _buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def write(self, data: bytes) -> None:
        if self._transport.is_closing():
            return
        if self._buffered() + len(data) > HARD_LIMIT_BYTES:
            log.warning(
                "the %s read nothing while the host had %d bytes for it: disconnecting it",
                self._label,
                self._buffered(),
            )
            self._transport.abort()
            return
        self._transport.write(data)
        if self._dropped and self._buffered() < OUTPUT_LIMIT_BYTES // 2:
            self._say_dropped()

    def takes_output(self) -> bool:
        """False while this connection is too far behind to be sent more output: from
        :data:`OUTPUT_LIMIT_BYTES` unsent until half of that is left, so what a run loses
        is one span of ``seq`` (the one the note names), never a span with holes."""
        buffered = self._buffered()
        if self._dropped:
            if buffered >= OUTPUT_LIMIT_BYTES // 2:
                return False
            self._say_dropped()  # before the output that follows the span
        return buffered < OUTPUT_LIMIT_BYTES

    def drop(self, session: str, run_id: str, seq: int) -> None:
        span = self._dropped.setdefault((session, run_id), [seq, seq])
        span[1] = seq
        if self._watch is None:
            self._watch = asyncio.get_running_loop().call_later(_WATCH_S, self._check_drained)

    def _check_drained(self) -> None:
        """Once the connection has read most of what waited, say what it missed."""
        self._watch = None
        if self._transport.is_closing() or not self._dropped:
            return
        if self._buffered() < OUTPUT_LIMIT_BYTES // 2:
            self._say_dropped()
        else:
            self._watch = asyncio.get_running_loop().call_later(_WATCH_S, self._check_drained)

    def _say_dropped(self) -> None:
        dropped, self._dropped = self._dropped, {}
        for (session, run_id), (first, last) in dropped.items():
            message = (
                f"output {first}-{last} of run {run_id} in session {session} was not sent to "
                "this client because it was not reading; runbridge/history has it"
            )
            log.info("%s: %s", self._label, message)
            note = {"jsonrpc": "2.0", "method": "window/logMessage"}
            note["params"] = {"type": 2, "message": f"runbridge: {message}"}  # type: ignore[assignment]
            self._transport.write(wire.framed(json.dumps(note).encode("utf-8")))

    def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self._transport.close()

    def flush(self) -> None:
        """Nothing: the transport writes as soon as the socket takes it."""
