"""``runbridge serve``: a thin relay between an editor's stdio and the session host.

Any LSP client that starts ``runbridge serve`` (Helix, Emacs, Zed, Neovim) gets
the sessions of this user's host (:mod:`runbridge.lsp.host`), found or started
by :func:`runbridge.host_socket.connect_or_start`. The relay copies bytes both
ways and understands nothing of them, so it imports nothing heavy: with a host
already running, it answers ``initialize`` in tens of milliseconds.

It ends when the host closes the connection (after the editor's ``exit``) or when
the editor closes its stdin; the sessions stay in the host.
"""

from __future__ import annotations

import os
import socket
import sys
import threading

from runbridge.host_socket import HostUnavailable, connect_or_start

_CHUNK = 1 << 16


def _private_stdio() -> tuple[int, int]:
    """Private duplicates of fds 0 and 1 for the wire; the real ones point elsewhere."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print lands in stderr, not on the wire
    os.close(devnull)
    sys.stdout = sys.stderr
    return wire_in, wire_out


def _editor_to_host(wire_in: int, sock: socket.socket) -> None:
    try:
        while chunk := os.read(wire_in, _CHUNK):
            sock.sendall(chunk)
    except OSError:
        pass
    # the editor is done: the host ends this connection (the sessions stay)
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _host_to_editor(sock: socket.socket, wire_out: int) -> None:
    try:
        while chunk := sock.recv(_CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[os.write(wire_out, view) :]
    except OSError:
        pass


def main(log_level: str | None = None) -> int:
    wire_in, wire_out = _private_stdio()
    try:
        sock = connect_or_start(log_level=log_level)
    except HostUnavailable as exc:
        sys.stderr.write(f"runbridge: {exc}\n")
        return 1
    threading.Thread(target=_editor_to_host, args=(wire_in, sock), daemon=True).start()
    _host_to_editor(sock, wire_out)
    return 0
