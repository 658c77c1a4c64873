"""peer_uid: the user on the other end of a loopback connection, read from /proc/net/tcp."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbridge.backends.loopback_peer import PROC_NET_TCP, peer_uid
from tests.as_nobody import NOBODY, as_root, start_as_nobody

#: Connects to the address in argv, says so, and holds the connection until stdin ends.
CONNECT = (
    "import socket, sys\n"
    "s = socket.create_connection((sys.argv[1], int(sys.argv[2])))\n"
    "print('connected', flush=True)\n"
    "sys.stdin.read()\n"
)
pytestmark = pytest.mark.skipif(not PROC_NET_TCP.exists(), reason="Linux only")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.settimeout(10)
        yield sock


def test_a_connection_of_this_user_is_its_uid(listener: socket.socket) -> None:
    with socket.create_connection(listener.getsockname()) as client:
        accepted, _ = listener.accept()
        with accepted:
            assert peer_uid(accepted) == os.geteuid()
            # and the client's end is the other way round: our listener's uid
            assert peer_uid(client) == os.geteuid()


@as_root
def test_a_connection_of_another_user_is_that_user_s_uid(listener: socket.socket) -> None:
    host, port = listener.getsockname()
    child = start_as_nobody(CONNECT, host, str(port))
    try:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        assert line == "connected\n", child.stderr.read()
        accepted, _ = listener.accept()
        with accepted:
            assert peer_uid(accepted) == NOBODY
    finally:
        child.kill()
        child.wait()


def test_no_entry_or_no_table_is_unknown(listener: socket.socket, tmp_path: Path) -> None:
    with socket.create_connection(listener.getsockname()):
        accepted, _ = listener.accept()
        with accepted:
            header = PROC_NET_TCP.read_text().splitlines()[0]
            table = tmp_path / "tcp"
            table.write_text(header + "\n")
            assert peer_uid(accepted, table) is None
            assert peer_uid(accepted, tmp_path / "missing") is None
