"""A shared daemon: editors connect over a Unix socket, one after another.

``runbridge serve --socket PATH`` keeps its sessions (kernels, work folders) when
the editor goes away, so a window reload or an editor restart reattaches to the
same sessions with their variables. Each connection speaks the same protocol as
stdio; ``shutdown`` and ``exit`` end the connection, not the sessions. A new
connection takes over from the one before it (a reloading window may reconnect
before its old connection is gone). With no editor connected for ``linger``
seconds, or after ``runbridge/stopDaemon``, every session is closed and the
daemon exits. SIGTERM does the same at once.

While no editor is connected, output is not streamed (the transcripts keep it),
an ``input()`` prompt is cancelled (the run is interrupted), and terminals are
closed when their editor leaves. A prompt waiting for an editor that leaves (or
is taken over) is cancelled the same way.

The socket lives in a private folder (see :mod:`runbridge.private_folders`): the
daemon creates it 0700 or uses it only when it is a folder of this user closed
to others; it never changes one it did not create. Each connection's peer must
be this user (``SO_PEERCRED``, where the system has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import struct
import sys
from pathlib import Path
from typing import Any

from runbridge.config import load_settings
from runbridge.lsp import wire
from runbridge.lsp.language_server import RunbridgeServer
from runbridge.lsp.server import create_server
from runbridge.private_folders import UnsafeFolder, private_folder
from runbridge.sessions.manager import SessionManager
from runbridge.sessions.output import OutputBatch

log = logging.getLogger(__name__)
_CLOSE_TIMEOUT_S = 5.0
#: An editor that reads nothing for this long while the daemon has output for it is
#: disconnected (its sessions stay); RUNBRIDGE_SOCKET_STALL_S changes it.
_STALL_S = 30.0


def stall_seconds() -> float:
    value = os.environ.get("RUNBRIDGE_SOCKET_STALL_S", "")
    try:
        seconds = float(value)
    except ValueError:
        return _STALL_S
    return seconds if seconds > 0 else _STALL_S


def peer_uid(sock: Any) -> int | None:
    """The user id of the process at the other end of a Unix socket (None: unknown)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class DetachedEvents:
    """The manager's events while no editor is connected."""

    def output(self, batch: OutputBatch) -> None:
        pass  # the transcript has it

    def session_changed(self, info: dict[str, Any]) -> None:
        pass

    def terminal_output(self, terminal_id: str, data: str) -> None:
        pass

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        pass

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        log.warning(
            "run %s in session %s asked for input with no editor connected: interrupted",
            params.get("runId"),
            params.get("session"),
        )
        return None


class SharedDaemon:
    def __init__(self, path: Path, linger: float) -> None:
        self.path = path
        self.linger = linger
        self.manager = SessionManager(load_settings(), DetachedEvents())
        self.current: tuple[RunbridgeServer, asyncio.StreamWriter] | None = None
        self.stopping = asyncio.Event()
        self._idle: asyncio.TimerHandle | None = None

    # -- the socket -------------------------------------------------------------
    def claim_path(self) -> None:
        """Check the socket's folder (created private if missing); remove a stale socket of
        ours; refuse a live one, or anything at the path that is not a socket of ours."""
        try:
            private_folder(self.path.parent)
        except (UnsafeFolder, OSError) as exc:
            raise RuntimeError(f"cannot serve on {self.path}: {exc}") from None
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.geteuid():
            what = "a socket of another user" if stat.S_ISSOCK(info.st_mode) else "not a socket"
            raise RuntimeError(
                f"cannot serve on {self.path}: something is there that is {what}; "
                "remove it or choose another path"
            )
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink()  # our socket, and nobody listens: a daemon that died
        else:
            raise RuntimeError(f"another runbridge daemon already serves {self.path}")
        finally:
            probe.close()

    async def serve(self) -> None:
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
        log.info("shared daemon listening on %s (linger %ss)", self.path, self.linger)
        self._arm_idle()
        try:
            await self.stopping.wait()
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            if self.current is not None:
                self.current[1].close()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self.manager.aclose()), _CLOSE_TIMEOUT_S)

    # -- idle timer ----------------------------------------------------------------
    def _arm_idle(self) -> None:
        self._disarm_idle()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.linger, self._expire)

    def _disarm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _expire(self) -> None:
        log.info("no editor for %ss: closing every session and exiting", self.linger)
        self.stopping.set()

    # -- one editor -------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock)
        if uid is not None and uid != os.geteuid():
            log.warning("refused a connection from another user (uid %s)", uid)
            writer.close()
            return
        # A connection that closes before saying anything (a probe: is a daemon up?)
        # must not take over from the editor that is connected.
        first = await reader.read(1 << 16)
        if not first:
            writer.close()
            return
        self._disarm_idle()
        if self.current is not None:  # take over from the previous editor
            log.info("a new editor connected: ending the previous connection")
            self.current[1].close()
        ls = create_server(self.manager)
        frames = wire.FrameWriter(
            os.dup(sock.fileno()),
            stall_s=stall_seconds(),
            on_stall=writer.transport.abort,
            label="editor connection",
        )
        ls.protocol.set_writer(frames)
        self.current = (ls, writer)
        remove_log_forwarding = ls.forward_logs(asyncio.get_running_loop())
        loop_task = asyncio.ensure_future(
            wire.serve(ls.wire_protocol, reader, "editor connection", first)
        )
        detached = asyncio.ensure_future(ls.detached.wait())
        try:
            await asyncio.wait({loop_task, detached}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            detached.cancel()
            remove_log_forwarding()
            ls.connection_closed()
            frames.close()
            writer.close()
            if not loop_task.done():
                loop_task.cancel()
            with contextlib.suppress(BaseException):
                await loop_task
            if self.current is not None and self.current[0] is ls:
                self.current = None
                self.manager.events = DetachedEvents()
                with contextlib.suppress(Exception):
                    await self.manager.close_terminals()
                if ls.stop_daemon_requested:
                    self.stopping.set()
                else:
                    self._arm_idle()
            log.info("editor disconnected")


def main(path: Path, linger: float) -> int:
    """Serve ``path`` until idle for ``linger`` seconds, stopDaemon or SIGTERM."""
    daemon: SharedDaemon | None = None

    async def run() -> None:
        nonlocal daemon
        daemon = SharedDaemon(path, linger)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, daemon.stopping.set)
        loop.add_signal_handler(signal.SIGINT, daemon.stopping.set)
        await daemon.serve()

    try:
        asyncio.run(run())
    except RuntimeError as exc:
        log.error("%s", exc)
        sys.stderr.write(f"runbridge: {exc}\n")
        return 1
    return 0
