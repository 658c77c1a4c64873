"""The one terminal of an emulated session, shared by its ``pty`` streams.

On a real manager every ``/stream/session/{name}/pty`` websocket connects to the same
in-container terminal: the kernel runner's ``Terminal`` (one shell in a pty per kernel,
its input and output on fixed ZeroMQ ports), so a second connection, or one made after a
drop, reaches the same shell, and output written while no stream is connected is lost
(PUB/SUB). The emulator does the same: the first pty stream of a session starts a shell
(``bash -i`` in the work folder); later streams attach to it; it lives until the session
ends. Unlike the runner, which starts a new shell when the user's exits, the emulator
ends every stream of a shell that exits (a clean close), and the next stream starts a new
one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import shutil
import signal
import struct
import termios
from collections.abc import Callable
from pathlib import Path

Listener = Callable[[bytes | None], None]


def _set_ctty() -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class SharedShell:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.listeners: set[Listener] = set()
        self.proc: asyncio.subprocess.Process | None = None
        self.master = -1
        self.exited = False

    async def start(self) -> None:
        master, slave = pty.openpty()
        shell = shutil.which("bash") or "/bin/sh"
        self.proc = await asyncio.create_subprocess_exec(
            shell,
            "-i",
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.workdir,
            env=dict(self.env, PS1="$ "),
            start_new_session=True,
            preexec_fn=_set_ctty,
        )
        os.close(slave)
        self.master = master
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            self.exited = True
        for listener in list(self.listeners):
            listener(data or None)

    def write(self, data: bytes) -> None:
        if not self.exited:
            with contextlib.suppress(OSError):
                os.write(self.master, data)

    def resize(self, rows: int, cols: int) -> None:
        if self.exited or self.proc is None:
            return
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGWINCH)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.master)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.proc.wait(), 2)
        if self.master >= 0:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = -1
        self.exited = True
        for listener in list(self.listeners):
            listener(None)


class Shells:
    """Each session's shared shell, by session id."""

    def __init__(self) -> None:
        self.shells: dict[str, SharedShell] = {}

    async def get(self, session_id: str, workdir: Path, env: dict[str, str]) -> SharedShell:
        shell = self.shells.get(session_id)
        if shell is None or shell.exited:
            if shell is not None:
                await shell.close()
            shell = self.shells[session_id] = SharedShell(workdir, env)
            await shell.start()
        return shell

    async def close_session(self, session_id: str) -> None:
        shell = self.shells.pop(session_id, None)
        if shell is not None:
            await shell.close()

    async def close(self) -> None:
        for session_id in list(self.shells):
            await self.close_session(session_id)
