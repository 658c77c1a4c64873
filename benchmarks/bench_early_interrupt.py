#!/usr/bin/env python
"""An interrupt sent right behind a run: what ipykernel does with it, and what runbridge does.

    python benchmarks/bench_early_interrupt.py [--reps N]

1. ipykernel alone (jupyter_client, IPC transport): ``execute`` of a 3 s sleep, then
   ``interrupt_kernel`` (SIGINT) after a delay of 0 to 20 ms, ``--reps`` times per delay
   (default 10). Each try is counted as *taken* (the reply is a KeyboardInterrupt within
   2 s), *lost* (the sleep ran to its end: the kernel ignored the SIGINT, which it does
   between requests) or *dropped* (the kernel went idle and never replied: the SIGINT hit
   the request's handler outside the code, "KeyboardInterrupt caught in kernel").
2. runbridge (a standalone daemon over stdio, a ``local`` session): ``runbridge/run`` of a
   30 s sleep and ``runbridge/interrupt`` written right behind it, ``--reps`` times; each
   run's status and the time from the interrupt to the run's reply.

Prints a table for each part.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from bench import RpcClient, isolated_env  # noqa: E402

DELAYS_MS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)


async def reply_to(kc: Any, msg_id: str, timeout: float) -> dict[str, Any] | None:
    """The ``execute_reply`` of ``msg_id`` within ``timeout`` s, or None."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await kc.get_shell_msg(timeout=left)
        except Exception:  # queue.Empty
            return None
        if msg["parent_header"].get("msg_id") == msg_id:
            content: dict[str, Any] = msg["content"]
            return content
    return None


async def drain_iopub(kc: Any) -> None:
    while True:
        try:
            await kc.get_iopub_msg(timeout=0.05)
        except Exception:
            return


async def ipykernel_alone(reps: int, folder: Path) -> dict[float, dict[str, int]]:
    km = AsyncKernelManager(
        kernel_name="python3",
        transport="ipc",
        ip=str(folder / "k"),
        connection_file=str(folder / "kernel.json"),
    )
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    counts: dict[float, dict[str, int]] = {}
    try:
        await kc.wait_for_ready(timeout=60)
        for delay in DELAYS_MS:
            seen = counts.setdefault(delay, {"taken": 0, "lost": 0, "dropped": 0})
            for _ in range(reps):
                msg_id = kc.execute("import time; time.sleep(3)")
                await asyncio.sleep(delay / 1000)
                await km.interrupt_kernel()
                started = time.monotonic()
                reply = await reply_to(kc, msg_id, 6)
                took = time.monotonic() - started
                if reply is None:
                    seen["dropped"] += 1
                elif reply.get("ename") == "KeyboardInterrupt" and took < 2:
                    seen["taken"] += 1
                else:
                    seen["lost"] += 1
                await drain_iopub(kc)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    return counts


async def through_runbridge(reps: int, home: Path) -> list[tuple[str, float]]:
    rb = await RpcClient.spawn(isolated_env(home), home)
    outcomes: list[tuple[str, float]] = []
    try:
        await rb.initialize({})
        await rb.request("runbridge/openSession", {"name": "early"}, timeout=120)
        for i in range(reps):
            code = f"import time\ntime.sleep(30 + {i})"
            run = rb.send_request("runbridge/run", {"session": "early", "code": code})
            started = time.monotonic()  # the interrupt is written right behind the run
            await rb.request("runbridge/interrupt", {"session": "early"}, timeout=30)
            async with asyncio.timeout(60):
                result = await run
            outcomes.append((str(result.get("status")), time.monotonic() - started))
    finally:
        await rb.close()
    return outcomes


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbbench-interrupt-"))
    try:
        (home / "kernel").mkdir()
        counts = await ipykernel_alone(args.reps, home / "kernel")
        outcomes = await through_runbridge(args.reps, home / "daemon")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n1. ipykernel alone: SIGINT after execute of a 3 s sleep, {args.reps} tries per delay")
    print(f"{'delay':>8}  {'taken':>6}  {'lost':>6}  {'dropped':>8}")
    for delay, seen in counts.items():
        print(f"{delay:>6.1f} ms  {seen['taken']:>6}  {seen['lost']:>6}  {seen['dropped']:>8}")
    print(f"\n2. runbridge: interrupt written right behind a run of a 30 s sleep, {args.reps} runs")
    statuses = Counter(status for status, _ in outcomes)
    print("statuses: " + ", ".join(f"{status} {n}" for status, n in statuses.most_common()))
    ms = [took * 1000 for _, took in outcomes]
    print(f"interrupt to reply: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms")
    print("samples (ms): " + ", ".join(f"{v:.0f}" for v in ms))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="tries per delay, and runs")
    return asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
