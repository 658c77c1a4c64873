"""Nothing the daemon started outlives it, even when it is killed with SIGKILL.

Kernels notice their parent is gone by themselves; batch steps and terminal shells
(and everything they started) are ended by the guardian process the daemon starts.
Each test starts its own daemon: these tests end daemons on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from runbridge.backends.local.backend import RUNTIME_PREFIX
from tests.e2e.conftest import Daemon
from tests.e2e.test_lifecycle import (
    assert_all_gone,
    descendants,
    launch,
    server_pid,
    start_busy_daemon,
    wait_exit,
)

#: How long the daemon's processes may outlive a daemon killed with SIGKILL
#: (kernels look for their parent once a second).
KILLED_CLEANUP_S = 5.0


@pytest.fixture
def leftovers() -> Iterator[list[psutil.Process]]:
    """Processes a failed test must not leave running: SIGKILLed at teardown."""
    procs: list[psutil.Process] = []
    yield procs
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()  # psutil checks the start time: never a reused pid


def named(pid: int, name: str) -> list[psutil.Process]:
    """The descendants of ``pid`` called ``name``."""
    found = []
    for proc in descendants(pid):
        with contextlib.suppress(psutil.Error):
            if proc.name() == name:
                found.append(proc)
    return found


async def kill_9(daemon: Daemon, leftovers: list[psutil.Process]) -> list[psutil.Process]:
    """SIGKILL the daemon; returns every process it had started."""
    procs = descendants(server_pid(daemon))
    leftovers.extend(procs)
    server = daemon.client._server
    assert server is not None
    server.send_signal(signal.SIGKILL)
    assert await wait_exit(server) == -signal.SIGKILL
    return procs


def guardians(pid: int) -> list[psutil.Process]:
    found = []
    for proc in descendants(pid):
        with contextlib.suppress(psutil.Error):
            if any(part.endswith("guardian_process.py") for part in proc.cmdline()):
                found.append(proc)
    return found


async def start_step(daemon: Daemon, home: Path, session: str) -> asyncio.Task[Any]:
    """A batch step ``sh -c 'sleep 97 & sleep 98'``, once both sleeps run and are guarded."""
    await daemon.request("runbridge/openSession", {"name": session})
    params = {
        "session": session,
        "mode": "batch",
        "code": "",
        "options": {"exec": "sh -c 'sleep 97 & sleep 98'"},
    }
    run = asyncio.create_task(daemon.request("runbridge/run", params))
    pid = server_pid(daemon)
    await daemon.wait_for(lambda: len(named(pid, "sleep")) == 2, timeout=15)
    # The sleeps can run before the daemon has told its guardian about the step (it
    # does so once the step's pipes are connected): a kill in between would rightly
    # leave the step behind. Wait until the guardian's record lists the step.
    (leader,) = [p for p in named(pid, "sh") if os.getsid(p.pid) == p.pid]
    records = home / "state" / "guardian"
    await daemon.wait_for(lambda: _recorded(records, leader.pid), timeout=15)
    return run


def _recorded(records: Path, sid: int) -> bool:
    """True when a guardian record in ``records`` lists session ``sid``."""
    with contextlib.suppress(OSError):
        for record in records.iterdir():
            with contextlib.suppress(OSError):
                lines = record.read_text().splitlines()
                if any(line.split()[:1] == [str(sid)] for line in lines):
                    return True
    return False


async def test_kill_9_during_a_batch_step_ends_the_step_and_its_children(
    tmp_path: Path, leftovers: list[psutil.Process]
) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        run = await start_step(daemon, tmp_path / "home", "b")
        try:
            sleeps = named(server_pid(daemon), "sleep")
            assert sorted(p.cmdline()[1] for p in sleeps) == ["97", "98"]
            procs = await kill_9(daemon, leftovers)
            assert_all_gone(procs, within=KILLED_CLEANUP_S)
        finally:
            run.cancel()


async def test_kill_9_of_the_daemons_process_group_spares_the_guardian(
    tmp_path: Path, leftovers: list[psutil.Process]
) -> None:
    async with launch(tmp_path / "home", own_session=True) as (daemon, _):
        run = await start_step(daemon, tmp_path / "home", "b")
        pid = server_pid(daemon)
        assert os.getpgid(pid) == pid
        procs = descendants(pid)
        leftovers.extend(procs)
        assert guardians(pid)
        os.killpg(pid, signal.SIGKILL)
        server = daemon.client._server
        assert server is not None
        assert await wait_exit(server) == -signal.SIGKILL
        run.cancel()
        assert_all_gone(procs, within=KILLED_CLEANUP_S)


async def test_kill_9_with_an_open_terminal_ends_the_shell_and_its_jobs(
    tmp_path: Path, leftovers: list[psutil.Process]
) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        await daemon.request("runbridge/openSession", {"name": "t"})
        terminal = await daemon.request("runbridge/openTerminal", {"session": "t"})
        daemon.notify(
            "runbridge/terminalInput",
            {"terminalId": terminal["terminalId"], "data": "sleep 96 &\nsleep 95\n"},
        )
        pid = server_pid(daemon)
        await daemon.wait_for(lambda: len(named(pid, "sleep")) == 2, timeout=15)
        procs = await kill_9(daemon, leftovers)
        assert_all_gone(procs, within=KILLED_CLEANUP_S)


async def test_kill_9_of_a_busy_daemon_ends_kernels_their_children_and_shells(
    tmp_path: Path, leftovers: list[psutil.Process]
) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        await start_busy_daemon(daemon)
        procs = await kill_9(daemon, leftovers)
        assert_all_gone(procs, within=KILLED_CLEANUP_S)


@pytest.mark.parametrize("way_out", ["shutdown-exit", "sigterm"])
async def test_a_normal_exit_during_a_step_leaves_nothing_not_even_the_guardian(
    tmp_path: Path, leftovers: list[psutil.Process], way_out: str
) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        run = await start_step(daemon, tmp_path / "home", "b")
        procs = descendants(server_pid(daemon))
        leftovers.extend(procs)
        assert len(guardians(server_pid(daemon))) == 1
        server = daemon.client._server
        assert server is not None
        if way_out == "sigterm":
            server.terminate()
            assert await wait_exit(server) == 1
        else:
            await asyncio.wait_for(daemon.client.shutdown_async(None), 15)
            daemon.client.exit(None)
            assert await wait_exit(server) == 0
        run.cancel()
        assert_all_gone(procs)


async def test_a_step_outliving_its_daemon_and_guardian_is_ended_by_the_next_daemon(
    tmp_path: Path, leftovers: list[psutil.Process]
) -> None:
    """As ``pkill -9 -f runbridge`` does: the daemon and its guardian killed together."""
    home = tmp_path / "home"
    # No spare kernel: one started in the background would make the daemon start a new
    # guardian after the test killed the first, and that guardian would end the step.
    no_spares = {"profiles": {"local": {"type": "local", "spare_kernels": 0}}}
    async with launch(home, init_options=no_spares) as (daemon, _):
        run = await start_step(daemon, tmp_path / "home", "b")
        pid = server_pid(daemon)
        step = [p for p in descendants(pid) if p.name() in ("sh", "sleep")]
        assert len(step) == 4  # the step's sh, the sh it runs, two sleeps
        (guardian,) = guardians(pid)
        guardian.kill()
        assert_all_gone([guardian])  # a zombie: the daemon reaps it only when it next tells it
        await kill_9(daemon, leftovers)
        run.cancel()
    assert all(p.is_running() for p in step)  # nobody was left to end them
    records = home / "state" / "guardian"
    (old_record,) = (p.name for p in records.iterdir())
    assert old_record.startswith(f"{pid}-")
    async with launch(home) as (daemon, _):
        # the next daemon's guardian starts with its first session
        await daemon.request("runbridge/openSession", {"name": "next"})
        assert_all_gone(step, within=KILLED_CLEANUP_S)
        await daemon.wait_for(lambda: not (records / old_record).exists(), timeout=5)
        # what may remain is the new daemon's own record (its kernel)
        assert all(p.name.startswith(f"{server_pid(daemon)}-") for p in records.iterdir())


def _pid_of(folder: str) -> str:
    """The pid in a runtime folder's name, ``runbridge-kernels-PID-XXXX``."""
    return folder.removeprefix(RUNTIME_PREFIX).split("-", 1)[0]


def runtime_folders() -> set[str]:
    """This user's kernel runtime folders in the temp folder."""
    temp = tempfile.gettempdir()
    return {e for e in os.listdir(temp) if e.startswith(RUNTIME_PREFIX)}


async def test_a_killed_daemons_kernel_folder_is_removed_by_the_next_daemon(
    tmp_path: Path, leftovers: list[psutil.Process]
) -> None:
    """Kernel connection files (their keys) and IPC sockets of a daemon killed with
    SIGKILL do not pile up in the temp folder: the next daemon that opens a local session
    removes them; it leaves alone what is not a dead daemon's folder of this user."""
    temp = Path(tempfile.gettempdir())
    live = Path(tempfile.mkdtemp(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-"))  # a live pid
    decoy = temp / f"{RUNTIME_PREFIX}999999999-link"
    decoy.symlink_to(tmp_path)  # a link with our name: never followed or removed
    try:
        async with launch(tmp_path / "home") as (daemon, _):
            before = runtime_folders()
            assert (await daemon.run("x = 1", session="k"))["status"] == "finished"
            # tests in another process (pytest -n 2) may make folders meanwhile: only those of
            # this test's own processes count
            ours = {str(p.pid) for p in psutil.Process().children(recursive=True)}
            mine = {f for f in runtime_folders() - before if _pid_of(f) in ours}
            assert len(mine) == 1, mine
            (folder,) = mine
            assert any((temp / folder).iterdir())  # the kernel's connection file, sockets
            await kill_9(daemon, leftovers)
        assert (temp / folder).exists()  # nothing ran at the kill
        async with launch(tmp_path / "home2") as (daemon, _):
            assert (await daemon.run("x = 2", session="k"))["status"] == "finished"
            assert not (temp / folder).exists()
            assert live.exists() and decoy.is_symlink() and tmp_path.exists()
    finally:
        shutil.rmtree(live, ignore_errors=True)
        decoy.unlink()
