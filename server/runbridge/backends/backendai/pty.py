"""A terminal on a Backend.AI session: the ``/stream/session/{name}/pty`` websocket.

Client → server frames are JSON text (reference §5.2):
``{"type": "stdin", "chars": <base64 of the bytes>}``, ``{"type": "resize",
"rows", "cols"}`` and ``{"type": "ping"}`` (sent every :data:`PING_INTERVAL_S`
so the session's idle checker sees activity). Server → client frames are
``{"type": "out", "data": <base64>}`` (or ``{"type": "error", "data": msg}``) as
TEXT frames up to manager 25.5 and BINARY frames holding the same UTF-8 JSON
from 25.6; both are accepted. Output bytes are decoded incrementally, so a
multi-byte character split across frames is never mangled.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import inspect
import json
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from runbridge.backends.base import TerminalExit, TerminalOutput

log = logging.getLogger(__name__)

#: How often a ``ping`` frame keeps the session from being idle-killed.
PING_INTERVAL_S = 30.0


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


class BackendAIPty:
    """One open terminal; implements :class:`runbridge.backends.base.Terminal`."""

    def __init__(
        self,
        ws: ClientConnection,
        on_output: TerminalOutput,
        on_exit: TerminalExit,
        *,
        ping_interval: float = PING_INTERVAL_S,
    ) -> None:
        self._ws = ws
        self._on_output = on_output
        self._on_exit = on_exit
        self._ping_interval = ping_interval
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._exited = False

    def start(self, rows: int, cols: int) -> None:
        self._outbox.put_nowait(resize_frame(rows, cols))
        self._tasks = [
            asyncio.create_task(self._read(), name="bai-pty-read"),
            asyncio.create_task(self._write(), name="bai-pty-write"),
            asyncio.create_task(self._keepalive(), name="bai-pty-ping"),
        ]

    # -- Terminal ----------------------------------------------------------------
    def write(self, data: str) -> None:
        if not self._exited and data:
            self._outbox.put_nowait(stdin_frame(data))

    def resize(self, rows: int, cols: int) -> None:
        if not self._exited:
            self._outbox.put_nowait(resize_frame(rows, cols))

    async def close(self) -> None:
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        with contextlib.suppress(Exception):
            await self._ws.close()
        await self._exit(None)

    # -- internals -----------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                parsed = parse_frame(frame)
                if parsed is None:
                    continue
                kind, payload = parsed
                if kind == "out" and isinstance(payload, bytes):
                    text = self._decoder.decode(payload)
                    if text:
                        self._on_output(text)
                elif kind == "error" and isinstance(payload, str):
                    self._on_output(f"\r\n[runbridge] terminal error: {payload}\r\n")
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("Backend.AI terminal stream failed")
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._on_output(tail)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await self._exit(None)

    async def _write(self) -> None:
        try:
            while True:
                frame = await self._outbox.get()
                await self._ws.send(frame)
        except ConnectionClosed:
            pass

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            self._outbox.put_nowait(ping_frame())

    async def _exit(self, code: int | None) -> None:
        if self._exited:
            return
        self._exited = True
        result: Any = self._on_exit(code)
        if inspect.isawaitable(result):
            await result
