"""A raw LSP peer: bytes in, frames out, for tests of the daemon's framing and parsing.

pytest-lsp's client only sends well-formed messages; these tests send what a
broken or hostile peer would. :class:`RawPeer` works over the daemon's stdio or
over a Unix socket (any asyncio stream pair).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tests.conftest import isolated_env

RUNBRIDGE = [sys.executable, "-m", "runbridge"]


def frame(message: Any) -> bytes:
    """``message`` (an object, or already-encoded bytes) with its Content-Length header."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """One framed message from the daemon, or None when it closed the stream."""
    length = -1
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    assert length >= 0, "the daemon sent a header block without Content-Length"
    message = json.loads(await reader.readexactly(length))
    assert isinstance(message, dict), message
    return message


class RawPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 1000
        #: Every message read, in order.
        self.seen: list[dict[str, Any]] = []

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float | None = 10) -> dict[str, Any] | None:
        """The next message, or None when the daemon closed the stream."""
        async with asyncio.timeout(timeout):
            message = await read_message(self.reader)
        if message is not None:
            self.seen.append(message)
        return message

    async def reply_to(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        """The first message (read from now on) for which ``predicate`` holds; requests
        from the daemon (``runbridge/input``, progress tokens) are answered with null."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.read(timeout)
                if message is None:
                    raise ConnectionError("the daemon closed the stream")
                if predicate(message):
                    return message
                if "method" in message and "id" in message:
                    await self.send(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))

    async def request(self, method: str, params: Any = None, timeout: float = 30) -> Any:
        """Send a well-formed request and wait for its reply (the whole reply message)."""
        self.next_id += 1
        my_id = self.next_id
        await self.send(frame({"jsonrpc": "2.0", "id": my_id, "method": method, "params": params}))
        return await self.reply_to(lambda m: m.get("id") == my_id and "method" not in m, timeout)

    async def initialize(self) -> dict[str, Any]:
        reply = await self.request("initialize", {"processId": os.getpid(), "capabilities": {}})
        assert "result" in reply, reply
        await self.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        return dict(reply["result"])

    async def serves(self, timeout: float = 10.0) -> bool:
        """True if the daemon answers ``runbridge/listSessions`` within ``timeout``."""
        try:
            reply = await self.request("runbridge/listSessions", {}, timeout)
        except (TimeoutError, ConnectionError):
            return False
        return "result" in reply


class StdioDaemon:
    """``runbridge serve`` over stdio, its pipes in the test's hands."""

    def __init__(self, proc: asyncio.subprocess.Process, home: Path) -> None:
        self.proc = proc
        self.home = home
        assert proc.stdout is not None and proc.stdin is not None
        self.peer = RawPeer(proc.stdout, proc.stdin)  # type: ignore[arg-type]

    def log(self) -> str:
        path = self.home / "log" / "daemon.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def exited(self, timeout: float) -> int | None:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.proc.wait(), timeout)
        return None


@contextlib.asynccontextmanager
async def stdio_daemon(
    home: Path,
    env: dict[str, str] | None = None,
    initialize: bool = True,
    preexec_fn: Callable[[], None] | None = None,
) -> AsyncIterator[StdioDaemon]:
    proc = await asyncio.create_subprocess_exec(
        *RUNBRIDGE,
        "serve",
        env={**isolated_env(home), **(env or {})},
        preexec_fn=preexec_fn,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=1 << 24,
    )
    daemon = StdioDaemon(proc, home)
    try:
        if initialize:
            await daemon.peer.initialize()
        yield daemon
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
