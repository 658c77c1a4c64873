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
closed when their editor leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import threading
from pathlib import Path
from typing import Any

from pygls.io_ import run_async

from runbridge.config import load_settings
from runbridge.lsp.serve import _BatchingWriter, _forward_logs, _PipeReader
from runbridge.lsp.server import RunbridgeServer, create_server
from runbridge.sessions.manager import SessionManager
from runbridge.sessions.output import OutputBatch

log = logging.getLogger(__name__)
_CLOSE_TIMEOUT_S = 5.0


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


class _SocketWriter:
    """pygls' writer over a socket; :class:`runbridge.lsp.serve._BatchingWriter` wraps it."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._writer.close()


class _FirstLineReader(_PipeReader):
    """pygls' reader over a socket whose first line was already read."""

    def __init__(self, stream: asyncio.StreamReader, first: bytes) -> None:
        super().__init__(stream)
        self.first: bytes | None = first

    async def readline(self) -> bytes:
        if self.first is not None:
            line, self.first = self.first, None
            return line
        return await super().readline()


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
        """Make the socket's folder private and remove a stale socket; refuse a live one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        folder = self.path.parent.stat()
        if folder.st_uid == os.getuid() and stat.S_IMODE(folder.st_mode) & 0o077:
            os.chmod(self.path.parent, 0o700)
        if self.path.exists() or self.path.is_symlink():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.path))
            except OSError:
                self.path.unlink()  # nobody listens: a daemon that died
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
        # A connection that closes before saying anything (a probe: is a daemon up?)
        # must not take over from the editor that is connected.
        first = await reader.readline()
        if not first:
            writer.close()
            return
        self._disarm_idle()
        if self.current is not None:  # take over from the previous editor
            log.info("a new editor connected: ending the previous connection")
            self.current[1].close()
        ls = create_server(self.manager)
        ls.protocol.set_writer(_BatchingWriter(_SocketWriter(writer)))
        self.current = (ls, writer)
        stop = threading.Event()
        remove_log_forwarding = _forward_logs(ls, asyncio.get_running_loop())
        loop_task = asyncio.ensure_future(
            run_async(
                stop_event=stop,
                reader=_FirstLineReader(reader, first),
                protocol=ls.protocol,
                logger=log,
                error_handler=ls.report_server_error,
            )
        )
        detached = asyncio.ensure_future(ls.detached.wait())
        try:
            await asyncio.wait({loop_task, detached}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            detached.cancel()
            remove_log_forwarding()
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
        return 1
    return 0
