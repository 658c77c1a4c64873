"""Dropped stream websockets, through the real daemon against the emulator: a terminal
reconnects to the same shell (or ends saying the session is gone); a run whose execute
websocket drops ends ``failed`` saying it cannot be resumed, and the session goes on."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.backendai.daemon_helpers import daemon_in, init_options
from tests.backendai_emulator import Emulator
from tests.e2e.conftest import Daemon, start_run
from tests.e2e.helpers import open_session, screen, type_in, wait_text

pytestmark = pytest.mark.timeout(60)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-bai-reconnect-"))
    async with daemon_in(home, init_options(emu.url)) as started:
        yield started


def execute_connects(emu: Emulator, session: str) -> int:
    path = f"/stream/session/{session}/execute"
    return sum(1 for r in emu.requests_log if r["path"] == path)


async def test_terminal_reconnects_to_the_same_shell(daemon: Daemon, emu: Emulator) -> None:
    session = "bai-reterm"
    await open_session(daemon, session)
    tid = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    type_in(daemon, tid, "export MARK=kept-$((40+2)); echo set-$MARK\n")
    await wait_text(daemon, tid, "set-kept-42")
    assert emu.drop_websockets(session, ["pty"]) == 1
    await wait_text(daemon, tid, "reconnected to the shell of session 'bai-reterm'")
    assert tid not in daemon.terminal_exits
    type_in(daemon, tid, "echo again-$MARK\n")  # the same shell: its variable is still set
    await wait_text(daemon, tid, "again-kept-42")
    await daemon.request("runbridge/closeTerminal", {"terminalId": tid})
    await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=10)
    await daemon.request("runbridge/closeSession", {"name": session})


@pytest.mark.parametrize(
    ("session", "status", "ending", "timeout"),
    [
        # the manager is terminating the session when the terminal's connection drops
        (
            "bai-goneterm",
            "TERMINATING",
            "session 'bai-goneterm' is TERMINATING on the manager: the terminal ends",
            15,
        ),
        # the session is there but not running: every new stream is refused (409)
        ("bai-noreterm", "RESTARTING", "could not be made again after 5 tries", 20),
    ],
)
async def test_a_terminal_that_cannot_reconnect_ends_saying_why(
    daemon: Daemon, emu: Emulator, session: str, status: str, ending: str, timeout: float
) -> None:
    await open_session(daemon, session)
    tid = (await daemon.request("runbridge/openTerminal", {"session": session}))["terminalId"]
    type_in(daemon, tid, "echo up-$((1+1))\n")
    await wait_text(daemon, tid, "up-2")
    (remote,) = [s for s in emu.sessions.values() if s.name == session]
    remote.set_status(status)
    try:
        assert emu.drop_websockets(session, ["pty"]) == 1
        await daemon.wait_for(lambda: tid in daemon.terminal_exits, timeout=timeout)
    finally:
        remote.set_status("RUNNING")
    text = screen(daemon, tid)
    assert ending in text and status in text, text
    await daemon.request("runbridge/closeSession", {"name": session})


async def test_run_whose_execute_socket_drops(daemon: Daemon, emu: Emulator) -> None:
    session = "bai-rerun"
    await daemon.run("z = 7", session=session)
    code = "import time\nprint('long', flush=True)\ntime.sleep(30)\nafter_sleep = 1"
    task = await start_run(daemon, session, code, "long")
    before = execute_connects(emu, session)
    assert emu.drop_websockets(session, ["execute"]) >= 1
    result = await task
    assert (result["status"], result["exitCode"]) == ("failed", None), result
    message = result["message"]
    assert "cannot be resumed" in message and "interrupts a run whose stream is lost" in message
    assert "output it printed after the 1 result received is missing" in message, message
    assert daemon.text(result["runId"]) == "long\n"  # what came before the drop is kept
    # the session goes on: variables kept, the dropped run stopped where it was
    after = await daemon.run("print(z, 'after_sleep' in dir())", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "7 False\n"), after
    # on a socket opened after the drop, not the spare opened before it
    assert execute_connects(emu, session) > before
    again = await daemon.run("print(z + 1)", session=session)
    assert daemon.text(again["runId"]) == "8\n"
    await daemon.request("runbridge/closeSession", {"name": session})
