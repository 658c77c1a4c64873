"""Backend.AI sessions outlive the daemon, through real daemons against the emulator.

A daemon that exits (``shutdown`` + ``exit``, or SIGTERM) leaves its sessions running on
the manager (``keep_sessions``, the default): the emulator still has them, and the next
daemon opening the name reuses the session (``created: false``) with its variables. A run
in progress when the daemon exits is interrupted; the session stays usable. With
``keep_sessions = false`` the daemon destroys its sessions when it exits. The session
host (``serve --host``, its profile in ``config.toml``) keeps them while its clients come
and go (its linger time does not run while a session is open), and keeps them on the
manager on ``runbridge/stopDaemon``; the next host reattaches them by name.

Both wire generations ("old", "new"): one in-process emulator per generation, which
outlives the daemons each test starts and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.backendai.daemon_helpers import (
    ACCESS_KEY,
    IMAGE,
    SDK_KEY_VARIABLES,
    SECRET_KEY,
    daemon_in,
    profile,
    without_sdk_keys,
)
from tests.backendai_emulator import Emulator
from tests.backendai_emulator.server import TERMINAL, Session
from tests.conftest import PYTHON, isolated_env
from tests.e2e.conftest import Daemon, start_run
from tests.e2e.helpers import open_session
from tests.e2e.host import Host

pytestmark = pytest.mark.timeout(90)


@contextlib.asynccontextmanager
async def daemon_on(emu: Emulator, home: Path, **settings: Any) -> AsyncIterator[Daemon]:
    """A daemon whose profile ``bai`` (the default) is on ``emu``; it exits (``shutdown`` +
    ``exit``) when the block ends, unless the test ended it before."""
    options = {"profiles": {"bai": profile(emu.url, **settings)}, "profile": "bai"}
    async with daemon_in(home, options) as daemon:
        yield daemon


async def terminate(daemon: Daemon) -> None:
    """SIGTERM the daemon and wait for its process to end."""
    proc = daemon.client._server
    assert proc is not None
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.wait(), 15)


def on_manager(emu: Emulator, name: str) -> list[Session]:
    """The emulator's sessions of that name that have not ended (TERMINATING included)."""
    return [s for s in emu.sessions.values() if s.name == name and s.status not in TERMINAL]


def running_on_manager(emu: Emulator, name: str) -> Session:
    """The one session of that name on the emulator, which must be RUNNING."""
    sessions = on_manager(emu, name)
    assert [s.status for s in sessions] == ["RUNNING"], sessions
    return sessions[0]


def deletes(emu: Emulator, name: str) -> list[str]:
    """The ``DELETE`` requests the emulator received for session ``name``."""
    return [
        r["path"]
        for r in emu.requests_log
        if r["method"] == "DELETE" and r["path"].split("?")[0] == f"/session/{name}"
    ]


async def gone_from_manager(emu: Emulator, name: str) -> list[Session]:
    """Wait up to 5 s for the emulator to have no session of that name left."""
    for _ in range(100):
        if not on_manager(emu, name):
            break
        await asyncio.sleep(0.05)
    return on_manager(emu, name)


async def test_sessions_outlive_the_daemon_and_are_reused_by_name(
    emu: Emulator, tmp_path: Path
) -> None:
    """shutdown + exit, then SIGTERM: each time the session stays on the manager, and the
    next daemon (with another home: nothing of it is kept locally) gets it back with its
    variables. closeSession still destroys it."""
    name = "bai-keep"
    async with daemon_on(emu, tmp_path / "one") as first:
        info = await open_session(first, name)
        assert info["created"] is True, info
        result = await first.run("kept = 41", session=name)
        assert result["status"] == "finished", result
        session_id = running_on_manager(emu, name).id
    # the first daemon has exited (shutdown + exit): the session is still there
    assert running_on_manager(emu, name).id == session_id
    assert deletes(emu, name) == []

    async with daemon_on(emu, tmp_path / "two") as second:
        info = await open_session(second, name)
        assert (info["created"], info["state"]) == (False, "idle"), info
        result = await second.run("kept += 1\nprint(kept)", session=name)
        assert (result["status"], second.text(result["runId"])) == ("finished", "42\n"), result
        await terminate(second)
    # SIGTERM: kept as well
    assert running_on_manager(emu, name).id == session_id
    assert deletes(emu, name) == []

    async with daemon_on(emu, tmp_path / "three") as third:
        result = await third.run("print(kept)", session=name)
        assert (result["status"], third.text(result["runId"])) == ("finished", "42\n"), result
        await third.request("runbridge/closeSession", {"name": name})
        assert await gone_from_manager(emu, name) == []  # an explicit close destroys it
        assert len(deletes(emu, name)) == 1
        info = await open_session(third, name)
        assert info["created"] is True, info  # closed for good: a fresh session
        result = await third.run("print('kept' in globals())", session=name)
        assert third.text(result["runId"]) == "False\n"
        await third.request("runbridge/closeSession", {"name": name})
    assert await gone_from_manager(emu, name) == []


async def test_keep_sessions_false_destroys_sessions_on_daemon_exit(
    emu: Emulator, tmp_path: Path
) -> None:
    name = "bai-nokeep"
    async with daemon_on(emu, tmp_path / "home", keep_sessions=False) as d:
        result = await d.run("kept = 1", session=name)
        assert result["status"] == "finished", result
        assert running_on_manager(emu, name)
    assert len(deletes(emu, name)) == 1  # the daemon destroyed it before it exited
    assert await gone_from_manager(emu, name) == []
    async with daemon_on(emu, tmp_path / "home") as d:
        info = await open_session(d, name)
        assert info["created"] is True, info
        result = await d.run("print('kept' in globals())", session=name)
        assert d.text(result["runId"]) == "False\n"
        await d.request("runbridge/closeSession", {"name": name})


@pytest.mark.parametrize("execute", ["stream", "rest"])
async def test_a_daemon_exit_during_a_run_interrupts_it_and_keeps_the_session(
    emu: Emulator, tmp_path: Path, execute: str
) -> None:
    """The run is interrupted (its kernel sees KeyboardInterrupt, so the next daemon's run
    does not wait behind it), the session and its variables are kept. ``rest``: runs by
    the REST loop (no execute websocket, whose drop alone would interrupt the run)."""
    name = f"bai-exit-{execute}"
    code = (
        "import time\nkept = 5\ntry:\n    print('sleeping', flush=True)\n    time.sleep(60)\n"
        "except KeyboardInterrupt:\n    stopped = 'interrupted'\n    raise\n"
    )
    emu.config.stream_execute = execute == "stream"
    try:
        async with daemon_on(emu, tmp_path / "one") as first:
            task = await start_run(first, name, code, "sleeping")
            session_id = running_on_manager(emu, name).id
        # the daemon answered the run before it exited: interrupted, as by a close
        result = task.result()
        assert (result["status"], result["message"]) == (
            "interrupted",
            "the session was closed",
        ), result
        assert running_on_manager(emu, name).id == session_id
        assert deletes(emu, name) == []
        async with daemon_on(emu, tmp_path / "two") as second:
            info = await open_session(second, name)
            assert (info["created"], info["state"]) == (False, "idle"), info
            result = await asyncio.wait_for(second.run("print(stopped, kept)", session=name), 10)
            assert (result["status"], second.text(result["runId"])) == (
                "finished",
                "interrupted 5\n",
            ), result
            await second.request("runbridge/closeSession", {"name": name})
        assert await gone_from_manager(emu, name) == []
    finally:
        emu.config.stream_execute = True


def write_config(home: Path, emu: Emulator) -> None:
    """``config.toml`` of a daemon whose home is ``home``: profile ``bai`` on ``emu``."""
    folder = home / "config"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        'default_profile = "bai"\n\n[profiles.bai]\ntype = "backendai"\n'
        f'endpoint = "{emu.url}"\naccess_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\n'
        f'image = "{IMAGE}"\ntimeout = 5\n'
    )
    path.chmod(0o600)


async def test_the_host_keeps_them_past_its_clients_and_its_exit(
    emu: Emulator, tmp_path: Path
) -> None:
    """The shared daemon of old kept them when its linger time ran out; the host does not
    even exit while a session is open. On ``runbridge/stopDaemon`` it exits and leaves the
    session on the manager, and the next host reattaches it by name."""
    name = "bai-host-keep"
    home = tmp_path / "home"
    write_config(home, emu)
    hosts: list[Host] = []
    try:
        with without_sdk_keys():  # the host's environment
            hosts.append(first := Host(home, linger=1))
        client = await first.client()
        result = await client.run(name, "kept = 3")
        assert result["status"] == "finished", result
        session_id = running_on_manager(emu, name).id
        await client.leave()
        await asyncio.sleep(2.5)  # no client for over the linger time, a session open
        assert first.proc.poll() is None, "the host exited with a session open"
        assert running_on_manager(emu, name).id == session_id

        client = await first.client()
        result = await client.run(name, "print(kept)")
        assert client.stdout(result["runId"]) == "3\n", result
        assert await client.request("runbridge/stopDaemon", {}) == {}
        await client.close()
        assert await first.exited(10) == 0
        assert running_on_manager(emu, name).id == session_id
        assert deletes(emu, name) == []

        hosts.append(second := Host(home))
        client = await second.client()
        info = await client.request("runbridge/openSession", {"name": name})
        assert info["created"] is False, info
        result = await client.run(name, "print(kept)")
        assert client.stdout(result["runId"]) == "3\n", result
        await client.request("runbridge/closeSession", {"name": name})
        assert await gone_from_manager(emu, name) == []  # an explicit close destroys it
        await client.leave()
    finally:
        for host in hosts:
            await host.stop()


async def test_runbridge_run_in_a_shell_keeps_the_session_for_the_next_command(
    emu: Emulator, tmp_path: Path
) -> None:
    """Each ``runbridge run`` is its own process; on a Backend.AI profile the session it
    opened stays on the manager, and the next command reuses it with its variables."""
    name = "bai-cli-keep"
    home = tmp_path / "home"
    write_config(home, emu)
    env = isolated_env(home)
    for name in SDK_KEY_VARIABLES:
        env.pop(name, None)

    async def rb(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "runbridge", *args, env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await rb("run", "-s", name, "-c", "from_the_shell = 11")
    assert code == 0, err
    session_id = running_on_manager(emu, name).id
    code, out, err = await rb("run", "-s", name, "-c", "print(from_the_shell * 2)")
    assert (code, out) == (0, "22\n"), err
    assert running_on_manager(emu, name).id == session_id
    assert deletes(emu, name) == []
    async with daemon_on(emu, tmp_path / "other") as d:
        assert (await open_session(d, name))["created"] is False
        await d.request("runbridge/closeSession", {"name": name})
    assert await gone_from_manager(emu, name) == []
