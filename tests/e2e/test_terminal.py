"""A shell in a PTY over the real protocol on the ``local`` backend.

Echo, resize, the work folder, exit codes and close, which every backend shares, are in
tests/conformance; here: TERM, multi-byte input and output, input after close, errors,
closing the session, unread input bounded.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator

import psutil
import pytest
import pytest_asyncio

from tests.e2e.conftest import Daemon, start_daemon
from tests.e2e.helpers import rpc_error, screen, type_in, wait_text


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Daemon]:
    """This module's daemon, whose shells get a HOME of their own.

    An interactive shell sources ``~/.bashrc``; the tests must not depend on what
    the machine's user put there (a pyenv rehash lock can stall it for a minute).
    """
    base = tmp_path_factory.mktemp("rb-term")
    user_home = base / "user-home"
    user_home.mkdir()
    (user_home / ".bashrc").write_text("PS1='$ '\n")
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # read when the daemon starts
            env.setenv("HOME", str(user_home))
            env.setenv("SHELL", "/bin/bash")
            started = await stack.enter_async_context(start_daemon(base / "rb"))
        yield started


async def open_terminal(
    daemon: Daemon, session: str, rows: int = 24, cols: int = 200
) -> tuple[str, str]:
    """Open ``session`` and a terminal on it; returns (terminalId, workdir)."""
    info = await daemon.request("runbridge/openSession", {"name": session})
    result = await daemon.request(
        "runbridge/openTerminal", {"session": session, "rows": rows, "cols": cols}
    )
    terminal_id = result["terminalId"]
    assert isinstance(terminal_id, str) and terminal_id
    return terminal_id, info["workdir"]


async def test_input_output_cwd_and_term(daemon: Daemon) -> None:
    tid, workdir = await open_terminal(daemon, "t-basic")
    type_in(daemon, tid, "echo hi-$((40+2))\n")
    await wait_text(daemon, tid, "hi-42")

    type_in(daemon, tid, 'echo "PWD=<$(pwd -P)>"; echo "TERM=<$TERM>"\n')
    out = await wait_text(daemon, tid, "TERM=<xterm-256color>")
    assert f"PWD=<{os.path.realpath(workdir)}>" in out

    # input with multi-byte characters reaches the shell intact
    type_in(daemon, tid, "echo \"in:$(printf 'ü€漢' | od -An -tx1 | tr -d ' \\n')\"\n")
    out = await wait_text(daemon, tid, "in:c3bc")
    assert "in:" + "ü€漢".encode().hex() in out

    # the kernel session is unaffected by the terminal
    result = await daemon.run("print(6 * 7)", session="t-basic")
    assert daemon.text(result["runId"]) == "42\n"
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})


async def test_multibyte_output_is_never_split(daemon: Daemon) -> None:
    tid, _ = await open_terminal(daemon, "t-utf8")
    count = 5000
    type_in(
        daemon,
        tid,
        f"printf 'BEG%s\\n' IN; printf 'é漢%.0s' $(seq {count}); printf '\\nFIN%s\\n' ISH\n",
    )
    out = await wait_text(daemon, tid, "FINISH", timeout=30)
    assert "\ufffd" not in out
    body = out[out.index("BEGIN") + len("BEGIN") : out.index("FINISH")]
    assert body.strip() == "é漢" * count
    chunks = daemon.terminal_data[tid]
    assert len(chunks) > 1
    for chunk in chunks:
        assert isinstance(chunk, str)
        chunk.encode("utf-8")  # strict: no lone surrogates
        assert "\ufffd" not in chunk
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})


async def test_close_terminal_then_input_is_ignored(daemon: Daemon) -> None:
    tid, _ = await open_terminal(daemon, "t-close")
    type_in(daemon, tid, 'echo "pid=<$$>"\n')
    found = await daemon.wait_for(lambda: re.search(r"pid=<(\d+)>", screen(daemon, tid)))
    shell_pid = int(found.group(1))
    assert _alive(shell_pid)

    result = await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    assert result == {"terminalId": tid}
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    await daemon.wait_for(lambda: not _alive(shell_pid), timeout=5)

    seen = len(screen(daemon, tid))
    type_in(daemon, tid, "echo after-close\n")
    daemon.notify("runbridge/resizeTerminal", {"terminalId": tid, "rows": 10, "cols": 10})
    # the daemon is still there and answers
    sessions = await daemon.request("runbridge/listSessions")
    assert "t-close" in {s["name"] for s in sessions["sessions"]}
    result = await daemon.run("print('still fine')", session="t-close")
    assert daemon.text(result["runId"]) == "still fine\n"
    assert "after-close" not in screen(daemon, tid)[seen:]
    # ... and the editor is told why, in the log
    await daemon.wait_for(
        lambda: any(tid in m.message for m in daemon.client.log_messages), timeout=5
    )

    error = await rpc_error(daemon, "runbridge/closeTerminal", {"terminalId": tid})
    assert tid in error.message


async def test_unknown_terminal_and_session_errors(daemon: Daemon) -> None:
    error = await rpc_error(daemon, "runbridge/closeTerminal", {"terminalId": "no-such-term-1"})
    assert "no-such-term-1" in error.message
    assert error.code == -32013
    # like run and upload, openTerminal opens a session that is not open yet
    opened = await daemon.request(
        "runbridge/openTerminal", {"session": "t-never-opened", "rows": 24, "cols": 80}
    )
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "t-never-opened" in [s["name"] for s in sessions]
    await daemon.request("runbridge/closeTerminal", {"terminalId": opened["terminalId"]})
    error = await rpc_error(daemon, "runbridge/openTerminal", {"session": "t-x", "rows": 0})
    assert error.code == -32602
    assert "rows" in error.message
    # bad notifications do not break the daemon
    type_in(daemon, "no-such-term-2", "echo x\n")
    daemon.notify("runbridge/terminalInput", {"terminalId": "no-such-term-3"})
    assert isinstance((await daemon.request("runbridge/listSessions"))["sessions"], list)


async def test_closing_the_session_ends_its_terminals(daemon: Daemon) -> None:
    tid, _ = await open_terminal(daemon, "t-session-close")
    other, _ = await open_terminal(daemon, "t-session-keep")
    type_in(daemon, tid, "echo up-$((2+3))\n")
    await wait_text(daemon, tid, "up-5")
    await daemon.request("runbridge/closeSession", {"name": "t-session-close"})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    # the other session's terminal is untouched
    assert other not in daemon.terminal_exits
    type_in(daemon, other, "echo keep-$((3+4))\n")
    await wait_text(daemon, other, "keep-7")
    await daemon.request("runbridge/closeTerminal", {"terminalId": other})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


async def test_input_the_shell_does_not_read_is_bounded(daemon: Daemon) -> None:
    """A paste of 24 MB into a terminal whose program reads nothing: the daemon holds at
    most 1 MB of it (the rest is dropped, with a warning), and the terminal still closes."""
    terminal_id, _ = await open_terminal(daemon, "t-paste")
    type_in(daemon, terminal_id, "stty -icanon -echo; echo reading-$((6*7)); sleep 60\n")
    await wait_text(daemon, terminal_id, "reading-42")
    pid = daemon.client._server.pid  # type: ignore[union-attr]
    before = psutil.Process(pid).memory_info().rss
    for _ in range(24):
        type_in(daemon, terminal_id, "x" * (1 << 20))
    await daemon.request("runbridge/listSessions")  # every paste was handled
    grown = (psutil.Process(pid).memory_info().rss - before) / (1 << 20)
    assert grown < 12, f"the daemon holds {grown:.0f} MB of unread terminal input"
    await daemon.wait_for(
        lambda: any("were dropped" in m.message for m in daemon.client.log_messages)
    )
    await daemon.request("runbridge/closeTerminal", {"terminalId": terminal_id})
    await daemon.wait_for(lambda: terminal_id in daemon.terminal_exits)
