#!/usr/bin/env python
"""The session host's figures: connecting, the relay's cost, history replay, and a
client that stops reading.

    python benchmarks/bench_host.py [--quick] [--json PATH]

Starts its own host (``runbridge serve --host``) in a temporary home and stops it at
the end. Clients are lean hand-written JSON-RPC clients (see bench.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    PYTHON,
    ROOT,
    Figure,
    RpcClient,
    failed_figure,
    finish,
    isolated_env,
    pct,
    print_table,
)

MB = 1024 * 1024


class SocketRpc:
    """Content-Length framed JSON-RPC over the host's Unix socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.handlers: dict[str, Callable[[Any], None]] = {}
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, path: Path) -> SocketRpc:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 24)
        client = cls(reader, writer)
        client._task = asyncio.create_task(client._read_loop())
        return client

    async def _read_loop(self) -> None:
        while True:
            header = await self.reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            msg = json.loads(await self.reader.readexactly(length))
            if "method" not in msg:
                future = self._pending.pop(msg["id"], None)
                if future is not None and not future.done():
                    future.set_result(msg.get("result", msg.get("error")))
                continue
            handler = self.handlers.get(msg["method"])
            if handler is not None:
                handler(msg.get("params"))
            if "id" in msg:
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": None})

    def stop_reading(self) -> None:
        """From now on this client reads nothing (a frozen window): not even into its
        stream's buffer."""
        if self._task is not None:
            self._task.cancel()
        transport = self.writer.transport
        if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
            transport.pause_reading()

    def resume_reading(self) -> None:
        transport = self.writer.transport
        if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
            transport.resume_reading()
        self._task = asyncio.create_task(self._read_loop())

    def _send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode()
        self.writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def request(self, method: str, params: Any = None, timeout: float = 120) -> Any:
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        self._send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        async with asyncio.timeout(timeout):
            return await future

    async def initialize(self) -> None:
        await self.request("initialize", {"processId": None, "capabilities": {}})
        self._send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def close(self) -> None:
        self.stop_reading()
        self.writer.close()


class HostBench:
    def __init__(self, home: Path, quick: bool) -> None:
        self.home = home
        self.quick = quick
        self.env = isolated_env(home)
        self.env.pop("RUNBRIDGE_STANDALONE", None)
        self.socket = home / "run" / "runbridge" / "host.sock"
        self.figures: list[Figure] = []
        self.host: subprocess.Popen[bytes] | None = None

    async def start_host(self) -> None:
        self.host = subprocess.Popen(
            [PYTHON, "-m", "runbridge", "serve", "--host", "--linger", "600"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.home,
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                client = await SocketRpc.connect(self.socket)
                client.close()
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the host never listened")
            await asyncio.sleep(0.05)

    def stop_host(self) -> None:
        if self.host is not None:
            self.host.send_signal(signal.SIGTERM)
            try:
                self.host.wait(15)
            except subprocess.TimeoutExpired:
                self.host.kill()

    async def bench_connect(self) -> None:
        n = 10 if self.quick else 30
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            client = await SocketRpc.connect(self.socket)
            await client.initialize()
            samples.append((time.perf_counter() - t0) * 1000)
            client.close()
        p50 = pct(samples, 50)
        self.figures.append(
            Figure(
                "host_connect_init_p50_ms",
                "connect to host -> initialize reply p50",
                p50,
                "ms",
                "< 50 ms",
                p50 < 50,
                detail={"connections": n},
            )
        )
        spawns = []
        for _ in range(5 if self.quick else 10):
            t0 = time.perf_counter()
            rb = await RpcClient.spawn(self.env, self.home)
            await rb.initialize()
            spawns.append((time.perf_counter() - t0) * 1000)
            await rb.close()
        s50 = pct(spawns, 50)
        self.figures.append(
            Figure(
                "relay_spawn_init_p50_ms",
                "spawn `runbridge serve` (relay) -> initialize p50",
                s50,
                "ms",
                "< 100 ms",
                s50 < 100,
                detail={"spawns": len(spawns)},
            )
        )

    async def _trivial_runs(self, run: Callable[[], Any], n: int) -> list[float]:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            result = await run()
            assert result["status"] == "finished", result
            samples.append((time.perf_counter() - t0) * 1000)
        return samples

    async def bench_relay(self) -> None:
        n, warm = (60, 10) if self.quick else (300, 30)
        relay = await RpcClient.spawn(self.env, self.home)
        standalone_env = {**self.env, "RUNBRIDGE_STANDALONE": "1"}
        inproc = await RpcClient.spawn(standalone_env, self.home)
        try:
            for rb, name in ((relay, "relay"), (inproc, "inproc")):
                await rb.initialize()
                await rb.request("runbridge/openSession", {"name": name}, 120)
            relayed: list[float] = []
            direct: list[float] = []
            for i in range(warm + n):  # interleaved: machine noise hits both alike
                a = await self._trivial_runs(
                    lambda: relay.request("runbridge/run", {"session": "relay", "code": "pass"}), 1
                )
                b = await self._trivial_runs(
                    lambda: inproc.request("runbridge/run", {"session": "inproc", "code": "pass"}),
                    1,
                )
                if i >= warm:
                    relayed += a
                    direct += b
        finally:
            await relay.close()
            await inproc.close()
        r50, d50 = pct(relayed, 50), pct(direct, 50)
        self.figures.append(
            Figure(
                "relay_added_p50_ms",
                "trivial run: relay + host vs in-process, p50",
                r50 - d50,
                "ms",
                "<= 0.5 ms",
                r50 - d50 <= 0.5,
                r50,
                d50,
                {"runs": n},
            )
        )

    async def bench_replay(self) -> None:
        client = await SocketRpc.connect(self.socket)
        try:
            await client.initialize()
            await client.request("runbridge/openSession", {"name": "replay"}, 120)
            code = (
                "import sys\nline = 'x' * 1023 + '\\n'\n"
                "for _ in range(10240): sys.stdout.write(line)"
            )
            await client.request("runbridge/run", {"session": "replay", "code": code}, 300)
        finally:
            client.close()
        fresh = await SocketRpc.connect(self.socket)
        try:
            await fresh.initialize()
            t0 = time.perf_counter()
            result = await fresh.request(
                "runbridge/history", {"session": "replay", "limit": 1, "maxBytes": 12 * MB}, 60
            )
            elapsed = time.perf_counter() - t0
        finally:
            fresh.close()
        size = len(json.dumps(result))
        self.figures.append(
            Figure(
                "history_replay_10mb_s",
                "runbridge/history of a 10 MB run",
                elapsed,
                "s",
                "< 1 s",
                elapsed < 1,
                detail={"reply_bytes": size},
            )
        )

    async def bench_frozen_client(self) -> None:
        n = 40 if self.quick else 150
        code = "print('y' * 65535)"
        active = await SocketRpc.connect(self.socket)
        frozen: SocketRpc | None = None
        try:
            await active.initialize()
            await active.request("runbridge/openSession", {"name": "shared"}, 120)

            def run() -> Any:
                return active.request("runbridge/run", {"session": "shared", "code": code})

            await self._trivial_runs(run, 30)
            alone = await self._trivial_runs(run, n)
            frozen = await SocketRpc.connect(self.socket)
            await frozen.initialize()
            await frozen.request("runbridge/follow", {"session": "shared"})
            notes: list[str] = []
            outputs: list[int] = []
            frozen.handlers["window/logMessage"] = lambda p: notes.append(p["message"])
            frozen.handlers["runbridge/output"] = lambda p: outputs.append(p["seq"])
            frozen.stop_reading()
            assert self.host is not None
            rss_before = psutil.Process(self.host.pid).memory_info().rss
            beside = await self._trivial_runs(run, n)
            rss_after = psutil.Process(self.host.pid).memory_info().rss
            frozen.resume_reading()  # a window that wakes up: what did it get?
            await asyncio.sleep(3)
            frozen.close()
            frozen = None
            alone += await self._trivial_runs(run, n)  # alone again: before and after count
        finally:
            active.close()
            if frozen is not None:
                frozen.close()
        dropped_notes = [note for note in notes if "was not sent" in note]
        a50, b50 = pct(alone, 50), pct(beside, 50)
        ratio = b50 / a50 - 1
        self.figures.append(
            Figure(
                "frozen_client_slowdown",
                "64 KB run p50 beside a client that reads nothing",
                ratio * 100,
                "% slower",
                "<= 10 %",
                ratio <= 0.10,
                b50,
                a50,
                {
                    "runs": n,
                    "host_rss_growth_mb": (rss_after - rss_before) / MB,
                    "output_for_frozen_mb": n * 64 / 1024,
                    "notifications_it_got_on_waking": len(outputs),
                    "dropped_notes_it_got_on_waking": len(dropped_notes),
                },
            )
        )

    async def run(self) -> None:
        await self.start_host()
        try:
            for name, fn in (
                ("connect", self.bench_connect),
                ("relay", self.bench_relay),
                ("replay", self.bench_replay),
                ("frozen", self.bench_frozen_client),
            ):
                try:
                    await fn()
                except Exception as exc:
                    self.figures.append(failed_figure(name, exc))
        finally:
            self.stop_host()


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbhost-"))
    bench = HostBench(home, args.quick)
    started = time.time()
    try:
        await bench.run()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print()
    print_table(bench.figures)
    return finish(bench.figures, started, args.json, quick=args.quick)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    args = parser.parse_args()
    os.chdir(ROOT)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
