#!/usr/bin/env python
"""runbridge's backendai backend against the official Backend.AI SDK, on one emulator.

    python benchmarks/bench_backendai.py [--quick] [--generation old|new] [--json PATH]

One Backend.AI manager emulator (``tests/backendai_emulator``, as a subprocess) serves two
sessions: one opened by the real runbridge daemon (stdio JSON-RPC, a ``backendai`` profile
given in ``initializationOptions``), one by the official ``backend.ai-client`` 23.9 SDK
running in its own venv (``tests/backendai/sdk_venv.py``). A trivial run (``print(1)``) is
timed on both, in alternating batches so that both see the same server conditions:

* runbridge: ``runbridge/run`` until its reply, through the hand-written client of
  ``benchmarks/bench.py``;
* SDK: the documented sync ``execute`` loop (query, then continue until ``finished``),
  timed inside the SDK process, which reports each batch as one JSON line.

Goal: runbridge no slower than the SDK, back to back (the batches above; p50 and p99) and
at an editor's pace (a run every 100 ms, the two sides taking turns, so that each run finds
every process idle, as a user's Shift+Enter does; p50 and p90 goals, p99 shown: of 200
samples it is the third slowest, noise). Informational rows, in a last phase after the
head-to-head ones, time runbridge's ``BackendAISession`` in this process (no daemon) on a
third session, once on the execute websocket and once with ``stream_execute = False`` (the
REST loop the SDK uses): the daemon has no setting that forces the REST loop, so this is
the only like-for-like REST figure.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from bench import RpcClient, finish, fmt, isolated_env, pct, print_rows  # noqa: E402
from tests.backendai.sdk_venv import sdk_python  # noqa: E402
from tests.backendai_emulator import EmulatorProcess  # noqa: E402
from tests.sinks import StdoutSink  # noqa: E402

AK = "AKIABENCHBENCHEXAMPLE"
SK = "benchbenchbenchbenchbenchbenchbenchbench"
FLOWS = ROOT / "tests" / "backendai" / "sdk" / "flows.py"
RB_SESSION = "rb-bench"
SDK_SESSION = "sdk-bench"
INPROC_SESSION = "inproc-bench"
CODE = "print(1)"
#: The pause before each run of the paced phase (an editor's pace, every process idle).
PACE_S = 0.1
PROFILE = "bench-bai"

#: The SDK side: one long-lived process in the SDK venv. After ``ready`` it reads a count
#: per stdin line, runs that many timed execute loops (flows.exec_loop: query, then
#: continue/input until finished) and prints one JSON line; ``quit`` destroys the session.
SDK_WORKER = r"""
import json, sys, time, traceback
sys.path.insert(0, sys.argv[1])
from flows import IMAGE, exec_loop
from ai.backend.client.session import Session

def say(obj):
    print(json.dumps(obj), flush=True)

code = sys.argv[3]
try:
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=sys.argv[2])
        try:
            first = exec_loop(kern, code)
            say({"ready": True, "api_version": list(api.api_version), "first": first})
            for line in sys.stdin:
                if line.strip() in ("", "quit"):
                    break
                ms, calls = [], 0
                for _ in range(int(line)):
                    t0 = time.perf_counter()
                    out = exec_loop(kern, code)
                    ms.append((time.perf_counter() - t0) * 1000)
                    calls += len(out["statuses"])
                say({"ms": ms, "calls": calls})
        finally:
            kern.destroy()
except Exception as exc:
    say({"error": type(exc).__name__, "detail": str(exc)[:2000],
         "trace": traceback.format_exc()[-2000:]})
"""


@dataclass
class Row:
    key: str
    name: str
    runbridge: float
    sdk: float | None
    goal: str
    passed: bool | None  # None: informational
    detail: dict[str, Any] = field(default_factory=dict)


class SdkWorker:
    """The SDK worker process (see :data:`SDK_WORKER`)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, python: Path, url: str, cwd: Path) -> tuple[SdkWorker, dict[str, Any]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "SORNA_"))}
        env.pop("PYTHONPATH", None)
        env.update(
            BACKEND_ENDPOINT=url,
            BACKEND_ACCESS_KEY=AK,
            BACKEND_SECRET_KEY=SK,
            BACKEND_ENDPOINT_TYPE="api",
        )
        # cwd: a clean folder, the SDK loads a .env from its working directory upward
        proc = await asyncio.create_subprocess_exec(
            str(python), "-c", SDK_WORKER, str(FLOWS.parent), SDK_SESSION, CODE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=str(cwd), env=env,
        )  # fmt: skip
        worker = cls(proc)
        hello = await worker._read(120)
        return worker, hello

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            err = b""
            if self.proc.stderr is not None:
                with contextlib.suppress(TimeoutError):
                    err = await asyncio.wait_for(self.proc.stderr.read(), 5)
            raise RuntimeError(f"SDK worker ended: {err.decode(errors='replace')[-2000:]}")
        msg = dict(json.loads(line))
        if "error" in msg:
            raise RuntimeError(f"SDK worker: {msg['error']}: {msg['detail']}\n{msg['trace']}")
        return msg

    async def batch(self, n: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"%d\n" % n)
        await self.proc.stdin.drain()
        return await self._read(60 + 10 * n)

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"quit\n")
                await self.proc.stdin.drain()
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.communicate(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class BackendAIBench:
    def __init__(self, args: argparse.Namespace, home: Path) -> None:
        self.quick = args.quick
        self.generation = args.generation
        self.home = home
        self.rows: list[Row] = []
        self.info: dict[str, Any] = {"generation": args.generation}
        self.emu: EmulatorProcess | None = None
        self.rb: RpcClient | None = None
        self.sdk: SdkWorker | None = None
        self.outputs: dict[str, list[Any]] = {}
        self.inproc: Any = None  # (BackendAIBackend, BackendAISession) when in use
        self.with_inproc = not args.no_in_process

    # -- the two clients ----------------------------------------------------------------
    async def start_daemon(self, url: str) -> RpcClient:
        env = isolated_env(self.home / "daemon")
        for key in list(env):
            if key.startswith(("BACKEND_", "SORNA_")):
                del env[key]
        rb = await RpcClient.spawn(env, self.home)
        self.rb = rb

        def on_output(params: Any) -> None:
            self.outputs.setdefault(params["runId"], []).extend(params["console"])

        rb.handlers["runbridge/output"] = on_output
        await rb.initialize(
            {
                "profile": PROFILE,
                "profiles": {
                    PROFILE: {
                        "type": "backendai",
                        "endpoint": url,
                        "access_key": AK,
                        "secret_key": SK,
                    }
                },
            }
        )
        await rb.request("runbridge/openSession", {"name": RB_SESSION}, timeout=120)
        return rb

    async def rb_run(self) -> float:
        assert self.rb is not None
        t0 = time.perf_counter()
        result = await self.rb.request("runbridge/run", {"session": RB_SESSION, "code": CODE}, 60)
        elapsed = (time.perf_counter() - t0) * 1000
        if result.get("status") != "finished" or result.get("exitCode") not in (0, None):
            raise RuntimeError(f"runbridge run did not finish cleanly: {result}")
        return elapsed

    async def rb_batch(self, n: int) -> list[float]:
        return [await self.rb_run() for _ in range(n)]

    async def check_rb_output(self) -> None:
        """One run whose stdout must come back as ``1\\n`` (else the timing means nothing)."""
        assert self.rb is not None
        result = await self.rb.request("runbridge/run", {"session": RB_SESSION, "code": CODE}, 60)
        await asyncio.sleep(0.1)
        console = self.outputs.pop(result["runId"], [])
        out = "".join(d for kind, d in console if kind == "stdout")
        if out != "1\n":
            raise RuntimeError(f"runbridge stdout for {CODE!r} was {out!r}, not '1\\n'")
        self.outputs.clear()

    async def probe_rb_path(self) -> str:
        """Which execute path runbridge uses: an open execute websocket during a longer run."""
        assert self.rb is not None and self.emu is not None
        emu = self.emu
        reply = self.rb.send_request(
            "runbridge/run", {"session": RB_SESSION, "code": "import time; time.sleep(0.6)"}
        )
        seen = 0
        while not reply.done():
            state = await asyncio.to_thread(emu.state)
            seen = max(seen, int(state.get("websockets", 0)))
            await asyncio.sleep(0.05)
        await reply
        self.outputs.clear()
        return "websocket stream_execute" if seen else "REST query/continue loop"

    async def start_inproc(self, url: str) -> None:
        from runbridge.backends.backendai.backend import BackendAIBackend
        from runbridge.config import Profile

        settings = {"endpoint": url, "access_key": AK, "secret_key": SK}
        backend = BackendAIBackend(Profile(PROFILE, "backendai", None, settings), {})
        session = backend.open(INPROC_SESSION, None, {}, lambda state: None)
        self.inproc = (backend, session)
        await session.start()
        sink = StdoutSink()
        outcome = await session.execute(CODE, sink, None)
        if sink.stdout != "1\n" or outcome.exit_code not in (0, None):
            raise RuntimeError(f"in-process run gave {outcome} and stdout {sink.stdout!r}")

    async def inproc_batch(self, n: int, stream: bool) -> list[float]:
        session = self.inproc[1]
        # None: try the websocket (it works on both generations); False: the REST loop
        session.runs.stream_execute = None if stream else False
        sink = StdoutSink()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await session.execute(CODE, sink, None)
            times.append((time.perf_counter() - t0) * 1000)
        if stream and session.runs.stream_execute is not True:
            raise RuntimeError("the in-process session did not use the execute websocket")
        return times

    # -- the measurement ----------------------------------------------------------------
    async def measure(self) -> None:
        iters, warmup, batch = (60, 10, 10) if self.quick else (300, 30, 20)
        paced_runs = 40 if self.quick else 200
        assert self.sdk is not None
        sdk = self.sdk
        sdk_calls = 0

        async def sdk_batch(n: int) -> list[float]:
            nonlocal sdk_calls
            got = await sdk.batch(n)
            sdk_calls += got["calls"]
            return list(got["ms"])

        async def alternate(sides: dict[str, Any]) -> dict[str, list[float]]:
            for fn in sides.values():
                await fn(warmup)
            samples: dict[str, list[float]] = {name: [] for name in sides}
            order = list(sides)
            for _ in range(iters // batch):
                for name in order:
                    samples[name] += await sides[name](batch)
                # rotate, so that no side always follows the same one
                order = order[1:] + order[:1]
            return samples

        # Phase 1, the goal: runbridge (through the daemon) and the SDK, nothing else running.
        samples = await alternate({"runbridge": self.rb_batch, "sdk": sdk_batch})
        sdk_calls_head_to_head = sdk_calls
        # Phase 1b, also a goal: at an editor's pace, one run every PACE_S, taking turns
        # (which side goes first alternates). Every process has been idle before each run,
        # as when a user runs a line, reads, runs the next.
        paced: dict[str, list[float]] = {"runbridge": [], "sdk": []}
        pair = [("runbridge", self.rb_batch), ("sdk", sdk_batch)]
        for i in range(paced_runs):
            for name, fn in pair if i % 2 == 0 else pair[::-1]:
                await asyncio.sleep(PACE_S)
                paced[name] += await fn(1)
        # Phase 2, information: runbridge's session in this process (no daemon), on the
        # websocket and on the REST loop, against the SDK again. A separate phase, and a
        # session opened only now: a third client taking turns on 2 cores, or even its
        # idle kernel, would weigh on the figures of phase 1.
        inproc: dict[str, list[float]] = {}
        if self.with_inproc:
            assert self.emu is not None
            await self.start_inproc(self.emu.url)
            inproc = await alternate(
                {
                    "inproc_stream": lambda n: self.inproc_batch(n, True),
                    "inproc_rest": lambda n: self.inproc_batch(n, False),
                    "sdk": sdk_batch,
                }
            )
        sdk_calls = sdk_calls_head_to_head
        rb_ms, sdk_ms = samples["runbridge"], samples["sdk"]
        self.info["iterations"] = len(rb_ms)
        self.info["warmup"] = warmup
        self.info["batch"] = batch
        self.info["sdk_http_calls_per_run"] = sdk_calls / len(sdk_ms)
        for q, label in ((50, "p50"), (99, "p99")):
            r, s = pct(rb_ms, q), pct(sdk_ms, q)
            self.rows.append(
                Row(
                    f"trivial_run_{label}_ms",
                    f"trivial run {label} (ms)",
                    r,
                    s,
                    "runbridge <= SDK",
                    r <= s,
                    {"runbridge_minus_sdk_ms": r - s, "ratio": r / s},
                )
            )
        for q, label in ((0, "min"), (90, "p90")):
            r, s = pct(rb_ms, q), pct(sdk_ms, q)
            self.rows.append(
                Row(f"trivial_run_{label}_ms", f"trivial run {label} (ms)", r, s, "info", None)
            )
        self.info["paced_runs"] = len(paced["runbridge"])
        for q, label, goal in ((50, "p50", True), (90, "p90", True), (99, "p99", False)):
            r, s = pct(paced["runbridge"], q), pct(paced["sdk"], q)
            self.rows.append(
                Row(
                    f"paced_run_{label}_ms",
                    f"run every {PACE_S * 1000:g} ms, {label} (ms)",
                    r,
                    s,
                    "runbridge <= SDK" if goal else "info",
                    r <= s if goal else None,
                    {"runbridge_minus_sdk_ms": r - s, "ratio": r / s},
                )
            )
        for name, label in (
            ("inproc_stream", "in-process session, websocket"),
            ("inproc_rest", "in-process session, REST loop"),
        ):
            if name in inproc:
                for q in (50, 99):
                    r, s = pct(inproc[name], q), pct(inproc["sdk"], q)
                    self.rows.append(
                        Row(f"{name}_p{q}_ms", f"{label} p{q} (ms)", r, s, "info (no daemon)", None)
                    )
        self.info["samples_ms"] = {k: [round(v, 3) for v in vs] for k, vs in samples.items()}
        self.info["paced_samples_ms"] = {k: [round(v, 3) for v in vs] for k, vs in paced.items()}
        self.info["in_process_samples_ms"] = {
            k: [round(v, 3) for v in vs] for k, vs in inproc.items()
        }

    async def run(self) -> None:
        python = await asyncio.to_thread(sdk_python)
        if python is None:
            raise RuntimeError("no backend.ai-client SDK venv (see tests/backendai/sdk_venv.py)")
        self.emu = EmulatorProcess(
            generation=self.generation,
            access_key=AK,
            secret_key=SK,
            rate_limit=10**9,
            scheduling_delay=0.05,
        )
        try:
            url = await asyncio.to_thread(self.emu.start)
            self.info["emulator"] = url
            sdk_cwd = self.home / "sdk"
            sdk_cwd.mkdir()
            # start both sessions at once (each waits for its kernel)
            rb_task = asyncio.create_task(self.start_daemon(url))
            try:
                self.sdk, hello = await SdkWorker.start(python, url, sdk_cwd)
            finally:
                await rb_task
            first = hello["first"]
            out = "".join(d for kind, d in first["console"] if kind == "stdout")
            if out != "1\n" or first["statuses"][-1] != "finished":
                raise RuntimeError(f"SDK run of {CODE!r} gave {first}")
            self.info["sdk_api_version"] = hello["api_version"]
            await self.check_rb_output()
            self.info["runbridge_path"] = await self.probe_rb_path()
            self.info["sdk_path"] = "REST query/continue loop (sync Session, execute)"
            await self.measure()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.inproc is not None:
            backend, session = self.inproc
            with contextlib.suppress(Exception):
                await session.close()
            await backend.aclose()
            self.inproc = None
        if self.rb is not None:
            with contextlib.suppress(Exception):
                await self.rb.request("runbridge/closeSession", {"name": RB_SESSION}, 30)
            code = await self.rb.close()
            if code != 0:
                print(f"warning: daemon exit code {code}", file=sys.stderr)
            self.rb = None
        if self.sdk is not None:
            await self.sdk.close()
            self.sdk = None
        if self.emu is not None:
            # both sides destroyed their session; the emulator ends it in the background
            left: list[str] = []
            for _ in range(50):
                with contextlib.suppress(Exception):
                    state = await asyncio.to_thread(self.emu.state)
                    left = [s["name"] for s in state["sessions"] if s["status"] != "TERMINATED"]
                if not left:
                    break
                await asyncio.sleep(0.1)
            if left:
                print(f"warning: sessions not terminated: {left}", file=sys.stderr)
            await asyncio.to_thread(self.emu.stop)
            self.emu.kill()
            self.emu = None


def print_table(rows: list[Row]) -> None:
    table = [("figure", "runbridge", "SDK", "rb - SDK", "goal", "result")]
    for r in rows:
        table.append(
            (
                r.name,
                fmt(r.runbridge),
                fmt(r.sdk),
                "-" if r.sdk is None else f"{r.runbridge - r.sdk:+.2f}",
                r.goal,
                "-" if r.passed is None else ("PASS" if r.passed else "MISS"),
            )
        )
    print_rows(table)


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbbench-bai-"))
    bench = BackendAIBench(args, home)
    started = time.time()
    try:
        await bench.run()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    info = bench.info
    print(
        f"\ngeneration {args.generation}: {info['iterations']} runs each after "
        f"{info['warmup']} warm-up, batches of {info['batch']} alternating; then "
        f"{info['paced_runs']} runs each taking turns, {PACE_S * 1000:g} ms apart"
    )
    print(f"runbridge path: {info['runbridge_path']}")
    print(
        f"SDK path:       {info['sdk_path']}, "
        f"{info['sdk_http_calls_per_run']:.2f} execute calls per run"
    )
    print(
        "forcing the daemon onto the REST loop: no setting (session.py picks the websocket "
        "whenever the manager has it);"
    )
    if any(r.key.startswith("inproc_rest") for r in bench.rows):
        print("  the 'in-process session, REST loop' rows set stream_execute = False instead")
    print()
    print_table(bench.rows)
    return finish(bench.rows, started, args.json, quick=args.quick, info=info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 runs each instead of 300")
    parser.add_argument(
        "--generation", choices=("old", "new"), default="old", help="emulated manager"
    )
    parser.add_argument("--json", help="also write the figures and samples to this path")
    parser.add_argument(
        "--no-in-process",
        action="store_true",
        help="skip the informational in-process (no daemon) websocket / REST rows",
    )
    args = parser.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
