"""The shared daemon's socket against other local users and against editors that
misbehave: the folder and the path are checked, never changed or followed; peers
of another user are refused; an editor that leaves mid-prompt or stops reading
costs neither a stuck session nor the daemon's memory.
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

import psutil
import pytest

from tests.conftest import isolated_env
from tests.e2e.raw_wire import RUNBRIDGE
from tests.e2e.shared_daemon import Editor, SharedDaemon

NOBODY = 65534
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to act as another user (CI runs as root)"
)


def serve_once(sock: Path, home: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``runbridge serve --socket sock``, expected to refuse and exit at once."""
    return subprocess.run(
        [*RUNBRIDGE, "serve", "--socket", str(sock), "--linger", "5"],
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


@as_root
async def test_a_peer_of_another_user_is_refused() -> None:
    # a home that another user can pass through (pytest's temporary folders are closed)
    home = Path(tempfile.mkdtemp(prefix="rb-peer-"))
    os.chmod(home, 0o711)
    shared = SharedDaemon(home, linger=600)
    try:
        await assert_a_stranger_is_refused(shared)
    finally:
        shared.proc.kill()
        shared.proc.wait(10)
        shutil.rmtree(home, ignore_errors=True)


async def assert_a_stranger_is_refused(shared: SharedDaemon) -> None:
    editor = await Editor.connect(shared.sock)  # the daemon is up
    await editor.initialize()
    # the first wall broken on purpose: the socket and its folder open to everyone
    os.chmod(shared.sock.parent, 0o755)
    os.chmod(shared.sock, 0o777)
    stranger = subprocess.run(
        [
            "python3",
            "-c",
            "import os, socket, sys\n"
            f"os.setgid({NOBODY}); os.setuid({NOBODY})\n"
            "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)\n"
            'body = b\'{"jsonrpc":"2.0","id":1,"method":"runbridge/listSessions"}\'\n'
            "try:\n"
            "    s.sendall(b'Content-Length: %d\\r\\n\\r\\n' % len(body) + body)\n"
            "    print(repr(s.recv(65536)))\n"
            "except (BrokenPipeError, ConnectionResetError):  # closed on it: refused\n"
            "    print(repr(b''))\n",
            str(shared.sock),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert stranger.returncode == 0, stranger.stderr
    assert stranger.stdout.strip() == "b''", "a peer of another user was served"
    assert f"refused a connection from another user (uid {NOBODY})" in shared.log()
    # the editor of this user was not disturbed
    assert "sessions" in await editor.request("runbridge/listSessions", {})
    await editor.leave()


# -- editors that misbehave --------------------------------------------------------------

ASK = (
    "try:\n    v = input('q? ')\nexcept KeyboardInterrupt:\n    v = 'interrupted'\n"
    "print('after', v)\n"
)


async def prompt_waiting(shared: SharedDaemon, session: str) -> Editor:
    """An editor whose run in ``session`` waits on ``input()``, the request unanswered."""
    editor = await Editor.connect(shared.sock)
    await editor.initialize()
    editor._send(
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "runbridge/run",
            "params": {"session": session, "code": ASK},
        }
    )
    await editor.writer.drain()
    async with asyncio.timeout(60):
        while True:
            message = await editor._read()
            assert message is not None, "the daemon hung up"
            if message.get("method") == "runbridge/input":
                return editor


async def session_state(editor: Editor, name: str) -> str:
    listed = await editor.request("runbridge/listSessions", {})
    return next(s["state"] for s in listed["sessions"] if s["name"] == name)


async def test_an_editor_that_leaves_during_a_prompt_does_not_leave_the_session_busy(
    shared: SharedDaemon,
) -> None:
    first = await prompt_waiting(shared, "prompt-left")
    first.writer.close()  # gone, the prompt unanswered
    second = await Editor.connect(shared.sock)
    await second.initialize()
    deadline = time.monotonic() + 20
    while await session_state(second, "prompt-left") != "idle":
        assert time.monotonic() < deadline, "the session stayed busy after its editor left"
        await asyncio.sleep(0.1)
    result = await second.request("runbridge/run", {"session": "prompt-left", "code": "print(v)"})
    assert second.stdout(result["runId"]) == "interrupted\n"
    await second.leave()


async def test_a_prompt_whose_editor_is_taken_over_ends_and_the_new_editor_runs(
    shared: SharedDaemon,
) -> None:
    first = await prompt_waiting(shared, "prompt-taken")
    second = await Editor.connect(shared.sock)
    await second.initialize()
    assert await first.hung_up()
    result = await second.request(
        "runbridge/run", {"session": "prompt-taken", "code": "print(v)"}, timeout=30
    )
    assert second.stdout(result["runId"]) == "interrupted\n"
    await second.leave()


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


async def test_an_editor_that_stops_reading_costs_no_memory_and_is_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_SOCKET_STALL_S", "4")
    daemon = SharedDaemon(tmp_path / "home", linger=600)
    try:
        editor = await Editor.connect(daemon.sock)
        await editor.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": {},
                "initializationOptions": {"outputCapMb": 1000},
            },
        )
        editor.notify("initialized", {})
        await editor.request("runbridge/run", {"session": "flood", "code": "x = 1"})
        before = rss_mb(daemon.proc.pid)
        # 256 MB of output in 64 KB messages; the editor reads none of it
        flood = (
            "import sys\nchunk = ('y' * 1023 + '\\n') * 64\n"
            "for _ in range(4000):\n    sys.stdout.write(chunk)\n    sys.stdout.flush()\n"
        )
        editor._send(
            {
                "jsonrpc": "2.0",
                "id": 9,
                "method": "runbridge/run",
                "params": {"session": "flood", "code": flood},
            }
        )
        await editor.writer.drain()
        peak = before
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            peak = max(peak, rss_mb(daemon.proc.pid))
            await asyncio.sleep(0.1)
        assert peak - before < 60, (
            f"the daemon grew by {peak - before:.0f} MB for a reader that reads nothing"
        )
        assert "read nothing for 4 s" in daemon.log()
        # let go: a new editor finds the session, the flood finished, and runs in it
        other = await Editor.connect(daemon.sock)
        await other.initialize()
        deadline = time.monotonic() + 60
        while await session_state(other, "flood") != "idle":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        result = await other.request("runbridge/run", {"session": "flood", "code": "print(x)"})
        assert other.stdout(result["runId"]) == "1\n"
        # nothing lost: the transcript holds every line the flood printed
        # (rotated to NAME.jsonl.1 by the next run: it is over the 100 MB default)
        rotated = Path(result["transcript"] + ".1")
        lines = rotated.read_text().count("y" * 1023)
        assert lines == 4000 * 64, lines
        await other.leave()
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
