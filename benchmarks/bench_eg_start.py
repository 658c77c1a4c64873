#!/usr/bin/env python
"""Kernel start on Jupyter Enterprise Gateway: through runbridge against plain HTTP.

    python benchmarks/bench_eg_start.py [--reps N] [--kernel python3|slow]

One Enterprise Gateway 3.3.0 from ``.venv-eg`` (``scripts/eg-venv``; the gateway of
``tests/jupyter/servers.py``: 127.0.0.1, random token, LocalProcessProxy, kernels running
the project venv's ipykernel) and one daemon (stdio JSON-RPC, the hand-written client of
``benchmarks/bench.py``, a ``jupyter`` profile with ``username`` given in
``initializationOptions``). The sides take turns, one start each per repetition:

* runbridge: ``runbridge/openSession`` of a new name, timed until its reply (the session
  ``idle``: kernel started, channels websocket open, the silent setup cell answered);
  the session is closed after, untimed.
* plain: ``POST /api/kernels`` with httpx (``env.KERNEL_USERNAME``), timed until the POST
  returns, and on until the kernel answers a ``kernel_info_request`` on its channels
  websocket (legacy JSON frames, ``websockets``): a kernel that can run code. The kernel
  is deleted after, untimed.

Prints each side's median, min and max over the repetitions, and every sample.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from bench import RpcClient, isolated_env  # noqa: E402
from tests.jupyter.servers import EG_USER, EnterpriseGateway  # noqa: E402

PROFILE = "bench-eg"


async def runbridge_start(rb: RpcClient, name: str) -> float:
    t0 = time.perf_counter()
    info = await rb.request("runbridge/openSession", {"name": name}, timeout=120)
    elapsed = time.perf_counter() - t0
    if info.get("state") != "idle" or info.get("created") is not True:
        raise RuntimeError(f"openSession answered {info}")
    await rb.request("runbridge/closeSession", {"name": name}, timeout=60)
    return elapsed


async def plain_start(gateway: EnterpriseGateway, kernel: str) -> tuple[float, float]:
    """(seconds until the POST returned, seconds until kernel_info_reply)."""
    headers = {"Authorization": f"token {gateway.token}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=120) as http:
        t0 = time.perf_counter()
        response = await http.post(
            "/api/kernels", json={"name": kernel, "env": {"KERNEL_USERNAME": EG_USER}}
        )
        posted = time.perf_counter() - t0
        response.raise_for_status()
        kernel_id = response.json()["id"]
        try:
            session = uuid.uuid4().hex
            url = f"ws://127.0.0.1:{gateway.port}/api/kernels/{kernel_id}/channels"
            async with websockets.connect(
                f"{url}?session_id={session}", additional_headers=headers, max_size=None
            ) as ws:
                msg_id = uuid.uuid4().hex
                header = {
                    "msg_id": msg_id, "msg_type": "kernel_info_request", "session": session,
                    "username": "bench", "date": "", "version": "5.3",
                }  # fmt: skip
                await ws.send(
                    json.dumps(
                        {
                            "header": header,
                            "parent_header": {},
                            "metadata": {},
                            "content": {},
                            "channel": "shell",
                            "buffers": [],
                        }
                    )
                )
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
                    parent = msg.get("parent_header", {}).get("msg_id")
                    if parent == msg_id and msg["header"]["msg_type"] == "kernel_info_reply":
                        break
            ready = time.perf_counter() - t0
        finally:
            with contextlib.suppress(httpx.HTTPError):
                await http.delete(f"/api/kernels/{kernel_id}")
    return posted, ready


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"median {statistics.median(ms):8.1f} ms   min {min(ms):8.1f}   max {max(ms):8.1f}"


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbbench-eg-"))
    gateway = EnterpriseGateway(home / "gateway")
    rb: RpcClient | None = None
    samples: dict[str, list[float]] = {"runbridge": [], "post": [], "ready": []}
    try:
        await asyncio.to_thread(gateway.start)
        env = isolated_env(home / "daemon")
        rb = await RpcClient.spawn(env, home)
        profile = {
            "type": "jupyter", "url": gateway.url, "token": gateway.token,
            "username": EG_USER, "kernel_name": args.kernel,
        }  # fmt: skip
        await rb.initialize({"profile": PROFILE, "profiles": {PROFILE: profile}})
        # warm-up, untimed: the daemon's first connection, the gateway's first kernel
        await runbridge_start(rb, "warm-up")
        await plain_start(gateway, args.kernel)
        for i in range(args.reps):
            sides = ["runbridge", "plain"] if i % 2 == 0 else ["plain", "runbridge"]
            for side in sides:
                if side == "runbridge":
                    samples["runbridge"].append(await runbridge_start(rb, f"start-{i}"))
                else:
                    posted, ready = await plain_start(gateway, args.kernel)
                    samples["post"].append(posted)
                    samples["ready"].append(ready)
        version = gateway.api("GET", "/api")
    finally:
        if rb is not None:
            await rb.close()
        await asyncio.to_thread(gateway.stop)
        shutil.rmtree(home, ignore_errors=True)
    print(
        f"\nEnterprise Gateway {version.get('gateway_version')} (jupyter_server "
        f"{version.get('version')}) on 127.0.0.1, LocalProcessProxy, kernelspec "
        f"{args.kernel!r}; {args.reps} starts per side, taking turns, after one warm-up each\n"
    )
    for label, side in (
        ("runbridge openSession until idle", "runbridge"),
        ("plain POST /api/kernels until it returns", "post"),
        ("plain POST until kernel_info_reply", "ready"),
    ):
        print(f"{label:<42}{summary(samples[side])}")
    print("\nsamples (s):")
    for side, values in samples.items():
        print(f"  {side}: {', '.join(f'{v:.3f}' for v in values)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9, help="starts per side (default 9)")
    parser.add_argument("--kernel", default="python3", help="kernelspec (python3 or slow)")
    args = parser.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
