#!/usr/bin/env python
"""Starting a user's server on a real JupyterHub: through runbridge, and with the Hub's REST API.

    python benchmarks/bench_hub_spawn.py [--quick] [--reps N] [--json PATH]

One real JupyterHub (``tests/jupyter/hub_process.py``: PyPI jupyterhub, npm
configurable-http-proxy from ``.ci-tools/chp``, DummyAuthenticator,
SimpleLocalProcessSpawner, ``slow_spawn_timeout`` 0) on 127.0.0.1, and a token of user
``alice`` with ``servers!user=alice`` and ``access:servers!user=alice``. Each repetition
starts alice's stopped server three ways, in turns (the order rotates):

* runbridge: ``runbridge/openSession`` of a new session on a ``hub_url`` profile of the
  real daemon, timed until its reply (the session idle: the hub started the server,
  then runbridge started the session's kernel on it);
* httpx: ``POST /hub/api/users/alice/server``, then ``GET …/progress`` read until the
  ``ready`` event (what runbridge does for the spawn, without the kernel);
* curl: the same two calls with ``curl`` (when it is installed).

Between two starts the server is stopped through the Hub API and waited for. After
each runbridge start, one more ``runbridge/openSession`` on the running server is timed
(the kernel and the Jupyter session only: what runbridge adds to the spawn). Prints
medians, minimum and maximum; exits 0 (no goals).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from bench import RpcClient, finish, fmt, isolated_env, print_rows  # noqa: E402
from tests.jupyter.hub_process import HubProcess  # noqa: E402

PROFILE = "bench-hub"
USER = "alice"
SCOPES = [f"servers!user={USER}", f"access:servers!user={USER}"]


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


class HubSpawnBench:
    def __init__(self, reps: int, home: Path) -> None:
        self.reps = reps
        self.home = home
        self.hub = HubProcess(home / "hub")
        self.token = ""
        self.rb: RpcClient | None = None
        self.samples: dict[str, list[float]] = {"runbridge": [], "httpx": [], "curl": []}
        self.reuse: list[float] = []
        self.sessions = 0
        self.rows: list[Row] = []
        self.info: dict[str, Any] = {}

    # -- the three ways ----------------------------------------------------------------
    async def via_runbridge(self) -> float:
        assert self.rb is not None
        self.sessions += 1
        name = f"hub-bench-{self.sessions}"
        t0 = time.perf_counter()
        info = await self.rb.request("runbridge/openSession", {"name": name}, timeout=300)
        elapsed = time.perf_counter() - t0
        assert info["state"] == "idle", info
        await self.rb.request("runbridge/closeSession", {"name": name}, timeout=60)
        return elapsed

    async def via_httpx(self) -> float:
        path = f"{self.hub.url}/hub/api/users/{USER}/server"
        headers = {"Authorization": f"token {self.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=300) as client:
            t0 = time.perf_counter()
            response = await client.post(path)
            assert response.status_code in (201, 202), response.status_code
            async with client.stream("GET", path + "/progress") as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data:"):
                        event = json.loads(line[5:])
                        if event.get("ready"):
                            return time.perf_counter() - t0
                        assert not event.get("failed"), event
        raise AssertionError("the progress stream ended without a ready event")

    async def via_curl(self) -> float:
        path = f"{self.hub.url}/hub/api/users/{USER}/server"
        auth = ["-H", f"Authorization: token {self.token}"]
        t0 = time.perf_counter()
        post = await asyncio.create_subprocess_exec(
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", *auth, path,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        out, _ = await post.communicate()
        assert out.decode() in ("201", "202"), out
        follow = await asyncio.create_subprocess_exec(
            "curl", "-s", "-N", *auth, path + "/progress", stdout=subprocess.PIPE
        )
        assert follow.stdout is not None
        try:
            async for raw in follow.stdout:
                if raw.startswith(b"data:") and json.loads(raw[5:]).get("ready"):
                    return time.perf_counter() - t0
        finally:
            with contextlib.suppress(ProcessLookupError):
                follow.kill()
            await follow.wait()
        raise AssertionError("curl: the progress stream ended without a ready event")

    # -- the run -----------------------------------------------------------------------
    async def stop_server(self) -> None:
        await asyncio.to_thread(self.hub.stop_server, USER)

    async def run(self) -> None:
        await asyncio.to_thread(self.hub.start)
        self.info["hub"] = f"jupyterhub {self.hub.hub_api('GET', '/')['version']}"
        self.token = await asyncio.to_thread(self.hub.user_token, USER, SCOPES)
        env = isolated_env(self.home / "daemon")
        self.rb = await RpcClient.spawn(env, self.home)
        await self.rb.initialize(
            {
                "profile": PROFILE,
                "profiles": {
                    PROFILE: {"type": "jupyter", "hub_url": self.hub.url, "token": self.token}
                },
            }
        )
        ways = [("runbridge", self.via_runbridge), ("httpx", self.via_httpx)]
        if shutil.which("curl"):
            ways.append(("curl", self.via_curl))
        # a warm-up start (imports, the kernelspec cache, the first oauth client)
        await self.via_runbridge()
        await self.stop_server()
        for rep in range(self.reps):
            order = ways[rep % len(ways) :] + ways[: rep % len(ways)]
            for key, way in order:
                seconds = await way()
                self.samples[key].append(seconds)
                print(f"  rep {rep + 1} {key}: {seconds:.2f} s", file=sys.stderr)
                if key == "runbridge":
                    self.reuse.append(await self.via_runbridge())  # the server runs
                await self.stop_server()
        self.rows = self.figures()

    def figures(self) -> list[Row]:
        rows: list[Row] = []
        httpx_med = statistics.median(self.samples["httpx"])
        names = {
            "runbridge": "openSession, server stopped, until idle (runbridge)",
            "httpx": "POST server + progress until ready (httpx)",
            "curl": "POST server + progress until ready (curl)",
        }
        for key, name in names.items():
            values = self.samples[key]
            if not values:
                continue
            rows.append(
                Row(
                    key,
                    name,
                    statistics.median(values),
                    "s",
                    None if key == "httpx" else httpx_med,
                    "-",
                    None,
                    {"samples_s": [round(v, 3) for v in values]},
                )
            )
        if self.reuse:
            rows.append(
                Row(
                    "reuse",
                    "openSession, server running (kernel + session only)",
                    statistics.median(self.reuse),
                    "s",
                    None,
                    "-",
                    None,
                    {"samples_s": [round(v, 3) for v in self.reuse]},
                )
            )
        return rows

    async def stop(self) -> None:
        if self.rb is not None:
            code = await self.rb.close()
            if code != 0:
                print(f"warning: daemon exit code {code}", file=sys.stderr)
            self.rb = None
        await asyncio.to_thread(self.hub.stop, 10)


def print_table(rows: list[Row]) -> None:
    table = [("figure", "median", "min", "max", "n")]
    for r in rows:
        samples = r.detail["samples_s"]
        table.append(
            (r.name, fmt(r.value, "s"), fmt(min(samples), "s"), fmt(max(samples), "s"),
             str(len(samples)))
        )  # fmt: skip
    print_rows(table)


async def amain(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="rbbench-hub-"))
    bench = HubSpawnBench(args.reps or (2 if args.quick else 5), home)
    started = time.time()
    try:
        await bench.run()
    finally:
        await bench.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n{bench.info.get('hub', 'jupyterhub')} on 127.0.0.1, SimpleLocalProcessSpawner\n")
    print_table(bench.rows)
    by_key = {r.key: r.value for r in bench.rows}
    if "runbridge" in by_key and "httpx" in by_key:
        added = by_key["runbridge"] - by_key["httpx"]
        print(f"\nrunbridge - httpx (medians): {added:.2f} s", end="")
        if "reuse" in by_key:
            print(f"; an open on the running server: {by_key['reuse']:.2f} s", end="")
        print()
    return finish(bench.rows, started, args.json, quick=args.quick, info=bench.info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repetitions instead of 5")
    parser.add_argument("--reps", type=int, default=0, help="repetitions (overrides --quick)")
    parser.add_argument("--json", help="also write the figures and samples to this path")
    args = parser.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
