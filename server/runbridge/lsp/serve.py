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
from pathlib import Path

from runbridge import logs
from runbridge.lsp import wire
from runbridge.lsp.language_server import RunbridgeServer
from runbridge.lsp.server import create_server

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


async def _stdin_stream(wire_in: int) -> asyncio.StreamReader:
    """The wire's input as a StreamReader: read on the loop when it is a pipe or socket
    (no thread hop per message), else (a regular file) by a thread."""
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(wire_in, "rb", buffering=0)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    except ValueError:  # a regular file

        def pump() -> None:
            while chunk := pipe.read(1 << 20):
                loop.call_soon_threadsafe(stream.feed_data, chunk)
            loop.call_soon_threadsafe(stream.feed_eof)

        threading.Thread(target=pump, name="runbridge-stdin", daemon=True).start()
    return stream


async def serve(ls: RunbridgeServer, wire_in: int, wire_out: int) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux: a 1 MB pipe, fewer wake-ups
        fcntl.fcntl(wire_out, fcntl.F_SETPIPE_SZ, 1 << 20)
    ls.protocol.set_writer(wire.FrameWriter(wire_out))
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    ls.forward_logs(loop)
    main = asyncio.current_task()
    assert main is not None
    loop.add_signal_handler(signal.SIGTERM, main.cancel)
    watchdog = asyncio.create_task(_watch_parent(ls, stop))
    stream = await _stdin_stream(wire_in)
    try:
        await wire.serve(ls.wire_protocol, stream, "editor's stdio")
        log.info("the editor closed the daemon's stdin")
    finally:
        watchdog.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(ls.aclose()), _CLOSE_TIMEOUT_S)
        ls.thread_pool.shutdown(wait=False, cancel_futures=True)


def main(
    log_level: str = "INFO",
    socket_path: Path | None = None,
    linger: float = 600.0,
    host: bool = False,
) -> int:
    """Serve over stdio, or (``host``) as the session host on a Unix socket."""
    wire_in, wire_out = _private_stdio()
    path = logs.setup(log_level)
    logs.check_state_folder()
    for problem in logs.problems:
        log.warning("%s", problem)
    os.environ["RUNBRIDGE_DAEMON"] = "1"
    if host:
        from runbridge.lsp import host as session_host

        os.close(wire_in)
        os.close(wire_out)
        log.info("runbridge session host starting (pid %s), log %s", os.getpid(), path)
        code = session_host.main(socket_path, linger)
        log.info("runbridge session host exiting with code %s", code)
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
