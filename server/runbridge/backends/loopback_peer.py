"""Who is on the other end of a loopback TCP connection (Linux).

A forward listening on ``127.0.0.1`` can be reached by every local user. On Linux the
kernel lists each TCP socket with the user that created it (``/proc/net/tcp``): the
client's end of an accepted connection is the entry whose local address is the
connection's peer address and whose remote address is ours. :func:`peer_uid` reads it.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any, Protocol

#: The kernel's table of IPv4 TCP sockets.
PROC_NET_TCP = Path("/proc/net/tcp")


class ConnectedSocket(Protocol):
    """A connected socket (``socket.socket``, or asyncio's wrapper of one)."""

    def getsockname(self) -> Any: ...

    def getpeername(self) -> Any: ...


def _hex_address(host: str, port: int) -> str:
    """``127.0.0.1``, 8888 as ``/proc/net/tcp`` writes it: ``0100007F:22B8`` (the
    address's bytes in host order)."""
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def peer_uid(sock: ConnectedSocket, table: Path = PROC_NET_TCP) -> int | None:
    """The uid that owns the client's end of ``sock`` (an accepted IPv4 connection),
    or None where the kernel does not say (no ``/proc/net/tcp``, or no such entry)."""
    try:
        ours = sock.getsockname()
        theirs = sock.getpeername()
        text = table.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    local = _hex_address(theirs[0], theirs[1])
    remote = _hex_address(ours[0], ours[1])
    for line in text.splitlines()[1:]:
        fields = line.split()
        # sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
        if len(fields) > 7 and fields[1] == local and fields[2] == remote:
            try:
                return int(fields[7])
            except ValueError:
                return None
    return None
