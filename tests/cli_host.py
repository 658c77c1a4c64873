"""The ``runbridge`` commands against a real session host, in a test's own folders."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.conftest import PYTHON, isolated_env


def host_socket_of(env: dict[str, str]) -> Path:
    """Where the host of ``env`` listens (``XDG_RUNTIME_DIR`` is a private folder)."""
    return Path(env["XDG_RUNTIME_DIR"]) / "runbridge" / "host.sock"


def host_processes(env: dict[str, str]) -> list[psutil.Process]:
    """The hosts serving ``env``'s socket."""
    sock = str(host_socket_of(env))
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "--host" in cmdline and sock in cmdline:
            found.append(proc)
    return found


@contextlib.contextmanager
def host_env(base: Path) -> Iterator[dict[str, str]]:
    """An environment whose commands use a host of their own; the host is stopped
    (``runbridge stop``, then killed if still there) when the block ends."""
    env = isolated_env(base)
    env.pop("RUNBRIDGE_STANDALONE")
    try:
        yield env
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [PYTHON, "-m", "runbridge", "stop"], env=env, capture_output=True, timeout=60
            )
        for proc in host_processes(env):
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


def read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    """What the fd (a PTY) gave until ``needle`` (an AssertionError after ``timeout``)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen in {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            seen += chunk
    return seen
