#!/usr/bin/env python
"""runbridge's jupyter backend against a stock Jupyter Server on loopback.

    python benchmarks/bench_jupyter.py [--quick] [--json PATH]

One unmodified Jupyter Server (``tests/jupyter/servers.py``: no config file, no
``TCP_NODELAY`` patch; 127.0.0.1, random token, temporary root) serves two kernels:

* runbridge: the real daemon (stdio JSON-RPC, a ``jupyter`` profile given in
  ``initializationOptions``); ``runbridge/run`` of ``pass`` is timed until its reply, with the
  hand-written client of ``benchmarks/bench.py``;
* baseline: a minimal client of this file (``websockets``, legacy JSON frames) on the
  kernel's channels websocket; it sends an ``execute_request`` and waits for the
  ``execute_reply`` and the ``status: idle`` of that request. A stock server holds small
  frames back (Nagle + delayed ACK, ~48 ms per round trip; reference §2.10).

The two sides take turns in batches. Then: upload throughput (``runbridge/upload`` of a
random file into the session, through the contents API, checked by size), and terminal
echo (``stty raw -echo; exec cat`` in ``runbridge/openTerminal``: one key per
``runbridge/terminalInput``, timed until a ``runbridge/terminalOutput`` holds it).
Exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import string
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from bench import RpcClient, finish, fmt, isolated_env, pct, print_rows  # noqa: E402
from tests.jupyter.servers import JupyterServer  # noqa: E402

MB = 1024 * 1024
SESSION = "rb-bench"
PROFILE = "bench-jupyter"
CODE = "pass"


@dataclass
class Row:
    key: str
    name: str
    value: float
    unit: str
    baseline: float | None
    goal: str
    passed: bool | None  # None: informational
    detail: dict[str, Any] = field(default_factory=dict)


class PlainKernelClient:
    """The baseline: a bare channels websocket (legacy JSON text frames, no subprotocol)."""

    def __init__(self, server: JupyterServer) -> None:
        self.server = server
        self.session = uuid.uuid4().hex
        self.kernel_id = ""
        self.ws: Any = None

    async def start(self) -> None:
        model = await asyncio.to_thread(
            self.server.api, "POST", "/api/kernels", {"name": "python3"}
        )
        self.kernel_id = model["id"]
        url = (
            f"ws://127.0.0.1:{self.server.port}/api/kernels/{self.kernel_id}/channels"
            f"?session_id={self.session}"
        )
        self.ws = await websockets.connect(
            url,
            additional_headers={"Authorization": f"token {self.server.token}"},
            max_size=None,
            compression=None,
        )
        await self.execute("pass")  # past the kernel_info nudges of a fresh connection

    async def execute(self, code: str) -> float:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
            "username": "bench", "date": "", "version": "5.3",
        }  # fmt: skip
        frame = json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False,
                            "stop_on_error": False},
                "channel": "shell",
                "buffers": [],
            }
        )  # fmt: skip
        t0 = time.perf_counter()
        await self.ws.send(frame)
        reply = idle = False
        while not (reply and idle):
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "execute_reply":
                reply = True
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        return (time.perf_counter() - t0) * 1000

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.kernel_id:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.server.api, "DELETE", f"/api/kernels/{self.kernel_id}")


class JupyterBench:
    def __init__(self, args: argparse.Namespace, home: Path) -> None:
        self.quick = args.quick
        self.home = home
        self.rows: list[Row] = []
        self.info: dict[str, Any] = {}
        self.server = JupyterServer(home / "server")
        self.rb: RpcClient | None = None
        self.plain: PlainKernelClient | None = None
        self.outputs: dict[str, list[Any]] = {}
        self.terminal_data: list[str] = []
        self.terminal_event = asyncio.Event()

    async def start_daemon(self) -> RpcClient:
        env = isolated_env(self.home / "daemon")
        env["SHELL"] = "/bin/sh"
        rb = await RpcClient.spawn(env, self.home)
        self.rb = rb

        def on_output(params: Any) -> None:
            self.outputs.setdefault(params["runId"], []).extend(params["console"])

        def on_terminal(params: Any) -> None:
            self.terminal_data.append(params["data"])
            self.terminal_event.set()

        rb.handlers["runbridge/output"] = on_output
        rb.handlers["runbridge/terminalOutput"] = on_terminal
        await rb.initialize(
            {
                "profile": PROFILE,
                "profiles": {
                    PROFILE: {
                        "type": "jupyter",
                        "url": self.server.url,
                        "token": self.server.token,
                    }
                },
            }
        )
        await rb.request("runbridge/openSession", {"name": SESSION}, timeout=120)
        result = await rb.request("runbridge/run", {"session": SESSION, "code": "print(1)"}, 60)
        await asyncio.sleep(0.1)
        out = "".join(d for k, d in self.outputs.pop(result["runId"], []) if k == "stdout")
        if result.get("status") != "finished" or out != "1\n":
            raise RuntimeError(f"runbridge run of print(1) gave {result} and stdout {out!r}")
        return rb

    async def rb_run(self) -> float:
        assert self.rb is not None
        t0 = time.perf_counter()
        result = await self.rb.request("runbridge/run", {"session": SESSION, "code": CODE}, 60)
        elapsed = (time.perf_counter() - t0) * 1000
        if result.get("status") != "finished":
            raise RuntimeError(f"runbridge run did not finish: {result}")
        self.outputs.pop(result["runId"], None)
        return elapsed

    # -- 1. trivial round trip -------------------------------------------------------------
    async def bench_round_trip(self) -> None:
        assert self.plain is not None
        plain = self.plain
        iters, warmup, batch = (60, 10, 10) if self.quick else (300, 30, 20)
        for _ in range(warmup):
            await self.rb_run()
            await plain.execute(CODE)
        rb_ms: list[float] = []
        plain_ms: list[float] = []
        for i in range(iters // batch):
            sides = [("rb", self.rb_run), ("plain", lambda: plain.execute(CODE))]
            if i % 2:
                sides.reverse()
            for name, fn in sides:
                for _ in range(batch):
                    (rb_ms if name == "rb" else plain_ms).append(await fn())
        r50, p50 = pct(rb_ms, 50), pct(plain_ms, 50)
        self.rows.append(
            Row(
                "roundtrip_p50_ms",
                "trivial run p50 (runbridge vs plain websocket)",
                r50,
                "ms",
                p50,
                "runbridge < 10 ms",
                r50 < 10,
                {"iterations": len(rb_ms), "warmup": warmup, "batch": batch},
            )
        )
        for q, label in ((0, "min"), (90, "p90"), (99, "p99")):
            self.rows.append(
                Row(
                    f"roundtrip_{label}_ms",
                    f"trivial run {label}",
                    pct(rb_ms, q),
                    "ms",
                    pct(plain_ms, q),
                    "info",
                    None,
                )
            )
        self.info["samples_ms"] = {
            "runbridge": [round(v, 3) for v in rb_ms],
            "plain_websocket": [round(v, 3) for v in plain_ms],
        }

    # -- 2. upload throughput ----------------------------------------------------------------
    async def bench_upload(self) -> None:
        assert self.rb is not None
        size = (50 if self.quick else 100) * MB
        reps = 1 if self.quick else 3
        src = self.home / "upload.bin"
        with src.open("wb") as f:
            for _ in range(size // MB):
                f.write(os.urandom(MB))
        speeds: list[float] = []
        for i in range(reps):
            t0 = time.perf_counter()
            result = await self.rb.request(
                "runbridge/upload",
                {"session": SESSION, "files": [str(src)], "dest": f"up{i}"},
                timeout=300,
            )
            elapsed = time.perf_counter() - t0
            if result["files"] != [{"path": f"up{i}/upload.bin", "size": size}]:
                raise RuntimeError(f"upload answered {result}")
            speeds.append(size / MB / elapsed)
        # the bytes on the server's disk are the bytes sent (checked once, outside the timing)
        copies = [p for p in self.server.root.rglob("upload.bin") if p.is_file()]
        if len(copies) != reps or any(p.read_bytes() != src.read_bytes() for p in copies[:1]):
            raise RuntimeError(f"uploaded copies on the server: {copies}")
        src.unlink()
        speed = statistics.median(speeds)
        self.rows.append(
            Row(
                "upload_mb_s",
                f"upload throughput, {size // MB} MB file (median of {reps})",
                speed,
                "MB/s",
                None,
                ">= 50 MB/s",
                speed >= 50,
                {"runs_mb_s": speeds, "bytes": size},
            )
        )

    # -- 3. terminal echo --------------------------------------------------------------------
    async def bench_terminal(self) -> None:
        rb = self.rb
        assert rb is not None
        n = 50 if self.quick else 200
        tid = (await rb.request("runbridge/openTerminal", {"session": SESSION}))["terminalId"]

        def send(data: str) -> None:
            rb.notify("runbridge/terminalInput", {"terminalId": tid, "data": data})

        async def wait_for(text: str, timeout: float = 5.0) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while text not in "".join(self.terminal_data):
                self.terminal_event.clear()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(f"terminal never echoed {text!r}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.terminal_event.wait(), remaining)

        try:
            send("stty raw -echo; exec cat\r")
            await asyncio.sleep(0.5)
            self.terminal_data.clear()
            send("@")
            await wait_for("@")
            await asyncio.sleep(0.2)
            samples: list[float] = []
            for i in range(n):
                ch = string.ascii_letters[i % len(string.ascii_letters)]
                self.terminal_data.clear()
                t0 = time.perf_counter()
                send(ch)
                await wait_for(ch)
                samples.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.03)
        finally:
            with contextlib.suppress(Exception):
                await rb.request("runbridge/closeTerminal", {"terminalId": tid}, timeout=10)
        p50 = pct(samples, 50)
        self.rows.append(
            Row(
                "terminal_echo_p50_ms",
                "terminal keystroke echo p50 (30 ms apart)",
                p50,
                "ms",
                None,
                "< 10 ms",
                p50 < 10,
                {"keystrokes": n, "p90_ms": pct(samples, 90), "p99_ms": pct(samples, 99)},
            )
        )

    # -- driver --------------------------------------------------------------------------------
    async def section(self, name: str, fn: Any) -> None:
        try:
            await fn()
        except Exception as exc:
            print(f"{name}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            self.rows.append(
                Row(name, f"{name} (failed)", float("nan"), "", None, "runs", False,
                    {"error": f"{type(exc).__name__}: {exc}"})
            )  # fmt: skip

    async def run(self) -> None:
        try:
            await asyncio.to_thread(self.server.start)
            self.info["server"] = f"jupyter_server {self.server.api('GET', '/api')['version']}"
            self.rb = await self.start_daemon()
            self.plain = PlainKernelClient(self.server)
            await self.plain.start()
            await self.section("roundtrip", self.bench_round_trip)
            await self.plain.close()
            self.plain = None
            await self.section("upload", self.bench_upload)
            await self.section("terminal", self.bench_terminal)
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.plain is not None:
            await self.plain.close()
        if self.rb is not None:
            with contextlib.suppress(Exception):
                await self.rb.request("runbridge/closeSession", {"name": SESSION}, 30)
            code = await self.rb.close()
            if code != 0:
                print(f"warning: daemon exit code {code}", file=sys.stderr)
            self.rb = None
        await asyncio.to_thread(self.server.stop)


def print_table(rows: list[Row]) -> None:
    table = [("figure", "runbridge", "baseline", "goal", "result")]
    for r in rows:
        table.append(
            (
                r.name,
                fmt(r.value, r.unit),
                fmt(r.baseline, r.unit),
                r.goal,
                "-" if r.passed is None else ("PASS" if r.passed else "MISS"),
            )
        )
    print_rows(table)


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbbench-jup-"))
    bench = JupyterBench(args, home)
    started = time.time()
    try:
        await bench.run()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n{bench.info.get('server', 'jupyter server')} on 127.0.0.1, stock configuration")
    print("baseline: a plain websocket client (execute_request until execute_reply + idle)\n")
    print_table(bench.rows)
    return finish(bench.rows, started, args.json, quick=args.quick, info=bench.info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, a 50 MB upload")
    parser.add_argument("--json", help="also write the figures and samples to this path")
    args = parser.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
