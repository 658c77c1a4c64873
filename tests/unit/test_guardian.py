"""The guardian with real processes: what it ends, what it never touches, its records.

Each "session" here is a real process session: ``sh -c 'sleep & exec sleep'`` started
with ``setsid``, so it has a leader and a member that is not the leader's process group
child in name only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from runbridge.backends.local.guardian import Guardian
from runbridge.backends.local.guardian_process import (
    end_sessions,
    reap_records,
    record_name,
    session_members,
    signal_member,
    start_time,
    write_record,
)
from tests.conftest import ROOT


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start process sessions (leader + one background member); all killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        for pid in session_members(proc.pid):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()


def new_session(started: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    # SIGHUP back to its default first: under nohup it is ignored, and the guardian's SIGHUP
    # would then leave the sleeps to its SIGKILL
    reset_then_sleep = (
        "import os, signal; signal.signal(signal.SIGHUP, signal.SIG_DFL); "
        "os.execvp('sh', ['sh', '-c', 'sleep 93 & exec sleep 94'])"
    )
    proc = subprocess.Popen([sys.executable, "-c", reset_then_sleep], start_new_session=True)
    started.append(proc)
    deadline = time.monotonic() + 10
    while len(session_members(proc.pid)) < 2:
        assert time.monotonic() < deadline, "the session did not start its member"
        time.sleep(0.01)
    return proc


def assert_gone(pids: list[int], timeout: float = 10) -> None:
    """Wait until none of ``pids`` runs (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
        if not alive:
            return
        assert time.monotonic() < deadline, f"still running: {alive}"
        time.sleep(0.02)


def test_a_session_whose_leader_has_another_start_time_is_never_touched(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    session = new_session(spawn)
    members = session_members(session.pid)
    started = start_time(session.pid)
    assert started is not None
    # the pid now names another process than the one watched: nothing is signalled
    end_sessions({session.pid: str(int(started) + 1)}, grace=0.1)
    assert session.poll() is None
    assert sorted(session_members(session.pid)) == sorted(members)
    # the one watched: the leader and its background member end
    end_sessions({session.pid: started}, grace=0.5)
    assert session.wait(timeout=5) == -signal.SIGHUP
    assert session_members(session.pid) == []


def test_a_session_whose_leader_is_gone_is_ended_by_its_members(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    session = new_session(spawn)
    started = start_time(session.pid)
    session.kill()
    session.wait()  # the leader is reaped: only its background member remains
    (member,) = session_members(session.pid)
    end_sessions({session.pid: started}, grace=0.5)
    assert_gone([member], timeout=0.5)  # end_sessions returns once the members are gone


def test_signal_member_only_signals_a_member_of_the_session(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    one, other = new_session(spawn), new_session(spawn)
    assert not signal_member(one.pid, other.pid, signal.SIGKILL)
    assert one.poll() is None
    assert signal_member(one.pid, one.pid, signal.SIGKILL)
    assert one.wait(timeout=5) == -signal.SIGKILL


def test_records_of_dead_daemons_are_ended_and_those_of_live_ones_kept(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    live, dead = new_session(spawn), new_session(spawn)
    folder = str(tmp_path)
    live_record = record_name(os.getpid())  # this process: a daemon still running
    write_record(folder, live_record, {live.pid: start_time(live.pid)})
    started = start_time(os.getpid())
    assert started is not None
    dead_record = f"{os.getpid()}-{int(started) + 1}"  # a daemon that had this pid: gone
    write_record(folder, dead_record, {dead.pid: start_time(dead.pid)})
    (tmp_path / f"{dead_record}.part").write_text("left by a write cut short\n")
    (tmp_path / "notes.txt").write_text("not a record\n")

    reap_records(folder, own="1-1")

    assert dead.wait(timeout=5) == -signal.SIGHUP
    assert session_members(dead.pid) == []
    assert live.poll() is None and len(session_members(live.pid)) == 2
    assert sorted(os.listdir(folder)) == sorted([live_record, "notes.txt"])


def test_the_guardian_ends_what_is_watched_when_its_pipe_closes(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_STATE_DIR", str(tmp_path))
    guardian = Guardian()
    kept, ended = new_session(spawn), new_session(spawn)
    guardian.watch(kept.pid)
    guardian.watch(ended.pid)
    guardian.forget(kept.pid)
    assert guardian.pid is not None
    process = psutil.Process(guardian.pid)
    assert process.cmdline()[1:3] == ["-I", "-S"]
    record = tmp_path / "guardian" / record_name(os.getpid())
    expected = f"{ended.pid} {start_time(ended.pid)}\n"
    deadline = time.monotonic() + 10
    while not (record.exists() and record.read_text() == expected):
        assert time.monotonic() < deadline, "the guardian did not record what it watches"
        time.sleep(0.01)
    assert (tmp_path / "guardian").stat().st_mode & 0o777 == 0o700
    assert record.stat().st_mode & 0o777 == 0o600

    guardian.close()  # as when the daemon exits: the kernel closes the pipe

    assert ended.wait(timeout=5) == -signal.SIGHUP
    process.wait(timeout=5)
    assert kept.poll() is None and len(session_members(kept.pid)) == 2
    assert not record.exists()


def test_a_dead_guardian_is_replaced_and_told_every_watched_session(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_STATE_DIR", str(tmp_path))
    guardian = Guardian()
    first, second = new_session(spawn), new_session(spawn)
    guardian.watch(first.pid)
    assert guardian.pid is not None
    old = psutil.Process(guardian.pid)
    old.kill()
    old.wait(timeout=5)

    guardian.watch(second.pid)
    assert guardian.pid != old.pid
    guardian.close()

    assert first.wait(timeout=5) == -signal.SIGHUP
    assert second.wait(timeout=5) == -signal.SIGHUP


LEAKY_DAEMON = """
import os, subprocess, sys, time
from runbridge.backends.local.guardian import Guardian, record_folder
from runbridge.backends.local.guardian_process import record_name
guardian = Guardian()
guardian.watch(int(sys.argv[1]))
# The write end of the guardian's pipe leaks into a process that outlives us:
# the guardian never sees EOF and must learn of our death from PR_SET_PDEATHSIG.
fd = guardian._pipe.fileno()
os.set_inheritable(fd, True)
quiet = subprocess.DEVNULL
leak = subprocess.Popen(
    ["sleep", "92"], pass_fds=[fd], start_new_session=True, stdout=quiet, stderr=quiet
)
print(guardian.pid, leak.pid, flush=True)
# die only once the guardian waits for commands (it has recorded the session)
record = os.path.join(record_folder(), record_name(os.getpid()))
while not os.path.exists(record):
    time.sleep(0.01)
os._exit(0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_guardian_acts_on_its_parents_death_even_with_its_pipe_open(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    session = new_session(spawn)
    env = {**os.environ, "RUNBRIDGE_STATE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT / "server")}
    daemon = subprocess.run(
        [sys.executable, "-c", LEAKY_DAEMON, str(session.pid)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    guardian_pid, leak_pid = map(int, daemon.stdout.split())
    try:
        assert session.wait(timeout=5) == -signal.SIGHUP
        assert_gone([guardian_pid], timeout=5)
    finally:
        with contextlib.suppress(psutil.Error):
            psutil.Process(leak_pid).kill()
