"""Spare kernels of the ``local`` backend, through the real daemon and real ipykernels.

A spare is found among the daemon's descendants by its cwd: the ``spare-<key>`` folder
in the backend's runtime folder, until a session takes it (its cwd becomes the
session's work folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import Daemon, start_daemon
from tests.e2e.helpers import open_session
from tests.e2e.test_lifecycle import assert_all_gone, descendants, server_pid
from tests.e2e.test_no_orphans import KILLED_CLEANUP_S, kill_9

#: What a session's kernel says about itself: pid, cwd, an env var, its history and names.
PROBE = """
import json as _probe_json, os as _probe_os
print(_probe_json.dumps({
    "pid": _probe_os.getpid(),
    "cwd": _probe_os.getcwd(),
    "var": _probe_os.environ.get("RB_SPARE_VAR"),
    "in": len(In), "out": len(Out), "last": repr(_),
    "dh": [str(d) for d in _dh],
    "path_has_cwd_entry": "" in __import__("sys").path,
    "names": sorted(n for n in dir() if not n.startswith("_probe")),
}))
del _probe_json, _probe_os
"""


def spares(daemon: Daemon) -> list[psutil.Process]:
    """The daemon's spare kernels (not yet taken by a session)."""
    found = []
    for proc in descendants(server_pid(daemon)):
        with contextlib.suppress(psutil.Error):
            if Path(proc.cwd()).name.startswith("spare-"):
                found.append(proc)
    return found


def running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_spare(daemon: Daemon, not_pid: int = 0, timeout: float = 30) -> psutil.Process:
    """The daemon's one spare kernel once it is ready (its pid other than ``not_pid``)."""
    log = daemon.home / "log" / "daemon.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in spares(daemon):
            if proc.pid != not_pid and f"spare kernel {proc.pid} of " in log.read_text():
                return proc
        await asyncio.sleep(0.1)
    raise AssertionError("no spare kernel became ready")


async def probe(daemon: Daemon, session: str) -> dict[str, Any]:
    result = await daemon.run(PROBE, session)
    assert result["status"] == "finished", result
    text = daemon.text(result["runId"])
    return dict(json.loads(text.strip().splitlines()[-1]))


async def test_a_second_session_takes_the_spare_and_is_what_a_fresh_kernel_is(
    tmp_path: Path,
) -> None:
    async with start_daemon(tmp_path / "home") as daemon:
        await open_session(daemon, "first", env={"RB_SPARE_VAR": "first"})
        fresh = await probe(daemon, "first")
        spare = await wait_spare(daemon)

        info = await open_session(daemon, "second", env={"RB_SPARE_VAR": "second"})
        taken = await probe(daemon, "second")

        assert taken["pid"] == spare.pid
        assert taken["cwd"] == info["workdir"]
        assert taken["dh"] == [info["workdir"]]
        assert taken["var"] == "second"
        assert taken["path_has_cwd_entry"] is True
        # nothing of the spare's setup: the same names, history and Out as a fresh kernel
        assert taken["names"] == fresh["names"]
        assert (taken["in"], taken["out"], taken["last"]) == (2, 0, "''")
        assert (fresh["in"], fresh["out"], fresh["last"]) == (2, 0, "''")
        assert not [n for n in taken["names"] if "rb" in n.lower()]

        # its fd-level output goes to the session's kernel log, like a fresh kernel's
        await daemon.run("import os; os.system('echo spare-log-line >&2')", "second")
        log = next((tmp_path / "home").rglob("kernels/second.log"))
        assert "spare-log-line" in log.read_text()

        replacement = await wait_spare(daemon, not_pid=spare.pid)
        assert replacement.pid not in (spare.pid, fresh["pid"])


async def test_spare_kernels_0_starts_none(tmp_path: Path) -> None:
    options = {"profiles": {"local": {"type": "local", "spare_kernels": 0}}}
    async with start_daemon(tmp_path / "home", init_options=options) as daemon:
        await open_session(daemon, "first")
        first = await probe(daemon, "first")
        await asyncio.sleep(3)  # a spare starts in well under a second here
        assert spares(daemon) == []
        second = await probe(daemon, "second")
        assert second["pid"] != first["pid"]


async def test_closing_the_daemon_ends_its_spare(tmp_path: Path) -> None:
    async with start_daemon(tmp_path / "home") as daemon:
        await open_session(daemon, "first")
        spare = await wait_spare(daemon)
    assert_all_gone([spare])


async def test_a_killed_spare_is_never_handed_out_and_is_replaced(tmp_path: Path) -> None:
    async with start_daemon(tmp_path / "home") as daemon:
        await open_session(daemon, "first")
        spare = await wait_spare(daemon)
        spare.send_signal(signal.SIGKILL)
        await daemon.wait_for(lambda: not running(spare), timeout=5)  # a zombie until reaped

        taken = await probe(daemon, "second")
        assert taken["pid"] != spare.pid
        assert (await daemon.run("print(6 * 7)", "second"))["status"] == "finished"
        replacement = await wait_spare(daemon, not_pid=spare.pid)
        assert replacement.is_running()


async def test_a_session_whose_env_is_read_at_start_gets_a_fresh_kernel(tmp_path: Path) -> None:
    async with start_daemon(tmp_path / "home") as daemon:
        await open_session(daemon, "first")
        spare = await wait_spare(daemon)
        await open_session(daemon, "second", env={"PYTHONPATH": str(tmp_path)})
        taken = await probe(daemon, "second")
        assert taken["pid"] != spare.pid
        assert [p.pid for p in spares(daemon)] == [spare.pid]  # kept for the next one


async def test_a_kernelspec_that_is_not_python_gets_no_spare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "not-python"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Not Python", "language": "other"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    async with start_daemon(tmp_path / "home") as daemon:
        await open_session(daemon, "first", image="not-python")
        result = await daemon.run("print(6 * 7)", "first")
        assert daemon.text(result["runId"]) == "42\n"
        await asyncio.sleep(3)  # a spare starts in well under a second here
        assert spares(daemon) == []


async def test_a_spare_ends_when_the_daemon_is_killed(tmp_path: Path) -> None:
    leftovers: list[psutil.Process] = []
    try:
        async with start_daemon(tmp_path / "home") as daemon:
            await open_session(daemon, "first")
            spare = await wait_spare(daemon)
            await kill_9(daemon, leftovers)
        assert_all_gone([spare], within=KILLED_CLEANUP_S)
    finally:
        for proc in leftovers:
            with contextlib.suppress(psutil.Error):
                proc.kill()
