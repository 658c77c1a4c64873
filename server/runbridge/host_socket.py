"""Where the session host listens, and finding or starting it (standard library only).

One host per user owns every session (:mod:`runbridge.lsp.host`). It listens on
``<runtime>/host.sock``, where ``<runtime>`` is ``$XDG_RUNTIME_DIR/runbridge``
when ``XDG_RUNTIME_DIR`` is an absolute folder of this user closed to others,
else ``<tmp>/runbridge-<uid>``; ``RUNBRIDGE_HOST_SOCKET`` names another path.
The folder is created 0700 or used only when it is a real folder of this user
closed to others, and what is at the socket's path must be a socket of this
user: anything else (a file, a link, a foreign folder) is refused, never followed.

Clients (the relay that ``runbridge serve`` is by default, the CLI commands)
call :func:`connect_or_start`: the first starts the host detached; a host that
finds another one serving the same socket exits, so clients that start it at
once end with one host.

This module is imported by the relay before anything else: keep it light.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runbridge.private_folders import UnsafeFolder, check_private, private_folder

#: ``sockaddr_un.sun_path`` holds 108 bytes with the final NUL on Linux.
_MAX_SOCKET_PATH = 107
SOCKET_NAME = "host.sock"
START_TIMEOUT_S = 30.0


class HostUnavailable(Exception):
    """The host could not be reached or started; the message says why."""


def runtime_folder() -> Path:
    """The private folder of this user's sockets (not created here)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        folder = Path(xdg) / "runbridge"
        try:
            check_private(Path(xdg))
        except UnsafeFolder:
            pass
        else:
            if len(os.fsencode(folder / SOCKET_NAME)) <= _MAX_SOCKET_PATH:
                return folder
    return Path(tempfile.gettempdir()) / f"runbridge-{os.geteuid()}"


def socket_path() -> Path:
    """The host's socket: ``RUNBRIDGE_HOST_SOCKET``, else ``<runtime>/host.sock``."""
    chosen = os.environ.get("RUNBRIDGE_HOST_SOCKET", "")
    return Path(chosen) if chosen else runtime_folder() / SOCKET_NAME


def check_socket(path: Path) -> bool:
    """Check ``path``'s folder (created private when missing) and what is at ``path``:
    True if a socket of this user is there, False if nothing is. Raises
    :class:`UnsafeFolder` for anything else, which must not be used."""
    private_folder(path.parent)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(info.st_mode):
        raise UnsafeFolder(
            f"refusing {path}: it is not a socket (something else was put there); "
            "remove it or set RUNBRIDGE_HOST_SOCKET to another path"
        )
    if info.st_uid != os.geteuid():
        raise UnsafeFolder(f"refusing {path}: it is a socket of another user (uid {info.st_uid})")
    return True


def connect(path: Path) -> socket.socket | None:
    """A connection to the host at ``path``; None when no host serves it."""
    if not check_socket(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        return None
    except OSError:
        sock.close()
        raise
    return sock


def start_host(path: Path, log_level: str | None = None) -> subprocess.Popen[bytes]:
    """Start a host on ``path``, detached: its own session, no terminal, nothing inherited."""
    command = [sys.executable, "-m", "runbridge", "serve", "--host", "--socket", str(path)]
    if log_level:
        command += ["--log-level", log_level]
    env = dict(os.environ)
    env.pop("RUNBRIDGE_STANDALONE", None)
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
        env=env,
        start_new_session=True,
    )


def connect_or_start(
    path: Path | None = None, timeout: float = START_TIMEOUT_S, log_level: str | None = None
) -> socket.socket:
    """A connection to this user's host, started (detached) when none serves ``path``."""
    path = path or socket_path()
    try:
        sock = connect(path)
        if sock is not None:
            return sock
        process = start_host(path, log_level)
        deadline = time.monotonic() + timeout
        while True:
            sock = connect(path)
            if sock is not None:
                return sock
            code = process.poll()
            if code not in (None, 0):  # 0: another host won the start; it will listen
                raise HostUnavailable(
                    f"the runbridge host for {path} ended at start (exit code {code}); "
                    "see its log (runbridge's log folder)"
                )
            if time.monotonic() > deadline:
                raise HostUnavailable(f"no runbridge host listened on {path} within {timeout:g} s")
            time.sleep(0.02)
    except (UnsafeFolder, OSError) as exc:
        raise HostUnavailable(f"cannot reach the runbridge host: {exc}") from None
