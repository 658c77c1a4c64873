"""The session host: one process per user owns every session; clients connect over a
Unix socket, as many at once as there are.

``runbridge serve --host`` listens on the socket of :mod:`runbridge.host_socket`
(``--socket PATH`` names another). Each connection speaks the same protocol as
stdio; ``shutdown`` and ``exit`` end the connection, not the sessions. The
manager's events go where :mod:`runbridge.lsp.fanout` sends them.

Only one host serves a socket: the host holds an exclusive lock on
``<socket>.lock`` for its life, so hosts started at once by several clients end
with one (the others exit with code 0 and their clients connect to the winner).

A connection that stops reading does not slow the others: its messages wait in
its own buffer (:mod:`runbridge.lsp.bounded_writer`). Past 8 MB its runs' output is dropped (a
``window/logMessage`` then says which, and ``runbridge/history`` has it); past
64 MB (a client that reads nothing at all) it is disconnected.

The host exits when it has had no session and no connection for ``linger``
seconds, on ``runbridge/stopDaemon``, or on SIGTERM; local sessions are closed,
remote ones kept or deleted as their profile's ``keep_sessions`` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from runbridge import host_socket
from runbridge.config import load_settings
from runbridge.lsp import wire
from runbridge.lsp.bounded_writer import BoundedWriter
from runbridge.lsp.fanout import Fanout
from runbridge.lsp.server import create_server
from runbridge.private_folders import UnsafeFolder
from runbridge.sessions.manager import SessionManager

log = logging.getLogger(__name__)
_CLOSE_TIMEOUT_S = 5.0


def peer_uid(sock: Any) -> int | None:
    """The user id of the process at the other end of a Unix socket (None: unknown)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class SessionHost:
    def __init__(self, path: Path, linger: float) -> None:
        self.path = path
        self.linger = linger
        self.fanout = Fanout()
        self.manager = SessionManager(load_settings(), self.fanout)
        self.stopping = asyncio.Event()
        self.connections = 0
        self._lock_fd: int | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- the socket -------------------------------------------------------------
    def lock(self) -> bool:
        """Take the socket's lock; False when another host holds it."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(f"{self.path}.lock", flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def claim_path(self) -> None:
        """Check the socket's folder (created private if missing) and path; remove a
        stale socket of ours (we hold the lock: nobody else serves it)."""
        try:
            if host_socket.check_socket(self.path):
                self.path.unlink()
        except (UnsafeFolder, OSError) as exc:
            raise RuntimeError(f"cannot serve on {self.path}: {exc}") from None

    async def serve(self) -> bool:
        """Serve until stopped; False (at once) when another host serves the socket."""
        try:
            host_socket.check_socket(self.path)
            locked = self.lock()
        except (UnsafeFolder, OSError) as exc:
            raise RuntimeError(f"cannot serve on {self.path}: {exc}") from None
        if not locked:
            log.info("another runbridge host serves %s: leaving it that", self.path)
            return False
        self.claim_path()
        old_umask = os.umask(0o177)  # the socket is created 0600
        try:
            server = await asyncio.start_unix_server(
                self._connection, path=str(self.path), limit=1 << 20
            )
        except OSError as exc:
            raise RuntimeError(f"cannot serve on {self.path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old_umask)
        log.info("session host listening on %s (linger %ss)", self.path, self.linger)
        linger = asyncio.create_task(self._watch_idle())
        try:
            await self.stopping.wait()
        finally:
            linger.cancel()
            server.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self.manager.aclose()), _CLOSE_TIMEOUT_S)
        return True

    async def _watch_idle(self) -> None:
        """Stop once nothing (no session, no connection) has been here for ``linger`` s."""
        idle_since: float | None = None
        while True:
            await asyncio.sleep(min(1.0, max(0.05, self.linger / 4)))
            if self.connections or self.manager.sessions():
                idle_since = None
                continue
            now = time.monotonic()
            if idle_since is None:
                idle_since = now
            elif now - idle_since >= self.linger:
                log.info("no session and no client for %ss: exiting", self.linger)
                self.stopping.set()
                return

    # -- one client -------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock)
        if uid is not None and uid != os.geteuid():
            log.warning("refused a connection from another user (uid %s)", uid)
            writer.close()
            return
        self.connections += 1
        self._writers.add(writer)
        label = f"client {id(writer):x}"
        ls = create_server(self.manager, self.fanout)
        ls.client.label = label
        ls.protocol.set_writer(BoundedWriter(writer.transport, label))
        remove_log_forwarding = ls.forward_logs(asyncio.get_running_loop())
        loop_task = asyncio.ensure_future(wire.serve(ls.wire_protocol, reader, label))
        detached = asyncio.ensure_future(ls.detached.wait())
        log.info("%s connected (%d connected)", label, self.connections)
        try:
            await asyncio.wait({loop_task, detached}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            detached.cancel()
            remove_log_forwarding()
            ls.connection_closed()
            writer.close()
            self._writers.discard(writer)
            if not loop_task.done():
                loop_task.cancel()
            with contextlib.suppress(BaseException):
                await loop_task
            self.connections -= 1
            if ls.stop_daemon_requested:
                self.stopping.set()
            log.info("%s disconnected (%d connected)", label, self.connections)


def main(path: Path | None, linger: float) -> int:
    """Serve until idle for ``linger`` seconds, stopDaemon or SIGTERM."""
    socket_path = path or host_socket.socket_path()

    async def run() -> None:
        host = SessionHost(socket_path, linger)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, host.stopping.set)
        loop.add_signal_handler(signal.SIGINT, host.stopping.set)
        await host.serve()

    try:
        asyncio.run(run())
    except RuntimeError as exc:
        log.error("%s", exc)
        sys.stderr.write(f"runbridge: {exc}\n")
        return 1
    return 0
