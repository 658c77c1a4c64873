"""Terminals on every backend: echo, resize, the work folder, exit, close."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

import pytest

from tests.conformance.conftest import UNSUPPORTED, Target
from tests.e2e.helpers import rpc_error, screen, type_in, wait_text

pytestmark = pytest.mark.timeout(90)


async def test_terminal_echo_resize_exit_and_close(target: Target) -> None:
    daemon, name = target.daemon, "c-term"
    if not target.terminals:
        error = await rpc_error(daemon, "runbridge/openTerminal", {"session": name})
        assert error.code == UNSUPPORTED, error
        assert "terminals" in error.message and target.url in error.message, error.message
        result = await daemon.run("print('still here')", session=name)
        assert daemon.text(result["runId"]) == "still here\n"
        return
    opened = await daemon.request(
        "runbridge/openTerminal", {"session": name, "rows": 24, "cols": 80}
    )
    tid = opened["terminalId"]
    assert isinstance(tid, str) and tid
    assert target.server_terminals() in (None, 1)
    type_in(daemon, tid, "echo hi-$((40+2))\r")
    await wait_text(daemon, tid, "hi-42")
    type_in(daemon, tid, 'echo "size=<$(stty size)>"\r')
    await wait_text(daemon, tid, "size=<24 80>")
    daemon.notify("runbridge/resizeTerminal", {"terminalId": tid, "rows": 33, "cols": 101})
    await asyncio.sleep(0.2)
    type_in(daemon, tid, 'echo "size=<$(stty size)>"\r')
    await wait_text(daemon, tid, "size=<33 101>")
    type_in(daemon, tid, "printf 'x\\303\\274y\\n'\r")  # multi-byte output
    await wait_text(daemon, tid, "xüy")
    # the shell starts in the session's work folder, the kernel's
    type_in(daemon, tid, 'echo "pwd=<$(pwd -P)>"\r')
    await wait_text(daemon, tid, "pwd=</")
    result = await daemon.run("import os\nprint(os.path.realpath(os.getcwd()))", session=name)
    workdir = daemon.text(result["runId"]).strip()
    assert f"pwd=<{workdir}>" in screen(daemon, tid), (workdir, screen(daemon, tid))
    assert PurePosixPath(workdir).is_absolute()
    # closing it ends it: the exit is reported and the id is gone
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    await daemon.wait_for(lambda: target.server_terminals() in (None, 0), timeout=5)
    error = await rpc_error(daemon, "runbridge/closeTerminal", {"terminalId": tid})
    assert error.code == -32013 and tid in error.message, error  # TerminalNotFound
    # a shell that exits by itself is reported with its code where the backend has one
    tid = (await daemon.request("runbridge/openTerminal", {"session": name}))["terminalId"]
    type_in(daemon, tid, "echo ready-$((1+1))\r")
    await wait_text(daemon, tid, "ready-2")
    type_in(daemon, tid, "exit 7\r")
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=15)
    assert daemon.terminal_exits[tid] == (7 if target.backend == "local" else None)
    await daemon.wait_for(lambda: target.server_terminals() in (None, 0), timeout=5)
    error = await rpc_error(daemon, "runbridge/closeTerminal", {"terminalId": tid})
    assert error.code == -32013 and tid in error.message, error
    # the session is unaffected by its terminals
    result = await daemon.run("print(6 * 7)", session=name)
    assert daemon.text(result["runId"]) == "42\n"
