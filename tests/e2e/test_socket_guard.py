"""The session host's socket against other local users and against clients that
misbehave: the folder and the path are checked, never changed or followed (by the
host and by the relay that would start it); peers of another user are refused; a
client that stops reading costs neither the other clients' speed nor the host's memory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import isolated_env
from tests.e2e.host import Host, default_socket, host_env
from tests.e2e.raw_wire import RUNBRIDGE

NOBODY = 65534
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to act as another user (CI runs as root)"
)


def serve_once(sock: Path, home: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``runbridge serve --host --socket sock``, expected to refuse and exit at once."""
    return subprocess.run(
        [*RUNBRIDGE, "serve", "--host", "--socket", str(sock), "--linger", "5"],
        env=isolated_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("runbridge: cannot serve on"), done.stderr
    for word in words:
        assert word in line, line


# -- the folder and the path ------------------------------------------------------------


def test_a_folder_open_to_others_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    done = serve_once(shared / "d.sock", tmp_path / "home")
    assert_refused(done, str(shared), "other users can open it (mode 1777)")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert not (shared / "d.sock").exists()


def test_a_link_as_the_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    done = serve_once(link / "d.sock", tmp_path / "home")
    assert_refused(done, "symbolic link")
    assert list(real.iterdir()) == []


@as_root
def test_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)
    done = serve_once(theirs / "d.sock", tmp_path / "home")
    assert_refused(done, f"another user (uid {NOBODY})")


@pytest.mark.parametrize("kind", ["file", "link-to-live-socket", "socket-of-another-user"])
def test_something_at_the_socket_path_that_is_not_our_socket_is_refused(
    tmp_path: Path, kind: str
) -> None:
    if kind == "socket-of-another-user" and os.geteuid() != 0:
        pytest.skip("needs root to make a socket of another user (CI runs as root)")
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    sock = folder / "d.sock"
    elsewhere = tmp_path / "elsewhere.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if kind == "file":
            sock.write_text("not a socket")
        elif kind == "link-to-live-socket":  # somebody else serves there
            listener.bind(str(elsewhere))
            listener.listen()
            sock.symlink_to(elsewhere)
        else:
            listener.bind(str(sock))
            os.chown(sock, NOBODY, NOBODY)
        done = serve_once(sock, tmp_path / "home")
        assert_refused(done, str(sock))
        assert os.path.lexists(sock), "the daemon removed what it did not create"
    finally:
        listener.close()


def relay_once(env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``runbridge serve`` (the relay), expected to find no host it may use and exit."""
    return subprocess.run(
        [*RUNBRIDGE, "serve"],
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_relay_refuses_a_runtime_folder_that_is_a_link(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = host_env(home)
    runtime = Path(env["XDG_RUNTIME_DIR"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (runtime / "runbridge").symlink_to(elsewhere)
    try:
        done = relay_once(env)
        assert done.returncode == 1, done
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("runbridge: cannot reach the runbridge host:"), done.stderr
        assert "symbolic link" in done.stderr, done.stderr
        assert list(elsewhere.iterdir()) == []  # not followed: no socket, no lock, no host
        assert not (home / "log" / "daemon.log").exists()
    finally:
        (runtime / "runbridge").unlink()


def test_the_relay_refuses_a_file_at_the_socket_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = host_env(home)
    sock = default_socket(home)
    sock.parent.mkdir(mode=0o700, exist_ok=True)
    sock.write_text("not a socket")
    done = relay_once(env)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("runbridge: cannot reach the runbridge host:"), done.stderr
    assert f"refusing {sock}: it is not a socket" in done.stderr, done.stderr
    assert sock.read_text() == "not a socket"


# -- another user ----------------------------------------------------------------------

#: A client run as ``nobody``: prints ``refused: <error>`` when it cannot connect,
#: ``closed`` when the host closes the connection unanswered, else what it was sent.
STRANGER = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("refused:", type(exc).__name__)
    sys.exit()
body = b'{"jsonrpc":"2.0","id":1,"method":"runbridge/listSessions","params":{}}'
try:
    s.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    answer = s.recv(65536)
except (BrokenPipeError, ConnectionResetError):
    answer = b""
print("closed" if not answer else "served: %r" % answer)
"""


def as_nobody(sock: Path) -> str:
    done = subprocess.run(
        [
            "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "/usr/bin/python3", "-I", "-c", STRANGER, str(sock),
        ],
        capture_output=True, text=True, timeout=30, cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@as_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
async def test_a_client_of_another_user_is_never_served(tmp_path: Path) -> None:
    # a socket folder of its own, which this test opens to others (a short path, in /tmp)
    folder = Path(tempfile.mkdtemp(prefix="rb-peer-"))
    host = Host(tmp_path / "home", sock=folder / "host.sock")
    try:
        mine = await host.client("mine")
        # as the host made them (folder 0700, socket 0600): nobody cannot reach the socket
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert as_nobody(host.sock) == "refused: PermissionError"
        # both walls broken on purpose: the host itself refuses by the peer's uid
        os.chmod(folder, 0o711)
        os.chmod(host.sock, 0o777)
        assert as_nobody(host.sock) == "closed", "a client of another user was served"
        assert f"refused a connection from another user (uid {NOBODY})" in host.log()
        # this user's client was not disturbed
        assert "sessions" in await mine.request("runbridge/listSessions", {})
        await mine.leave()
    finally:
        await host.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- clients that misbehave --------------------------------------------------------------

ASK = (
    "try:\n    v = input('q? ')\nexcept KeyboardInterrupt:\n    v = 'interrupted'\n"
    "print('after', v)\n"
)


async def test_a_prompt_stays_with_its_client_when_another_connects(host: Host) -> None:
    """The shared daemon of old hung up on an editor waiting at a prompt when another
    connected (its run was interrupted); the host leaves the prompt to its client, and
    the newcomer's run waits its turn."""
    first = await host.client("first")
    first.answer = None
    pending = first.start("runbridge/run", {"session": "prompt", "code": ASK})
    await first.wait_for(lambda: first.input_requests)
    second = await host.client("second")
    queued = second.start("runbridge/run", {"session": "prompt", "code": "print(v)"})
    await asyncio.sleep(0.5)
    assert not first.hung_up.is_set()
    assert second.input_requests == []  # not a follower: never asked
    prompt = first.input_requests[0]
    first.send({"jsonrpc": "2.0", "id": prompt["id"], "result": {"value": "answered"}})
    result = (await asyncio.wait_for(pending, 30))["result"]
    assert first.stdout(result["runId"]).endswith("after answered\n")
    result = (await asyncio.wait_for(queued, 30))["result"]
    assert second.stdout(result["runId"]) == "answered\n"
    await first.leave()
    await second.leave()


#: 8 MB of output in 64 KB writes (under the 10 MB output cap of a run).
FLOOD = (
    "import sys, time\nchunk = ('y' * 1023 + '\\n') * 64\n"
    "for _ in range(128):\n    sys.stdout.write(chunk)\n    sys.stdout.flush()\n"
    "    time.sleep(0.001)\n"
)
FLOOD_RUNS = 10


async def test_a_client_that_stops_reading_slows_nobody_and_costs_bounded_memory(
    host: Host,
) -> None:
    """A frozen window follows a session that another client floods: the flooding
    client's runs finish as fast as they would, the host holds at most its bound for
    the frozen one, whose output is dropped past it; once it reads again it is told what
    was dropped (``runbridge/history`` has it)."""
    reader = await host.client("reader")
    frozen = await host.client("frozen")
    await reader.run("flood", "x = 1")
    await frozen.request("runbridge/follow", {"session": "flood"})
    started = time.monotonic()
    await reader.run("flood", "x += 1")
    lone = time.monotonic() - started
    frozen.freeze()
    before = host.rss_mb()
    peak = before

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, host.rss_mb())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        flood_ids = []
        for _ in range(FLOOD_RUNS):
            result = await reader.run("flood", FLOOD, timeout=60)
            assert result["status"] == "finished", result
            flood_ids.append(result["runId"])
        started = time.monotonic()
        result = await reader.run("flood", "x += 1")
        busy = time.monotonic() - started
    finally:
        sampler.cancel()
    # the reader got everything, numbered without a gap, and no note of a drop
    for run_id in flood_ids:
        seqs = [p["seq"] for p in reader.outputs(run_id)]
        assert seqs == list(range(1, len(seqs) + 1))
        assert reader.stdout(run_id).count("y" * 1023) == 128 * 64
    assert not [m for m in reader.logs() if "not sent" in m]
    assert busy < max(5.0, 10 * lone), f"a trivial run took {busy:.2f}s (alone: {lone:.2f}s)"
    assert peak - before < 50, f"the host grew by {peak - before:.0f} MB for a frozen client"
    assert not frozen.hung_up.is_set()

    frozen.thaw()

    def told() -> list[str]:
        return [m for m in frozen.logs() if "was not sent to this client" in m]

    for _ in range(20):  # the note goes with the next message once its backlog is sent
        await reader.run("flood", "pass")
        try:
            notes = await frozen.wait_for(told, timeout=0.5)
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("the frozen client was never told its output was dropped")
    for note in notes:  # one per run, each naming what it dropped
        words = note.split()
        first, last = (int(n) for n in words[words.index("output") + 1].split("-"))
        run_id = words[words.index("run") + 1]
        assert run_id in flood_ids and "in session flood" in note, note
        got = [p["seq"] for p in frozen.outputs(run_id)]
        assert not set(range(first, last + 1)) & set(got), "dropped output was sent after all"
    await reader.leave()
    await frozen.leave()
