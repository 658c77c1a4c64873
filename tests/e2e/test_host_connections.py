"""A host connection's lifecycle on the wire: ``exit`` ends only that connection, even
sent before the ``shutdown`` reply; ``initializationOptions`` apply host-wide."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import isolated_env
from tests.e2e.raw_wire import RUNBRIDGE, frame, read_message


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Path]:
    env = isolated_env(tmp_path / "home")
    env.pop("RUNBRIDGE_STANDALONE", None)
    sock = Path(tempfile.mkdtemp(prefix="rbh-")) / "host.sock"
    sock.parent.chmod(0o700)
    process = subprocess.Popen(
        [*RUNBRIDGE, "serve", "--host", "--socket", str(sock), "--linger", "60"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(400):
            if sock.exists():
                break
            await asyncio.sleep(0.05)
        yield sock
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


async def messages_until_closed(reader: asyncio.StreamReader) -> list[dict[str, Any]]:
    seen = []
    async with asyncio.timeout(10):
        while (message := await read_message(reader)) is not None:
            seen.append(message)
    return seen


async def initialize(
    writer: asyncio.StreamWriter, reader: asyncio.StreamReader, options: Any = None
) -> None:
    params = {"processId": None, "capabilities": {}, "initializationOptions": options}
    writer.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}))
    async with asyncio.timeout(30):
        while (message := await read_message(reader)) is not None:
            if message.get("id") == 1:
                return
    raise AssertionError("no initialize reply")


async def test_exit_right_after_shutdown_ends_the_connection_not_the_host(host: Path) -> None:
    for _ in range(2):  # the host still serves the next connection
        reader, writer = await asyncio.open_unix_connection(str(host))
        # all three at once: exit arrives while shutdown is still being handled
        writer.write(
            frame(
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
            )
            + frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
            + frame({"jsonrpc": "2.0", "method": "exit"})
        )
        seen = await messages_until_closed(reader)
        assert [m.get("id") for m in seen if "result" in m] == [1, 2]
        writer.close()


async def test_initialization_options_of_the_last_connection_apply_to_the_host(
    host: Path,
) -> None:
    first = await asyncio.open_unix_connection(str(host))
    await initialize(first[1], first[0], {"outputCapMb": 0.001})
    second = await asyncio.open_unix_connection(str(host))
    await initialize(second[1], second[0], {"outputCapMb": 5})
    # the first connection's runs now have the second's cap: 2000 characters pass
    code = "print('z' * 2000)"
    request = {"session": "cap", "code": code}
    first[1].write(frame({"jsonrpc": "2.0", "id": 7, "method": "runbridge/run", "params": request}))
    printed = ""
    async with asyncio.timeout(60):
        while (message := await read_message(first[0])) is not None:
            if message.get("method") == "runbridge/output":
                printed += "".join(r[1] for r in message["params"]["console"] if r[0] == "stdout")
            if message.get("id") == 7:
                break
    assert printed == "z" * 2000 + "\n"
    for _, writer in (first, second):
        with contextlib.suppress(Exception):
            writer.close()
