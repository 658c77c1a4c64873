"""A terminal on a Backend.AI session: the ``/stream/session/{name}/pty`` websocket.

Client → server frames are JSON text (reference §5.2):
``{"type": "stdin", "chars": <base64 of the bytes>}``, ``{"type": "resize",
"rows", "cols"}`` and ``{"type": "ping"}`` (sent every :data:`PING_INTERVAL_S`
so the session's idle checker sees activity). Server → client frames are
``{"type": "out", "data": <base64>}`` (or ``{"type": "error", "data": msg}``) as
TEXT frames up to manager 25.5 and BINARY frames holding the same UTF-8 JSON
from 25.6; both are accepted. The socket is pumped by
:class:`~runbridge.backends.remote.websocket_terminal.WebSocketTerminal` with
:class:`PtyFrames`: output bytes are decoded incrementally, so a multi-byte
character split across frames is never mangled.

A socket that drops (no close frame: the network, a proxy, the manager's restart) is
replaced by :func:`reconnector`'s: while the manager still has the session, a new ``pty``
stream reaches the same shell (the manager connects every stream of a session to the
kernel's one terminal), after a few tries with growing waits, and a line in the terminal
says so; a session that is gone ends the terminal with a line saying why.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection

from runbridge.backends.base import TerminalExit, TerminalOutput
from runbridge.backends.remote.websocket_terminal import (
    Reconnect,
    Reconnected,
    WebSocketTerminal,
)

log = logging.getLogger(__name__)

#: How often a ``ping`` frame keeps the session from being idle-killed.
PING_INTERVAL_S = 30.0
#: Waits before each try to reconnect a dropped terminal (the first try is at once).
RECONNECT_WAITS_S = (0.0, 0.5, 1.0, 2.0, 4.0)
#: Statuses of a session that is gone (or going): no shell to reconnect to, nothing to wait for.
ENDED_STATUSES = frozenset({"TERMINATING", "TERMINATED", "ERROR", "CANCELLED"})


def stdin_frame(data: str) -> str:
    return json.dumps({"type": "stdin", "chars": base64.b64encode(data.encode()).decode()})


def resize_frame(rows: int, cols: int) -> str:
    return json.dumps({"type": "resize", "rows": rows, "cols": cols})


def ping_frame() -> str:
    return json.dumps({"type": "ping"})


def parse_frame(frame: str | bytes) -> tuple[str, bytes | str] | None:
    """``("out", raw bytes)`` or ``("error", message)`` from one server frame (TEXT or BINARY)."""
    try:
        message = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(message, dict):
        return None
    kind = message.get("type")
    data = message.get("data", "")
    if kind == "out" and isinstance(data, str):
        try:
            return "out", base64.b64decode(data)
        except ValueError:
            return None
    if kind == "error":
        return "error", str(data)
    return None


class PtyFrames:
    """The frames of the ``pty`` stream (a :class:`TerminalFrames`)."""

    def stdin(self, data: str) -> str:
        return stdin_frame(data)

    def resize(self, rows: int, cols: int) -> str:
        return resize_frame(rows, cols)

    def read(self, frame: str | bytes) -> str | bytes | None:
        parsed = parse_frame(frame)
        if parsed is None:
            return None
        kind, payload = parsed
        if kind == "out" and isinstance(payload, bytes):
            return payload
        if kind == "error" and isinstance(payload, str):
            return f"\r\n[runbridge] terminal error: {payload}\r\n"
        return None


def pty_terminal(
    ws: ClientConnection,
    on_output: TerminalOutput,
    on_exit: TerminalExit,
    *,
    ping_interval: float = PING_INTERVAL_S,
    reconnect: Reconnect | None = None,
) -> WebSocketTerminal:
    """The terminal of an open ``pty`` stream (``start`` it with the editor's size)."""
    return WebSocketTerminal(
        ws,
        PtyFrames(),
        on_output,
        on_exit,
        label="Backend.AI terminal",
        keepalive=(ping_frame(), ping_interval),
        reconnect=reconnect,
    )


def reconnector(
    session: str,
    status: Callable[[], Awaitable[str | None]],
    connect: Callable[[], Awaitable[ClientConnection]],
    *,
    waits: tuple[float, ...] = RECONNECT_WAITS_S,
) -> Reconnect:
    """What a dropped terminal of ``session`` does: ``status()`` (the manager's status of
    the session, None when it has no such session), then ``connect()`` a new stream."""

    async def reconnect() -> Reconnected | str:
        why = "no answer"
        for wait in waits:
            await asyncio.sleep(wait)
            try:
                state = await status()
                if state is None or state in ENDED_STATUSES:
                    gone = "gone" if state is None else state
                    return (
                        f"\r\n[runbridge] the terminal's connection dropped and session "
                        f"{session!r} is {gone} on the manager: the terminal ends\r\n"
                    )
                ws = await connect()
            except Exception as exc:  # unreachable, refused: try again
                why = getattr(exc, "message", None) or type(exc).__name__
                log.info("terminal of session %r: reconnecting failed: %s", session, why)
                continue
            out = (
                f"\r\n[runbridge] the terminal's connection dropped; reconnected to the "
                f"shell of session {session!r} (output printed meanwhile is lost)\r\n"
            )
            return Reconnected(ws, out)
        return (
            f"\r\n[runbridge] the terminal's connection dropped and could not be made "
            f"again after {len(waits)} tries ({why}): the terminal ends\r\n"
        )

    return reconnect
