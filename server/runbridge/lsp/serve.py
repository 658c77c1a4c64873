"""Serving the daemon over stdio, with cleanup on every way out.

The wire uses private duplicates of fds 0 and 1; the real fds 0 and 1 are then
pointed at /dev/null and stderr, so nothing (a stray print, a child process)
can write into the JSON-RPC stream or steal its input.

Ways out, all of which close every session (kernels, PTYs, child processes):
``shutdown`` + ``exit`` (exit code 0), ``exit`` alone (1), stdin EOF (1), the
editor process disappearing (watchdog on ``processId``, 1), SIGTERM (1).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.io_ import StdinAsyncReader, run_async

from runbridge import logs
from runbridge.lsp.server import RunbridgeServer, create_server

log = logging.getLogger(__name__)
_WATCHDOG_S = 2.0
_CLOSE_TIMEOUT_S = 5.0


def _private_stdio() -> tuple[int, int]:
    wire_in = os.dup(0)
    wire_out = os.dup(1)
    os.set_inheritable(wire_in, False)
    os.set_inheritable(wire_out, False)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # anything printed by accident lands in stderr, not on the wire
    os.close(devnull)
    sys.stdout = sys.stderr
    return wire_in, wire_out


async def _watch_parent(ls: RunbridgeServer, stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(_WATCHDOG_S)
        pid = ls.process_id
        if not pid:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log.warning("editor process %s is gone; shutting down", pid)
            stop.set()
            os.kill(os.getpid(), signal.SIGTERM)
            return
        except PermissionError:
            pass


def _forward_logs(ls: RunbridgeServer, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Warnings and errors also go to the editor; always written from the loop's thread,
    so a log call in a worker thread cannot interleave bytes with another message.
    Returns the function that stops the forwarding."""
    loop_thread = threading.get_ident()

    def write(level: int, message: str) -> None:
        kind = types.MessageType.Error if level >= logging.ERROR else types.MessageType.Warning
        ls.window_log_message(types.LogMessageParams(type=kind, message=message))

    def send(level: int, message: str) -> None:
        if threading.get_ident() == loop_thread:
            write(level, message)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(write, level, message)

    handler = logs.ForwardHandler(send)
    logging.getLogger().addHandler(handler)
    return lambda: logging.getLogger().removeHandler(handler)


class _BatchingWriter:
    """The wire writer: messages written in one loop iteration go out in one write.

    A run's reply and the notifications around it (output, sessionChanged) then
    cost one system call and one editor wake-up instead of one each; :meth:`flush`
    writes at once. Only the loop thread writes.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (last words at exit): write now
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write everything queued, now."""
        self._scheduled = False
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._stream.write(data)
            self._stream.flush()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.flush()
        self._stream.close()


class _PipeReader:
    """pygls' AsyncReader on the event loop: no thread hop per header line and body."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.stream = stream

    async def readline(self) -> bytes:
        return await self.stream.readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self.stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""  # EOF mid-message: pygls ends its loop on an empty body


async def _reader(ls: RunbridgeServer, stdin: Any) -> Any:
    """Read the wire on the loop when it is a pipe or socket; else through a thread."""
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=1 << 20)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
    except ValueError:  # a regular file or a tty
        return StdinAsyncReader(stdin, ls.thread_pool)
    return _PipeReader(stream)


async def serve(ls: RunbridgeServer, wire_in: int, wire_out: int) -> None:
    # Buffered: a raw read(n) on a pipe may return fewer than n bytes, which broke the
    # framing of any message over 64 KB (pygls reads a body with one read(n) call).
    stdin = os.fdopen(wire_in, "rb")
    with contextlib.suppress(OSError, AttributeError):  # Linux: a 1 MB pipe, fewer wake-ups
        fcntl.fcntl(wire_out, fcntl.F_SETPIPE_SZ, 1 << 20)
    stdout = os.fdopen(wire_out, "wb")
    ls.protocol.set_writer(_BatchingWriter(stdout))
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    _forward_logs(ls, loop)
    main = asyncio.current_task()
    assert main is not None
    loop.add_signal_handler(signal.SIGTERM, main.cancel)
    watchdog = asyncio.create_task(_watch_parent(ls, stop))
    reader = await _reader(ls, stdin)
    try:
        await run_async(
            stop_event=stop,
            reader=reader,
            protocol=ls.protocol,
            logger=log,
            error_handler=ls.report_server_error,
        )
    finally:
        watchdog.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(ls.aclose()), _CLOSE_TIMEOUT_S)
        ls.thread_pool.shutdown(wait=False, cancel_futures=True)


def main(log_level: str = "INFO", socket_path: Path | None = None, linger: float = 600.0) -> int:
    """Serve over stdio, or (``socket_path``) as a shared daemon on a Unix socket."""
    wire_in, wire_out = _private_stdio()
    path = logs.setup(log_level)
    os.environ["RUNBRIDGE_DAEMON"] = "1"
    if socket_path is not None:
        from runbridge.lsp import shared

        os.close(wire_in)
        os.close(wire_out)
        log.info("runbridge shared daemon starting (pid %s), log %s", os.getpid(), path)
        code = shared.main(socket_path, linger)
        log.info("runbridge shared daemon exiting with code %s", code)
        logging.shutdown()
        os._exit(code)
    ls = create_server()
    log.info("runbridge daemon starting (pid %s), log %s", os.getpid(), path)
    code = 1
    try:
        asyncio.run(serve(ls, wire_in, wire_out))
    except SystemExit as exc:  # pygls' exit handler: 0 after shutdown, else 1
        code = int(exc.code or 0)
    except (KeyboardInterrupt, asyncio.CancelledError):
        code = 1
    log.info("runbridge daemon exiting with code %s", code)
    # The stdin reader thread may still block in read(); do not wait for it.
    logging.shutdown()
    os._exit(code)
