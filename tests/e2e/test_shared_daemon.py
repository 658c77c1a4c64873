"""The shared daemon (``runbridge serve --socket``): sessions outlive their editor.

Each test starts the real daemon as a process on a Unix socket and connects to it
like an editor does (LSP framing over the socket), so a window reload is: the
editor sends ``shutdown`` + ``exit`` (or just disappears), a new one connects.
"""

from __future__ import annotations

import asyncio
import stat
import subprocess
from pathlib import Path

import psutil

from tests.e2e.raw_wire import RUNBRIDGE
from tests.e2e.shared_daemon import Editor, SharedDaemon


async def test_sessions_survive_the_editor_leaving_and_coming_back(shared: SharedDaemon) -> None:
    first = await Editor.connect(shared.sock)
    caps = await first.initialize()
    assert caps["capabilities"]["experimental"]["runbridge"]["protocolVersion"] == 1
    code = "import os\nx = 41\nprint(os.getpid())"
    result = await first.request("runbridge/run", {"session": "keep", "code": code})
    assert result["status"] == "finished"
    pid = int(first.stdout(result["runId"]))
    # the session's kernel (a spare kernel may run beside it)
    kernel = next(k for k in shared.kernels() if k.pid == pid)
    await first.leave()  # a window reload: shutdown + exit
    await asyncio.sleep(0.5)
    assert shared.proc.poll() is None, "the shared daemon must outlive its editor"
    assert kernel.is_running()

    second = await Editor.connect(shared.sock)
    await second.initialize()
    listed = await second.request("runbridge/listSessions", {})
    assert [s["name"] for s in listed["sessions"]] == ["keep"]
    code = "print(x + 1, os.getpid())"
    again = await second.request("runbridge/run", {"session": "keep", "code": code})
    assert second.stdout(again["runId"]) == f"42 {pid}\n"  # the same kernel, its variable kept
    await second.leave()


async def test_a_new_editor_takes_over_and_the_old_one_is_hung_up(shared: SharedDaemon) -> None:
    old = await Editor.connect(shared.sock)
    await old.initialize()
    await old.request("runbridge/run", {"session": "take", "code": "y = 'kept'"})
    new = await Editor.connect(shared.sock)
    await new.initialize()
    assert await old.hung_up(), "the previous editor's connection was not closed"
    result = await new.request("runbridge/run", {"session": "take", "code": "print(y)"})
    assert new.stdout(result["runId"]) == "kept\n"
    await new.leave()


async def test_editor_that_vanishes_mid_run_leaves_the_run_finishing(
    shared: SharedDaemon,
) -> None:
    first = await Editor.connect(shared.sock)
    await first.initialize()
    await first.request("runbridge/openSession", {"name": "bg"})
    first._send(
        {
            "jsonrpc": "2.0",
            "id": 99,
            "method": "runbridge/run",
            "params": {"session": "bg", "code": "import time\ntime.sleep(1)\nz = 'done'"},
        }
    )
    await first.writer.drain()
    first.writer.close()  # the editor dies: no shutdown, no exit
    second = await Editor.connect(shared.sock)
    await second.initialize()
    result = await second.request("runbridge/run", {"session": "bg", "code": "print(z)"})
    assert second.stdout(result["runId"]) == "done\n"  # queued behind the first run
    await second.leave()


async def test_editor_that_leaves_mid_run_is_answered_and_the_run_finishes(
    shared: SharedDaemon,
) -> None:
    """A window reload during a run: ``shutdown`` is answered (pygls' shutdown cancels
    the requests in flight, but a shared daemon's run outlives its editor)."""
    first = await Editor.connect(shared.sock)
    await first.initialize()
    await first.request("runbridge/openSession", {"name": "bg"})
    code = "import time\ntime.sleep(1.5)\nz = 'done'"
    first._send(
        {"jsonrpc": "2.0", "id": 99, "method": "runbridge/run",
         "params": {"session": "bg", "code": code}}
    )  # fmt: skip
    await first.writer.drain()
    async with asyncio.timeout(10):
        while (await first.request("runbridge/listSessions", {}))["sessions"][0]["state"] != "busy":
            await asyncio.sleep(0.05)
    assert await first.request("shutdown") is None  # an error reply raises
    first.notify("exit")
    await first.writer.drain()
    first.writer.close()
    second = await Editor.connect(shared.sock)
    await second.initialize()
    result = await second.request("runbridge/run", {"session": "bg", "code": "print(z)"})
    assert result["status"] == "finished"
    assert second.stdout(result["runId"]) == "done\n"  # not interrupted: it finished
    await second.leave()


async def test_input_with_no_editor_interrupts_the_run(shared: SharedDaemon) -> None:
    first = await Editor.connect(shared.sock)
    await first.initialize()
    await first.request("runbridge/openSession", {"name": "ask"})
    first._send(
        {
            "jsonrpc": "2.0",
            "id": 77,
            "method": "runbridge/run",
            "params": {
                "session": "ask",
                "code": "import time\ntime.sleep(1)\ntry:\n    v = input('q? ')\n"
                "except KeyboardInterrupt:\n    v = 'interrupted'\n",
            },
        }
    )
    await first.writer.drain()
    first.writer.close()
    await asyncio.sleep(2.5)
    second = await Editor.connect(shared.sock)
    await second.initialize()
    result = await second.request("runbridge/run", {"session": "ask", "code": "print(v)"})
    assert second.stdout(result["runId"]) == "interrupted\n"
    assert "asked for input with no editor connected" in shared.log()
    await second.leave()


async def test_linger_expiry_closes_every_session_and_exits(tmp_path: Path) -> None:
    daemon = SharedDaemon(tmp_path / "home", linger=1.5)
    try:
        editor = await Editor.connect(daemon.sock)
        await editor.initialize()
        await editor.request("runbridge/run", {"session": "brief", "code": "pass"})
        kernels = daemon.kernels()
        assert kernels
        assert stat.S_IMODE(daemon.sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(daemon.sock.parent.stat().st_mode) == 0o700
        await editor.leave()
        assert await daemon.exited(15) == 0
        assert not daemon.sock.exists()
        _, alive = psutil.wait_procs(kernels, timeout=5)
        assert not alive, f"kernels left running: {alive}"
        assert "no editor for 1.5s" in daemon.log()
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()


async def test_stop_daemon_closes_everything_now(shared: SharedDaemon) -> None:
    editor = await Editor.connect(shared.sock)
    await editor.initialize()
    await editor.request("runbridge/run", {"session": "gone", "code": "pass"})
    kernels = shared.kernels()
    assert await editor.request("runbridge/stopDaemon", {}) == {}
    _, alive = psutil.wait_procs(kernels, timeout=5)
    assert not alive
    editor.writer.close()
    assert await shared.exited(10) == 0


async def test_a_second_daemon_on_a_live_socket_refuses_and_a_stale_one_is_replaced(
    shared: SharedDaemon, tmp_path: Path
) -> None:
    editor = await Editor.connect(shared.sock)  # the first one is up
    await editor.initialize()
    rival = subprocess.run(
        [*RUNBRIDGE, "serve", "--socket", str(shared.sock)],
        env=shared.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert rival.returncode == 1
    assert f"another runbridge daemon already serves {shared.sock}" in shared.log()
    await editor.request("runbridge/listSessions", {})  # the first one still serves
    await editor.leave()
    shared.proc.kill()  # dies without removing its socket
    shared.proc.wait(10)
    assert shared.sock.exists()
    successor = SharedDaemon(shared.home, linger=600)
    try:
        editor = await Editor.connect(successor.sock)
        await editor.initialize()
        assert (await editor.request("runbridge/listSessions", {}))["sessions"] == []
        await editor.leave()
    finally:
        successor.proc.terminate()
        successor.proc.wait(10)
