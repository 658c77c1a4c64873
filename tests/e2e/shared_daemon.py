"""The shared daemon (``runbridge serve --socket``) as a process, and a minimal editor
that speaks LSP over its socket (for the tests of the shared daemon and its socket)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from tests.conftest import isolated_env
from tests.e2e.raw_wire import RUNBRIDGE, frame, read_message


class Editor:
    """A minimal LSP client over the daemon's socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []
        self.input_answer: str | None = "typed"

    @classmethod
    async def connect(cls, sock: Path) -> Editor:
        deadline = time.monotonic() + 20
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(str(sock), limit=1 << 22)
                return cls(reader, writer)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def _send(self, message: dict[str, Any]) -> None:
        self.writer.write(frame(message))

    async def _read(self) -> dict[str, Any] | None:
        return await read_message(self.reader)

    async def request(self, method: str, params: Any = None, timeout: float = 60) -> Any:
        self.next_id += 1
        my_id = self.next_id
        self._send({"jsonrpc": "2.0", "id": my_id, "method": method, "params": params})
        await self.writer.drain()
        async with asyncio.timeout(timeout):
            while True:
                message = await self._read()
                if message is None:
                    raise ConnectionError(f"the daemon hung up during {method}")
                if message.get("id") == my_id and "method" not in message:
                    if "error" in message:
                        raise RuntimeError(message["error"])
                    return message.get("result")
                if "method" in message and "id" in message:  # a request to the editor
                    await self._answer(message)
                elif "method" in message:
                    self.notifications.append(message)

    async def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "runbridge/input":
            result = {"value": self.input_answer}
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        await self.writer.drain()

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def initialize(self) -> dict[str, Any]:
        result = await self.request("initialize", {"processId": os.getpid(), "capabilities": {}})
        self.notify("initialized", {})
        return dict(result)

    def stdout(self, run_id: str) -> str:
        return "".join(
            data
            for n in self.notifications
            if n["method"] == "runbridge/output" and n["params"]["runId"] == run_id
            for kind, data in n["params"]["console"]
            if kind == "stdout"
        )

    async def leave(self) -> None:
        """What an editor does on reload: shutdown, exit, close the connection."""
        await self.request("shutdown")
        self.notify("exit")
        with contextlib.suppress(Exception):
            await self.writer.drain()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def hung_up(self, timeout: float = 10) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while await self._read() is not None:
                    pass
                return True
        return False


class SharedDaemon:
    def __init__(self, home: Path, linger: float) -> None:
        self.home = home
        self.sock = home / "run" / "daemon.sock"
        self.env = isolated_env(home)
        self.proc = subprocess.Popen(
            [*RUNBRIDGE, "serve", "--socket", str(self.sock), "--linger", str(linger)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kernels(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return [
                p
                for p in psutil.Process(self.proc.pid).children(recursive=True)
                if "ipykernel" in " ".join(p.cmdline())
            ]
        return []

    async def exited(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.proc.poll()

    def log(self) -> str:
        path = self.home / "log" / "daemon.log"
        return path.read_text() if path.exists() else ""
