"""The "language" section of bench.py: completion and hover from the live kernel.

Timings only (milliseconds); bench.py turns them into its rows. The daemon side is
``textDocument/completion`` / ``textDocument/hover`` on an open document bound to the
``default`` session (idle local kernel), from request to parsed reply; the direct
side is ``complete_request`` through jupyter_client to the benchmark's own kernel,
until its ``complete_reply``. Both kernels hold the same names.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

SESSION = "default"
URI = "file:///bench/language.py"
SETUP = (
    "kernel_only_name_42 = 1\n"
    "def add_things(a, b=1, *rest, key=None):\n"
    "    '''Add things up.'''\n"
    "    return a\n"
)
#: Line 0 is completed at its end, line 1 hovered.
TEXT = "kernel_only\nadd_things(1, 2)\n"
COMPLETE_CODE = "kernel_only"


def _at(line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": URI}, "position": {"line": line, "character": character}}


async def prepare(rb: Any, timeout: float) -> None:
    """Define the names in the daemon's ``default`` session and open the document."""
    result = await rb.request("runbridge/run", {"session": SESSION, "code": SETUP}, timeout)
    assert result["status"] == "finished", result
    rb.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": TEXT}},
    )
    # a fresh kernel's first completion loads jedi: wait until the kernel answers
    deadline = time.perf_counter() + 60
    while not (await daemon_complete(rb))[1]:
        assert time.perf_counter() < deadline, "the daemon never completed"
        await asyncio.sleep(0.2)


async def daemon_complete(rb: Any) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = await rb.request("textDocument/completion", _at(0, len(COMPLETE_CODE)), 30)
    elapsed = (time.perf_counter() - t0) * 1000
    return elapsed, sum(i["label"] == "kernel_only_name_42" for i in result["items"])


async def daemon_hover(rb: Any) -> float:
    t0 = time.perf_counter()
    result = await rb.request("textDocument/hover", _at(1, 3), 30)
    elapsed = (time.perf_counter() - t0) * 1000
    assert result is not None and "Add things up." in result["contents"]["value"], result
    return elapsed


async def direct_complete(kc: Any) -> tuple[float, int]:
    t0 = time.perf_counter()
    msg_id = kc.complete(COMPLETE_CODE, len(COMPLETE_CODE))
    while True:
        reply = await kc.get_shell_msg()
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = (time.perf_counter() - t0) * 1000
    return elapsed, reply["content"]["matches"].count("kernel_only_name_42")


async def idle_completion(rb: Any, kc: Any, iters: int, warmup: int) -> tuple[list[float], ...]:
    """Interleaved daemon and direct completions (each checked to offer the name)."""
    for _ in range(warmup):
        await daemon_complete(rb)
        await direct_complete(kc)
    daemon: list[float] = []
    direct: list[float] = []
    for _ in range(iters):
        elapsed, found = await daemon_complete(rb)
        assert found == 1, "the daemon's completion missed the name"
        daemon.append(elapsed)
        elapsed, found = await direct_complete(kc)
        assert found == 1, "the direct completion missed the name"
        direct.append(elapsed)
    return daemon, direct


async def hovers(rb: Any, iters: int) -> list[float]:
    return [await daemon_hover(rb) for _ in range(iters)]


async def busy_completion(rb: Any, iters: int, timeout: float) -> tuple[list[float], int]:
    """Completions while a run sleeps in the session: their times, and how many offered
    the name (answered on the control channel)."""
    params = {"session": SESSION, "code": "import time; time.sleep(120)"}
    sleeper = asyncio.ensure_future(rb.request("runbridge/run", params, timeout))
    elapsed: list[float] = []
    found = 0
    try:
        await asyncio.sleep(0.5)  # the run has started
        for _ in range(iters):
            ms, hit = await daemon_complete(rb)
            assert not sleeper.done(), "the run ended early"
            elapsed.append(ms)
            found += hit
            await asyncio.sleep(0.05)
    finally:
        await rb.request("runbridge/interrupt", {"session": SESSION}, 30)
        await sleeper
    return elapsed, found
