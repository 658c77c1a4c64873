#!/usr/bin/env python
"""runbridge benchmarks: the daemon's overhead against its goals, in one run.

    python benchmarks/bench.py [--quick] [--json PATH]

Every figure is measured with a lean hand-written JSON-RPC client (Content-Length
framing over the daemon's stdio pipes, ``json`` for bodies) so that client
overhead stays out of the numbers; baselines use jupyter_client directly with
the same kernel (python3, IPC transport). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bench_language
import psutil

from runbridge import paths

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MB = 1024 * 1024
CHUNK = 64 * 1024
SESSION = "bench"
#: A flood run with no output for this long (and no reply) has lost its end.
STALL_S = 10.0
SECTIONS = (
    "roundtrip",
    "throughput",
    "language",
    "flood",
    "terminal",
    "variables",
    "spawn",
    "open",
    "documents",
)


# -- environment ----------------------------------------------------------------


def isolated_env(base: Path, server: Path = ROOT / "server") -> dict[str, str]:
    """A daemon whose config, data, state, logs and cache live under ``base``."""
    env = {**os.environ, **paths.environment_under(base)}
    env.pop("RUNBRIDGE_PROFILE", None)
    env.pop("RUNBRIDGE_CONFIG", None)
    env.pop("RUNBRIDGE_OUTPUT_CAP_MB", None)
    env["PYTHONPATH"] = str(server) + os.pathsep + env.get("PYTHONPATH", "")
    # the in-process daemon (bench_host.py measures the session host and its relay)
    env["RUNBRIDGE_STANDALONE"] = "1"
    runtime = base / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    return env


def spares_ready(daemon_log: Path) -> int:
    """How many spare kernels the daemon said were ready."""
    lines = daemon_log.read_text().splitlines()
    return sum("spare kernel " in line and line.endswith(" ready") for line in lines)


def spare_memory(daemon_pid: int) -> dict[str, Any]:
    """RSS and USS (MB) of the daemon's idle spare kernel (its cwd: ``spare-<key>``)."""
    for proc in psutil.Process(daemon_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if Path(proc.cwd()).name.startswith("spare-"):
                info = proc.memory_full_info()
                return {"spare_rss_mb": info.rss / MB, "spare_uss_mb": info.uss / MB}
    return {}


def flood_code(total_bytes: int) -> str:
    """Kernel code printing ``total_bytes`` of stdout as 64 KB stream messages."""
    count = total_bytes // CHUNK
    return (
        "import sys\n"
        f"_rb_chunk = 'x' * {CHUNK - 1} + '\\n'\n"
        f"for _rb_i in range({count}):\n"
        "    sys.stdout.write(_rb_chunk)\n"
        "    sys.stdout.flush()\n"
    )


def pct(values: list[float], q: float) -> float:
    """Percentile ``q`` (0..100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def pygls_store_ms_per_key(lines: list[str], keys: int = 200) -> float:
    """For comparison: pygls' own document store (``TextDocument.apply_change``, which the
    daemon does not use) applying the same keystrokes in this process, ms per keystroke."""
    from lsprotocol import types
    from pygls.workspace import TextDocument

    document = TextDocument("file:///bench/pygls.py", "\n".join(lines), version=1)
    column = len(lines[5000])
    t0 = time.perf_counter()
    for n in range(keys):
        at = types.Position(5000, column + n)
        change = types.TextDocumentContentChangePartial(range=types.Range(at, at), text="a")
        document.apply_change(change)
    return (time.perf_counter() - t0) * 1000 / keys


# -- a lean JSON-RPC client --------------------------------------------------------


class RpcError(Exception):
    pass


class _DaemonPipes(asyncio.SubprocessProtocol):
    """The daemon's stdout, framed and parsed in the callback that receives it (as
    vscode-jsonrpc does in Node): a reply resolves its future with no reader task
    in between, so the client's own overhead stays out of the figures."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None]) -> None:
        self._on_message = on_message
        self._buffer = bytearray()
        self.stdout_closed = asyncio.get_running_loop().create_future()
        self.exited = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        buffer = self._buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in bytes(buffer[:end]).split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            start = end + 4
            if len(buffer) < start + length:
                return
            body = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self._on_message(json.loads(body))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1 and not self.stdout_closed.done():
            self.stdout_closed.set_result(None)

    def process_exited(self) -> None:
        self.exited.set()


class DaemonProcess:
    """What the benchmarks need of the daemon's process: its pid, and waiting for it."""

    def __init__(self, transport: asyncio.SubprocessTransport, pipes: _DaemonPipes) -> None:
        self._transport = transport
        self._pipes = pipes
        self.pid = transport.get_pid()

    async def wait(self) -> int | None:
        await self._pipes.exited.wait()
        return self._transport.get_returncode()


class RpcClient:
    """Content-Length framed JSON-RPC over a child's stdio; answers only what it must."""

    def __init__(self, transport: asyncio.SubprocessTransport, pipes: _DaemonPipes) -> None:
        self.proc = DaemonProcess(transport, pipes)
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        self._stdin = stdin
        self._transport = transport
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.handlers: dict[str, Callable[[Any], None]] = {}
        self.closed = asyncio.Event()
        pipes.stdout_closed.add_done_callback(lambda _: self._on_closed())

    @classmethod
    async def spawn(cls, env: dict[str, str], cwd: Path) -> RpcClient:
        loop = asyncio.get_running_loop()
        client: RpcClient | None = None

        def on_message(msg: dict[str, Any]) -> None:
            if client is not None:
                client._dispatch(msg)

        transport, pipes = await loop.subprocess_exec(
            lambda: _DaemonPipes(on_message),
            PYTHON,
            "-m",
            "runbridge",
            "serve",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=str(cwd),
        )
        client = cls(transport, pipes)
        return client

    def _on_closed(self) -> None:
        self.closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RpcError("daemon closed the connection"))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method is None:  # a response
            future = self._pending.pop(msg["id"], None)
            if future is not None and not future.done():
                if "error" in msg:
                    future.set_exception(RpcError(json.dumps(msg["error"])))
                else:
                    future.set_result(msg.get("result"))
            return
        handler = self.handlers.get(method)
        if handler is not None:
            handler(msg.get("params"))
        if "id" in msg:  # a request from the daemon: the bench never needs one
            if method == "runbridge/input":
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": {"value": None}})
            else:
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": None})

    def _send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode()
        self._stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def send_request(self, method: str, params: Any = None) -> asyncio.Future[Any]:
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self._send(msg)
        return future

    async def request(self, method: str, params: Any = None, timeout: float = 120) -> Any:
        future = self.send_request(method, params)
        try:
            async with asyncio.timeout(timeout):  # no extra task or loop turn, unlike wait_for
                return await future
        except TimeoutError:
            raise TimeoutError(f"{method}: no reply within {timeout:g} s") from None

    def notify(self, method: str, params: Any = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._send(msg)

    async def initialize(self, init_options: dict[str, Any] | None = None) -> Any:
        result = await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": init_options,
            },
        )
        self.notify("initialized", {})
        return result

    async def close(self, timeout: float = 15) -> int | None:
        """shutdown + exit; kill the daemon only if it does not leave by itself."""
        with contextlib.suppress(Exception):
            if not self.closed.is_set():
                await self.request("shutdown", None, timeout)
                self.notify("exit")
        with contextlib.suppress(Exception):
            self._stdin.close()  # after what is buffered has been written
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            kill_tree(self.proc.pid)
            code = await self.proc.wait()
        self._transport.close()
        return code


def kill_tree(pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(pid)
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        parent.kill()


# -- results -------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    name: str
    value: float
    unit: str
    goal: str
    passed: bool | None  # None: informational
    daemon: float | None = None
    direct: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def failed_figure(name: str, exc: Exception) -> Figure:
    """A measurement that failed: said on stderr, and a MISS row."""
    print(f"{name}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    error = f"{type(exc).__name__}: {exc}"
    return Figure(
        name, f"{name} (failed)", float("nan"), "", "runs", False, detail={"error": error}
    )


class Bench:
    def __init__(
        self, quick: bool, home: Path, run_timeout: float = 180, server: Path = ROOT / "server"
    ) -> None:
        self.quick = quick
        self.run_timeout = run_timeout
        self.home = home
        self.server = server
        self.env = isolated_env(home, server)
        self.figures: list[Figure] = []
        self.rb: RpcClient | None = None
        self.outputs: dict[str, list[tuple[float, Any]]] = {}
        self.terminal_data: list[str] = []
        self.terminal_event = asyncio.Event()

    # -- daemon ----------------------------------------------------------------
    async def start_daemon(self, cap_mb: float) -> RpcClient:
        rb = await RpcClient.spawn(self.env, self.home)

        def on_output(params: Any) -> None:
            self.outputs.setdefault(params["runId"], []).append((time.perf_counter(), params))

        def on_terminal(params: Any) -> None:
            self.terminal_data.append(params["data"])
            self.terminal_event.set()

        rb.handlers["runbridge/output"] = on_output
        rb.handlers["runbridge/terminalOutput"] = on_terminal
        await rb.initialize({"outputCapMb": cap_mb})
        await rb.request("runbridge/openSession", {"name": SESSION}, timeout=120)
        return rb

    async def daemon_run(self, code: str) -> tuple[float, dict[str, Any]]:
        assert self.rb is not None
        t0 = time.perf_counter()
        params = {"session": SESSION, "code": code}
        result = await self.rb.request("runbridge/run", params, self.run_timeout)
        return time.perf_counter() - t0, result

    def stdout_bytes(self, run_id: str) -> int:
        total = 0
        for _, note in self.outputs.get(run_id, []):
            for kind, data in note["console"]:
                if kind == "stdout":
                    total += len(data)
        return total

    # -- direct jupyter_client ----------------------------------------------------
    async def start_direct(self) -> Any:
        from jupyter_client.manager import AsyncKernelManager

        runtime = Path(tempfile.mkdtemp(prefix="rbbench-", dir="/tmp"))
        self._direct_runtime = runtime
        km = AsyncKernelManager(
            kernel_name="python3",
            transport="ipc",
            ip=str(runtime / "k"),
            connection_file=str(runtime / "kernel.json"),
        )
        workdir = self.home / "direct"
        workdir.mkdir(exist_ok=True)
        await km.start_kernel(
            cwd=str(workdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        self.km, self.kc = km, kc
        return kc

    async def stop_direct(self) -> None:
        kc, km = getattr(self, "kc", None), getattr(self, "km", None)
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if km is not None:
            with contextlib.suppress(Exception):
                await km.shutdown_kernel(now=True)  # also removes the connection file
        runtime = getattr(self, "_direct_runtime", None)
        if runtime is not None:
            shutil.rmtree(runtime, ignore_errors=True)

    async def direct_run(self, code: str) -> tuple[float, int]:
        """Execute and wait for execute_reply + status idle; count stdout bytes."""
        kc = self.kc
        t0 = time.perf_counter()
        msg_id = kc.execute(code, stop_on_error=False)
        got_bytes = 0
        idle = False
        while not idle:
            msg = await kc.get_iopub_msg()
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                got_bytes += len(msg["content"]["text"])
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        while True:
            reply = await kc.get_shell_msg()
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        return time.perf_counter() - t0, got_bytes

    # -- 1. trivial round trip ----------------------------------------------------
    async def bench_round_trip(self) -> None:
        iters, warmup = (60, 10) if self.quick else (300, 30)
        daemon: list[float] = []
        direct: list[float] = []
        for _ in range(warmup):
            await self.daemon_run("pass")
            await self.direct_run("pass")
        # interleave, so that machine noise hits both sides alike
        for _ in range(iters):
            elapsed, result = await self.daemon_run("pass")
            assert result["status"] == "finished", result
            daemon.append(elapsed * 1000)
            elapsed, _ = await self.direct_run("pass")
            direct.append(elapsed * 1000)
        d50, d99 = pct(daemon, 50), pct(daemon, 99)
        j50, j99 = pct(direct, 50), pct(direct, 99)
        added = d50 - j50
        self.figures.append(
            Figure(
                "roundtrip_added_p50_ms",
                "trivial run: added latency p50",
                added,
                "ms",
                "<= 1.5 ms",
                added <= 1.5,
                d50,
                j50,
                {"iterations": iters, "warmup": warmup},
            )
        )
        self.figures.append(
            Figure(
                "roundtrip_p99_ms",
                "trivial run: p99 (daemon vs direct)",
                d99 - j99,
                "ms added",
                "info",
                None,
                d99,
                j99,
            )
        )

    # -- 2. stdout throughput -------------------------------------------------------
    async def bench_throughput(self) -> None:
        size = 20 * MB
        reps = 1 if self.quick else 5
        code = flood_code(size)
        daemon: list[float] = []
        direct: list[float] = []
        notes: list[float] = []
        for _ in range(reps):
            elapsed, result = await self.daemon_run(code)
            got = self.stdout_bytes(result["runId"])
            if got != size:
                raise RuntimeError(f"daemon delivered {got} of {size} stdout bytes")
            daemon.append(size / MB / elapsed)
            notes.append(len(self.outputs.get(result["runId"], [])) / elapsed)
            self.outputs.pop(result["runId"], None)
            elapsed, got = await self.direct_run(code)
            if got != size:
                raise RuntimeError(f"direct jupyter_client got {got} of {size} stdout bytes")
            direct.append(size / MB / elapsed)
        d, j = statistics.median(daemon), statistics.median(direct)
        self.figures.append(
            Figure(
                "throughput_ratio",
                "stdout throughput 20 MB (daemon/direct)",
                d / j,
                "x",
                ">= 0.8",
                d / j >= 0.8,
                d,
                j,
                {
                    "unit": "MB/s",
                    "reps": reps,
                    "daemon_mb_s": daemon,
                    "direct_mb_s": direct,
                    "notifications_per_s": notes,
                },
            )
        )

    # -- 3 + 4. flood: notification rate and daemon RSS --------------------------------
    async def bench_flood(self) -> None:
        assert self.rb is not None
        size = (100 if self.quick else 200) * MB
        proc = psutil.Process(self.rb.proc.pid)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                with contextlib.suppress(psutil.Error):
                    samples.append((time.perf_counter(), proc.memory_info().rss))
                stop.wait(0.05)

        baseline = proc.memory_info().rss
        known = set(self.outputs)
        sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        failure = None
        try:
            params = {"session": SESSION, "code": flood_code(size)}
            reply = self.rb.send_request("runbridge/run", params)
            while True:
                done, _ = await asyncio.wait({reply}, timeout=0.5)
                if done:
                    reply.result()
                    break
                now = time.perf_counter()
                last = max((self.outputs[r][-1][0] for r in set(self.outputs) - known), default=t0)
                if now - last > STALL_S or now - t0 > self.run_timeout:
                    raise TimeoutError(f"no reply, and no output for {now - last:.0f} s")
        except (TimeoutError, RpcError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            elapsed = time.perf_counter() - t0
            stop.set()
            sampler.join()
        notes = [n for run_id in set(self.outputs) - known for n in self.outputs.pop(run_id)]
        notes.sort(key=lambda n: n[0])
        got = sum(len(data) for _, n in notes for kind, data in n["console"] if kind == "stdout")
        # over the time output was flowing (a run that lost its final message ends late)
        seconds = max(notes[-1][0] - t0, 1e-3) if notes else elapsed
        rate = len(notes) / seconds
        times = [t - t0 for t, _ in notes]
        busiest, j = 0, 0
        for i in range(len(times)):
            while times[i] - times[j] > 1.0:
                j += 1
            busiest = max(busiest, i - j + 1)
        peak = max(rss for _, rss in samples) if samples else proc.memory_info().rss
        flowing = [rss for t, rss in samples if t <= t0 + seconds + 1.0]
        timeline = [round(rss / MB) for rss in flowing[::5]]
        self.figures.append(
            Figure(
                "notifications_per_s",
                f"output notifications/s, {size // MB} MB flood",
                rate,
                "/s",
                "<= 100/s",
                rate <= 100,
                detail={
                    "notifications": len(notes),
                    "seconds": seconds,
                    "busiest_1s_window": busiest,
                    "flood_mb_s": got / MB / seconds,
                },
            )
        )
        self.figures.append(
            Figure(
                "daemon_peak_rss_mb",
                f"daemon peak RSS, {size // MB} MB flood",
                peak / MB,
                "MB",
                "< 150 MB",
                peak / MB < 150,
                detail={
                    "rss_before_mb": baseline / MB,
                    "samples": len(samples),
                    "sample_interval_s": 0.05,
                    "rss_every_250ms_mb": timeline,
                },
            )
        )
        # Not one of the six goals, but a figure is worthless if output went missing.
        delivered = got / MB
        self.figures.append(
            Figure(
                "flood_delivered_mb",
                f"flood stdout delivered, run ended ({size // MB} MB)",
                delivered,
                "MB",
                f"all {size // MB} MB",
                got == size and failure is None,
                detail={"stdout_bytes": got, "expected": size, "error": failure},
            )
        )
        if failure is not None:
            # the run still holds the session (its final status message was lost)
            await self.rb.request("runbridge/restart", {"session": SESSION}, 60)

    # -- 5. spawn to initialize -------------------------------------------------------
    async def bench_spawn(self) -> None:
        n = 3 if self.quick else 5
        times: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter()
            rb = await RpcClient.spawn(self.env, self.home)
            try:
                await rb.request(
                    "initialize",
                    {"processId": os.getpid(), "rootUri": None, "capabilities": {}},
                    timeout=30,
                )
                times.append((time.perf_counter() - t0) * 1000)
                rb.notify("initialized", {})
            finally:
                await rb.close()
        med = statistics.median(times)
        self.figures.append(
            Figure(
                "spawn_to_initialize_ms",
                f"spawn -> initialize reply (median of {n})",
                med,
                "ms",
                "< 400 ms",
                med < 400,
                detail={"runs_ms": times},
            )
        )

    # -- 5a. typing in a large document ------------------------------------------------
    async def bench_documents(self) -> None:
        """A 10,000-line python document (a ``# %%`` marker every 50 lines) is opened; 500
        single-character ``didChange`` notifications type into line 5,000, then one request
        (``runbridge/listSessions``) fences them: the time per keystroke, three bursts."""
        lines = [
            f"# %% cell {n // 50}" if n % 50 == 0 else f"x_{n} = {n} * 2" for n in range(10_000)
        ]
        uri = "file:///bench/large.py"
        rb = await RpcClient.spawn(self.env, self.home)
        try:
            await rb.initialize()
            item = {"uri": uri, "languageId": "python", "version": 1, "text": "\n".join(lines)}
            rb.notify("textDocument/didOpen", {"textDocument": item})
            process = psutil.Process(rb.proc.pid)
            version, column = 1, len(lines[5000])
            per_key_ms: list[float] = []
            cpu_ms: list[float] = []
            for burst in range(4):  # the first one warms up
                await rb.request("runbridge/listSessions", {}, 30)
                cpu0 = sum(process.cpu_times()[:2])
                t0 = time.perf_counter()
                for _ in range(500):
                    version += 1
                    at = {"line": 5000, "character": column}
                    change = {"range": {"start": at, "end": at}, "text": "a"}
                    rb.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": uri, "version": version},
                            "contentChanges": [change],
                        },
                    )
                    column += 1
                await rb.request("runbridge/listSessions", {}, 30)
                if burst:
                    per_key_ms.append((time.perf_counter() - t0) * 1000 / 500)
                    cpu_ms.append((sum(process.cpu_times()[:2]) - cpu0) * 1000 / 500)
            t0 = time.perf_counter()
            cell = await rb.request(
                "runbridge/cellAt", {"uri": uri, "position": {"line": 5000, "character": 0}}, 30
            )
            cell_at_ms = (time.perf_counter() - t0) * 1000
            assert cell["cell"]["code"].startswith(lines[5001]), cell
        finally:
            await rb.close()
        med = statistics.median(per_key_ms)
        pygls_ms = pygls_store_ms_per_key(lines)
        self.figures.append(
            Figure(
                "did_change_10k_lines_ms",
                "didChange of a 10,000-line document, per keystroke (median of 3 x 500)",
                med,
                "ms",
                "< 1 ms",
                med < 1,
                detail={
                    "bursts_ms_per_key": per_key_ms,
                    "daemon_cpu_ms_per_key": cpu_ms,
                    "cell_at_after_edits_ms": cell_at_ms,
                    "pygls_text_document_ms_per_key": pygls_ms,
                },
            )
        )

    # -- 5b. opening a local session, with and without a spare kernel ready ----------
    async def _open_times(self, spare_kernels: int, n: int) -> tuple[list[float], dict[str, Any]]:
        """Open ``n`` local sessions on a daemon of its own (``spare_kernels``), each after
        the spare of the one before is ready; each session is closed after its open."""
        home = self.home / f"open-{spare_kernels}"
        home.mkdir()
        rb = await RpcClient.spawn(isolated_env(home, self.server), home)
        log = home / "log" / "daemon.log"
        times: list[float] = []
        memory: dict[str, Any] = {}
        try:
            profile = {"type": "local", "spare_kernels": spare_kernels}
            await rb.initialize({"profiles": {"local": profile}})
            await rb.request("runbridge/openSession", {"name": "warm-up"}, timeout=120)
            for i in range(n):
                if spare_kernels:
                    deadline = time.monotonic() + 60
                    while spares_ready(log) < i + 1:
                        if time.monotonic() > deadline:
                            raise RuntimeError("no spare kernel became ready")
                        await asyncio.sleep(0.05)
                    if i == 0:
                        memory = spare_memory(rb.proc.pid)
                t0 = time.perf_counter()
                await rb.request("runbridge/openSession", {"name": f"s{i}"}, timeout=120)
                times.append((time.perf_counter() - t0) * 1000)
                await rb.request("runbridge/closeSession", {"name": f"s{i}"}, timeout=60)
        finally:
            await rb.close()
        return times, memory

    async def bench_open(self) -> None:
        n = 3 if self.quick else 5
        fresh, _ = await self._open_times(0, n)
        spare, memory = await self._open_times(1, n)
        med_spare, med_fresh = statistics.median(spare), statistics.median(fresh)
        self.figures.append(
            Figure(
                "open_local_spare_ms",
                f"open a local session, spare ready vs none (median of {n})",
                med_spare,
                "ms",
                "< 100 ms",
                med_spare < 100,
                med_spare,
                med_fresh,
                {"spare_ms": spare, "no_spare_ms": fresh, **memory},
            )
        )
        if memory:
            self.figures.append(
                Figure(
                    "spare_kernel_rss_mb",
                    "memory of one idle spare kernel (RSS; USS in the JSON)",
                    memory["spare_rss_mb"],
                    "MB",
                    "info",
                    None,
                    detail=memory,
                )
            )

    # -- 6. terminal echo ------------------------------------------------------------
    async def bench_terminal(self) -> None:
        rb = self.rb
        assert rb is not None
        n = 50 if self.quick else 200
        opened = await rb.request("runbridge/openTerminal", {"session": SESSION})
        tid = opened["terminalId"]

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
            # cat under `stty raw -echo`: the tty does not echo, cat writes back each byte
            # as soon as it reads it, so every keystroke comes back exactly once.
            send("stty raw -echo; exec cat\r")
            await asyncio.sleep(0.5)
            self.terminal_data.clear()
            send("@")
            await wait_for("@")
            await asyncio.sleep(0.2)

            async def measure(count: int, gap: float) -> list[float]:
                samples: list[float] = []
                letters = string.ascii_letters
                for i in range(count):
                    ch = letters[i % len(letters)]
                    self.terminal_data.clear()
                    t0 = time.perf_counter()
                    send(ch)
                    await wait_for(ch)
                    samples.append((time.perf_counter() - t0) * 1000)
                    if gap:
                        await asyncio.sleep(gap)
                return samples

            typed = await measure(n, 0.03)
            burst = await measure(n, 0.0)
        finally:
            with contextlib.suppress(Exception):
                await rb.request("runbridge/closeTerminal", {"terminalId": tid}, timeout=10)
        p50 = pct(typed, 50)
        self.figures.append(
            Figure(
                "terminal_echo_p50_ms",
                "terminal keystroke echo p50 (30 ms apart)",
                p50,
                "ms",
                "< 5 ms",
                p50 < 5,
                detail={"keystrokes": n, "p90_ms": pct(typed, 90), "p99_ms": pct(typed, 99)},
            )
        )
        b50 = pct(burst, 50)
        self.figures.append(
            Figure(
                "terminal_echo_burst_p50_ms",
                "terminal echo p50, back-to-back keys",
                b50,
                "ms",
                "info",
                None,
                detail={"keystrokes": n, "p90_ms": pct(burst, 90)},
            )
        )

    # -- 7. variables of a session -------------------------------------------------------
    async def bench_variables(self) -> None:
        """``runbridge/variables`` of a session holding 1,000 variables: idle (the silent
        run), then while a run sleeps (the debugger, information only)."""
        rb = self.rb
        assert rb is not None
        n, warmup = (10, 3) if self.quick else (30, 5)
        count = 1000
        _, result = await self.daemon_run(
            "\n".join(f"bench_var_{i:04d} = {i}" for i in range(count))
        )
        assert result["status"] == "finished", result

        async def measure(times: int) -> list[float]:
            elapsed: list[float] = []
            for _ in range(times):
                t0 = time.perf_counter()
                listed = await rb.request("runbridge/variables", {"session": SESSION}, 30)
                elapsed.append((time.perf_counter() - t0) * 1000)
                got = sum(v["name"].startswith("bench_var_") for v in listed["variables"])
                assert got == count, f"{got} of {count} variables listed"
            return elapsed

        await measure(warmup)
        idle = await measure(n)
        med = statistics.median(idle)
        self.figures.append(
            Figure(
                "variables_idle_ms",
                f"runbridge/variables, {count} variables, idle (median of {n})",
                med,
                "ms",
                "< 200 ms",
                med < 200,
                detail={"runs_ms": idle, "p95_ms": pct(idle, 95)},
            )
        )
        sleeper = asyncio.ensure_future(self.daemon_run("import time; time.sleep(120)"))
        try:
            await asyncio.sleep(0.5)  # the run has started
            busy = await measure(max(3, n // 3))
        finally:
            await rb.request("runbridge/interrupt", {"session": SESSION}, 30)
            await sleeper
        self.figures.append(
            Figure(
                "variables_busy_ms",
                f"runbridge/variables, {count} variables, run busy (median of {len(busy)})",
                statistics.median(busy),
                "ms",
                "info",
                None,
                detail={"runs_ms": busy},
            )
        )
        await self.daemon_run(
            f"for _n in range({count}):\n    del globals()[f'bench_var_{{_n:04d}}']\ndel _n"
        )

    # -- 8. completion and hover from the live kernel ------------------------------------
    async def bench_language(self) -> None:
        """``textDocument/completion`` on an idle local kernel against ``complete_request``
        through jupyter_client, hover, and completion while a run sleeps."""
        rb, kc = self.rb, self.kc
        assert rb is not None
        iters, warmup = (50, 10) if self.quick else (200, 20)
        await self.direct_run(bench_language.SETUP)
        await bench_language.prepare(rb, self.run_timeout)
        daemon, direct = await bench_language.idle_completion(rb, kc, iters, warmup)
        d50, d95, j50, j95 = pct(daemon, 50), pct(daemon, 95), pct(direct, 50), pct(direct, 95)
        detail = {"iterations": iters, "warmup": warmup}
        self.figures += [
            Figure(
                "completion_added_p50_ms", "completion, idle kernel: added latency p50",
                d50 - j50, "ms", "<= 2 ms", d50 - j50 <= 2, d50, j50, detail,
            ),
            Figure(
                "completion_p50_ms", "completion, idle kernel: p50", d50, "ms", "< 20 ms",
                d50 < 20, d50, j50, detail,
            ),
            Figure(
                "completion_p95_ms", "completion, idle kernel: p95", d95, "ms", "< 50 ms",
                d95 < 50, d95, j95, detail,
            ),
        ]  # fmt: skip
        hovered = await bench_language.hovers(rb, iters)
        h95 = pct(hovered, 95)
        self.figures.append(
            Figure(
                "hover_p95_ms", "hover (inspect_request), idle kernel: p95", h95, "ms",
                "< 50 ms", h95 < 50, detail={"p50_ms": pct(hovered, 50), "iterations": iters},
            )
        )  # fmt: skip
        busy, found = await bench_language.busy_completion(rb, 10 if self.quick else 30, 180)
        worst = max(busy)
        self.figures.append(
            Figure(
                "completion_busy_max_ms",
                f"completion while a run sleeps: slowest of {len(busy)} "
                f"({found} answered with the kernel's names, on control)",
                worst, "ms", "< 100 ms", worst < 100,
                detail={"p50_ms": pct(busy, 50), "runs_ms": busy, "with_names": found},
            )
        )  # fmt: skip

    # -- driver -------------------------------------------------------------------------
    async def section(self, name: str, fn: Callable[[], Any]) -> None:
        """Run one measurement; a failure becomes a MISS row and the others still run."""
        try:
            await fn()
        except Exception as exc:
            self.figures.append(failed_figure(name, exc))
            if self.rb is not None and not self.rb.closed.is_set():
                # a run that never ended holds the session; a restart releases it
                with contextlib.suppress(Exception):
                    await self.rb.request("runbridge/restart", {"session": SESSION}, 60)

    async def run(self, cap_mb: float, only: set[str]) -> None:
        try:
            if only & {"roundtrip", "throughput", "language", "flood", "terminal", "variables"}:
                self.rb = await self.start_daemon(cap_mb)
            if only & {"roundtrip", "throughput", "language"}:
                await self.start_direct()
            if "roundtrip" in only:
                await self.section("roundtrip", self.bench_round_trip)
            if "throughput" in only:
                await self.section("throughput", self.bench_throughput)
            if "language" in only:
                await self.section("language", self.bench_language)
            await self.stop_direct()
            if "flood" in only:
                await self.section("flood", self.bench_flood)
            if "terminal" in only:
                await self.section("terminal", self.bench_terminal)
            if "variables" in only:
                await self.section("variables", self.bench_variables)
        finally:
            await self.stop_direct()
            if self.rb is not None:
                code = await self.rb.close()
                if code != 0:
                    print(f"warning: daemon exit code {code}", file=sys.stderr)
                self.rb = None
        if "spawn" in only:
            await self.section("spawn", self.bench_spawn)
        if "open" in only:
            await self.section("open", self.bench_open)
        if "documents" in only:
            await self.section("documents", self.bench_documents)


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "value", "daemon", "direct", "goal", "result")]
    for f in figures:
        side_unit = {"throughput_ratio": "MB/s"}.get(f.key, "ms")
        rows.append(
            (
                f.name,
                fmt(f.value, f.unit),
                fmt(f.daemon, side_unit),
                fmt(f.direct, side_unit),
                f.goal,
                "-" if f.passed is None else ("PASS" if f.passed else "MISS"),
            )
        )
    print_rows(rows)


def print_rows(rows: list[tuple[str, ...]]) -> None:
    """Print text rows as aligned columns; the first row is the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbbench-home-"))
    bench = Bench(args.quick, home, args.run_timeout, Path(args.server).resolve())
    started = time.time()
    try:
        await bench.run(args.cap_mb, set(args.only.split(",")))
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print()
    print_table(bench.figures)
    return finish(bench.figures, started, args.json, quick=args.quick)


def finish(figures: list[Any], started: float, json_path: str | None, **extra: Any) -> int:
    """Print the goals line, write the JSON report if asked; the exit code (1: a goal missed)."""
    goals = [f for f in figures if f.passed is not None]
    missed = [f for f in goals if not f.passed]
    print(f"\n{len(goals) - len(missed)}/{len(goals)} goals met ({time.time() - started:.0f} s)")
    if json_path:
        report = {
            **extra,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "figures": [asdict(f) for f in figures],
        }
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {json_path}")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, smaller flood")
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    parser.add_argument(
        "--cap-mb",
        type=float,
        default=256,
        help="daemon outputCapMb (default 256: above the flood, so all of it is forwarded)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of: {','.join(SECTIONS)}",
    )
    parser.add_argument("--run-timeout", type=float, default=180, help="seconds per daemon run")
    parser.add_argument(
        "--server",
        default=str(ROOT / "server"),
        help="folder holding the runbridge package to measure (to compare a patched copy)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary daemon home")
    args = parser.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
