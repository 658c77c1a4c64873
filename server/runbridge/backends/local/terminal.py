"""A shell in a pseudo-terminal on this machine, streamed both ways.

Output is read from the PTY master as soon as the event loop sees it readable
and decoded incrementally, so a multi-byte UTF-8 character is never split
between two ``on_output`` calls.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import inspect
import logging
import os
import pty
import signal
import struct
import termios
from pathlib import Path

from runbridge.backends.base import TerminalExit, TerminalOutput
from runbridge.backends.local import guardian
from runbridge.backends.local.guardian_process import session_members

log = logging.getLogger(__name__)
_READ = 65536
#: Input the shell has not read yet that the daemon holds at most (bytes).
MAX_PENDING_INPUT = 1 << 20


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _signal_jobs(sid: int, pids: list[int], sig: int) -> bool:
    """Send ``sig`` to those of ``pids`` still in session ``sid``; True if any was."""
    found = False
    for pid in pids:
        with contextlib.suppress(OSError):
            if os.getsid(pid) == sid:  # not a new process that reuses the pid
                os.kill(pid, sig)
                found = True
    return found


def user_shell() -> str:
    shell = os.environ.get("SHELL")
    if shell and os.access(shell, os.X_OK):
        return shell
    for candidate in ("/bin/bash", "/bin/sh"):
        if os.access(candidate, os.X_OK):
            return candidate
    return "/bin/sh"


class PtyTerminal:
    def __init__(self, on_output: TerminalOutput, on_exit: TerminalExit) -> None:
        self._on_output = on_output
        self._on_exit = on_exit
        self._master = -1
        self._pid = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._closed = False
        self._exit_reported = False
        self._reaper: asyncio.Task[None] | None = None
        self._pending = b""
        self._writer_armed = False
        self._closing = False

    @property
    def pid(self) -> int:
        return self._pid

    def start(self, cwd: Path, env: dict[str, str], rows: int, cols: int) -> None:
        master, slave = pty.openpty()
        _set_size(slave, rows, cols)
        full_env = {**os.environ, **env, "TERM": "xterm-256color"}
        full_env.pop("RUNBRIDGE_DAEMON", None)
        shell = user_shell()
        pid = os.fork()
        if pid == 0:  # child: become session leader with the PTY as controlling terminal
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                os.chdir(cwd)
                os.execve(shell, [shell, "-i"], full_env)
            finally:
                os._exit(127)
        os.close(slave)
        guardian.watch(pid)  # the shell leads a session: ended with the daemon, jobs and all
        os.set_blocking(master, False)
        self._master, self._pid = master, pid
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, _READ)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._finish()
            return
        text = self._decoder.decode(data)
        if text:
            self._on_output(text)

    def _finish(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            loop.remove_reader(self._master)
        if self._writer_armed:
            self._writer_armed = False
            with contextlib.suppress(Exception):
                loop.remove_writer(self._master)
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._on_output(tail)
        if not self._exit_reported:
            self._exit_reported = True
            self._reaper = loop.create_task(self._reap())

    async def _reap(self) -> None:
        code: int | None = None
        for _ in range(100):
            try:
                pid, status = os.waitpid(self._pid, os.WNOHANG)  # noqa: ASYNC222
            except ChildProcessError:
                break
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            await asyncio.sleep(0.02)
        with contextlib.suppress(OSError):
            os.close(self._master)
        self._closed = True
        if not self._closing:  # else close() forgets it once the jobs are gone too
            guardian.forget(self._pid)
        result = self._on_exit(code)
        if inspect.isawaitable(result):
            await result

    def write(self, data: str) -> None:
        if self._closed:
            return
        was_pending = bool(self._pending)
        encoded = data.encode("utf-8", "replace")
        if len(self._pending) + len(encoded) > MAX_PENDING_INPUT:
            # the shell reads nothing (a program that ignores its input, a stopped job):
            # drop what it has not taken rather than hold it all; the newest keys (a
            # Ctrl-C typed after a huge paste) are kept
            log.warning(
                "terminal %s: the shell did not read %d bytes of input; they were dropped",
                self._pid,
                len(self._pending),
            )
            self._pending = encoded[-MAX_PENDING_INPUT:]
            return
        self._pending += encoded
        if not was_pending:
            self._drain()

    def _drain(self) -> None:
        """Write what the shell will take now; wait for the PTY to be writable for the rest."""
        loop = asyncio.get_running_loop()
        while self._pending and not self._closed:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                if not self._writer_armed:
                    self._writer_armed = True
                    loop.add_writer(self._master, self._writable)
                return
            except OSError:
                self._pending = b""
                break
            self._pending = self._pending[written:]
        if self._writer_armed:
            self._writer_armed = False
            with contextlib.suppress(Exception):
                loop.remove_writer(self._master)

    def _writable(self) -> None:
        self._drain()

    def resize(self, rows: int, cols: int) -> None:
        if not self._closed:
            with contextlib.suppress(OSError):
                _set_size(self._master, rows, cols)

    async def close(self) -> None:
        """Hang up the shell and its jobs (SIGHUP), then SIGKILL after 1 s."""
        if self._closed or not self._pid:
            return
        self._closing = True
        try:
            await self._hang_up()
        finally:
            guardian.forget(self._pid)

    async def _hang_up(self) -> None:
        # Background jobs have process groups of their own but stay in the shell's session.
        jobs = [pid for pid in session_members(self._pid) if pid != self._pid]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._pid, signal.SIGHUP)
        _signal_jobs(self._pid, jobs, signal.SIGHUP)
        for _ in range(50):
            if self._closed and not _signal_jobs(self._pid, jobs, 0):
                return
            await asyncio.sleep(0.02)
        _signal_jobs(self._pid, jobs, signal.SIGKILL)
        if self._closed:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._pid, signal.SIGKILL)
        for _ in range(50):
            if self._closed:
                return
            await asyncio.sleep(0.02)
        if not self._exit_reported:
            self._finish()
