"""The daemon's side of the guardian: process sessions that must end with the daemon.

The ``local`` backend calls :func:`watch` with the pid of each process it starts
in a session of its own (a batch step, a terminal shell, a kernel) and
:func:`forget` once that session is ended. The first ``watch`` starts the
guardian (``guardian_process.py``, one per daemon), which ends every session
still watched when the daemon exits or is killed. A guardian found dead is
started again, and told every session watched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from runbridge import paths
from runbridge.backends.local.guardian_process import start_time
from runbridge.private_folders import UnsafeFolder, private_folder

log = logging.getLogger(__name__)

PROGRAM = Path(__file__).with_name("guardian_process.py")


def record_folder() -> str:
    """``<state>/guardian``, ours and private; "" (no records) if it cannot be that."""
    folder = paths.state_dir() / "guardian"
    try:
        return str(private_folder(folder))
    except (UnsafeFolder, OSError) as exc:
        log.warning("guardian: no records of watched processes: %s", exc)
        return ""


class Guardian:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: IO[bytes] | None = None
        #: session id -> its leader's start time ("-" when unknown)
        self._watched: dict[int, str] = {}
        self._pending = b""

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def watch(self, sid: int) -> None:
        """Have session ``sid`` (led by the process ``sid``, not yet reaped) ended with us."""
        start = start_time(sid) or "-"
        self._watched[sid] = start
        self._send(f"watch {sid} {start}\n")

    def forget(self, sid: int) -> None:
        if self._watched.pop(sid, None) is not None:
            self._send(f"forget {sid}\n")

    def close(self) -> None:
        """Close the pipe: the guardian ends the sessions still watched and exits."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
        self._process = self._pipe = None  # not waited for: it may still be ending sessions
        self._watched.clear()

    def _send(self, line: str) -> None:
        if self._pipe is None or self._process is None or self._process.poll() is not None:
            if self._process is not None:
                log.warning("guardian (pid %s) is gone; starting another", self.pid)
            self._start()  # the new guardian is told every watched session
            return
        self._pending += line.encode("ascii")
        self._flush(restart=True)

    def _flush(self, restart: bool) -> None:
        if self._pipe is None:
            return
        try:
            while self._pending:
                written = os.write(self._pipe.fileno(), self._pending)
                self._pending = self._pending[written:]
        except BlockingIOError:  # not reading (stopped?): sent with the next line
            log.warning("guardian (pid %s) is not reading its commands", self.pid)
        except OSError as exc:
            log.warning("guardian (pid %s) cannot be told: %s", self.pid, exc)
            if restart:
                self._start()

    def _start(self) -> None:
        """Start a guardian (ending one that lingers) and tell it every watched session."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.kill()
            self._process.wait()
        self._process = self._pipe = None
        self._pending = "".join(f"watch {s} {t}\n" for s, t in self._watched.items()).encode()
        try:
            # Isolated and without site: standard library only, quick to start. Its own
            # session: a kill of the daemon's process group does not reach it. Its stdin
            # is a pipe whose write end only the daemon holds (O_CLOEXEC: not inherited).
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(PROGRAM), str(os.getpid()), record_folder()],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,
            )
        except OSError as exc:
            log.warning("guardian could not start: %s", exc)
            return
        self._pipe = self._process.stdin
        assert self._pipe is not None
        os.set_blocking(self._pipe.fileno(), False)
        log.info("guardian started (pid %s)", self._process.pid)
        self._flush(restart=False)


_guardian = Guardian()


def watch(sid: int) -> None:
    _guardian.watch(sid)


def forget(sid: int) -> None:
    _guardian.forget(sid)
