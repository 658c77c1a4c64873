"""Every folder runbridge writes to, in one place.

The platformdirs defaults can be moved with environment variables, which the
tests use to keep each daemon in its own temporary tree:

- ``RUNBRIDGE_CONFIG_DIR``: holds ``config.toml``
- ``RUNBRIDGE_DATA_DIR``: session work folders (``sessions/<name>``)
- ``RUNBRIDGE_STATE_DIR``: transcripts and runtime files (kernel connection files)
- ``RUNBRIDGE_LOG_DIR``: ``daemon.log`` and kernel logs
- ``RUNBRIDGE_CACHE_DIR``: media saved by the CLI
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import string
import zlib
from collections.abc import Iterable
from pathlib import Path

import platformdirs

APP = "runbridge"

log = logging.getLogger(__name__)


def _dir(env: str, default: str) -> Path:
    """A folder's path; it is made by whoever writes in it (:func:`own_folder`)."""
    value = os.environ.get(env)
    return Path(value) if value else Path(default)


def own_folder(folder: Path) -> Path:
    """``folder``, made 0700 (its missing parents too) when it does not exist.

    Unlike :func:`runbridge.private_folders.private_folder` (the shared socket's folder,
    which refuses anything else), this is for the folders runbridge names itself
    (transcripts, kernel logs, work folders): one of ours that others can open (made
    by an older runbridge) is closed to them.
    A link is left alone: it is the user's own choice of where the files go.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and mode & 0o077:
        os.chmod(folder, mode & 0o700)
    return folder


def open_private(path: Path, flags: int) -> int:
    """An fd on the file ``path`` (O_CREAT: made 0600), never through a link at that name;
    a file of ours that others can read is closed to them."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        info = os.fstat(fd)
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return fd


FOLDER_VARIABLES = ("CONFIG", "DATA", "STATE", "LOG", "CACHE")


def environment_under(base: Path) -> dict[str, str]:
    """Env vars that put every runbridge folder under ``base`` (tests, benchmarks, demos)."""
    overrides = {}
    for name in FOLDER_VARIABLES:
        folder = base / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        overrides[f"RUNBRIDGE_{name}_DIR"] = str(folder)
    return overrides


def config_dir() -> Path:
    return _dir("RUNBRIDGE_CONFIG_DIR", platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return _dir("RUNBRIDGE_DATA_DIR", platformdirs.user_data_dir(APP))


def state_dir() -> Path:
    return _dir("RUNBRIDGE_STATE_DIR", platformdirs.user_state_dir(APP))


def log_dir() -> Path:
    return _dir("RUNBRIDGE_LOG_DIR", platformdirs.user_log_dir(APP))


def cache_dir() -> Path:
    return _dir("RUNBRIDGE_CACHE_DIR", platformdirs.user_cache_dir(APP))


def config_file() -> Path:
    override = os.environ.get("RUNBRIDGE_CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


#: Characters a folder name keeps as they are (a leading '.' excepted); every other one
#: becomes '~XX' per UTF-8 byte.
_KEPT = frozenset(string.ascii_letters + string.digits + "._-")
#: A longer folder name is cut to its first characters and the name's hash.
_MAX_FOLDER_NAME = 200
_CUT_TO = 100


def safe_name(name: str) -> str:
    """The folder and file name of session ``name``: one to one, so no two sessions share
    a work folder, a transcript or a kernel log.

    Letters, digits, '.', '_' and '-' stay as they are (but a leading '.'), so the usual
    names are their own folder name; every other character becomes '~' and two uppercase
    hex digits per UTF-8 byte ('/' is '~2F', '~' is '~7E'). A result longer than 200
    characters is cut to its first 100 and ends in '~h' and the SHA-256 of the name: no
    short form has '~h', since a short form's '~' is always followed by two hex digits.
    The empty name (refused on the wire) is '~', which no other name gives.
    """
    parts: list[str] = []
    for i, char in enumerate(name):
        if char in _KEPT and not (i == 0 and char == "."):
            parts.append(char)
        else:  # surrogatepass: a lone surrogate (argv) has bytes no real character has
            parts.append("".join(f"~{b:02X}" for b in char.encode("utf-8", "surrogatepass")))
    folder = "".join(parts)
    if not folder:
        return "~"
    if len(folder) <= _MAX_FOLDER_NAME:
        return folder
    cut = ""
    for part in parts:
        if len(cut) + len(part) > _CUT_TO:
            break
        cut += part
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{cut}~h{digest}"


def legacy_safe_name(name: str) -> str | None:
    """The folder name that runbridge 0.1.0 gave ``name`` (it could give two names one
    folder); ``None`` for a name it could not have had."""
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "session"
    if cleaned != name or len(cleaned) > 80:
        cleaned = f"{cleaned[:80]}-{zlib.crc32(encoded):08x}"
    return cleaned


def session_workdir(name: str) -> Path:
    """Where session ``name`` keeps its files (created by the backend when it starts)."""
    return data_dir() / "sessions" / safe_name(name)


def transcripts_dir() -> Path:
    return state_dir() / "transcripts"


def transcript_file(name: str) -> Path:
    return transcripts_dir() / f"{safe_name(name)}.jsonl"


def kernel_logs_dir() -> Path:
    return log_dir() / "kernels"


def move_legacy_files(name: str, open_names: Iterable[str] = ()) -> None:
    """Move session ``name``'s work folder, transcripts and kernel log from their
    runbridge 0.1.0 names (:func:`legacy_safe_name`) to their names now, each one that
    exists under the old name but not under the new.

    Not when the old folder name is the folder of a session in ``open_names``: the old
    naming gave that folder to both names, and the open one is using it now. Nothing is
    followed or replaced; a move that fails is logged, and the session starts afresh.
    """
    old = legacy_safe_name(name)
    new = safe_name(name)
    if old is None or old == new or any(safe_name(other) == old for other in open_names):
        return
    _move_folder(data_dir() / "sessions", old, new)
    transcripts = transcript_file(name).parent
    suffixes = (".jsonl", ".jsonl.1")  # a transcript and its rotated part move together
    if not any(os.path.lexists(transcripts / (new + suffix)) for suffix in suffixes):
        for suffix in suffixes:
            _move_file(transcripts, old + suffix, new + suffix)
    _move_file(log_dir() / "kernels", old + ".log", new + ".log")


def _is(folder: Path, name: str, kind: int) -> bool:
    """Whether ``folder/name`` is of file type ``kind`` itself (a link is a link)."""
    try:
        return stat.S_IFMT(os.lstat(folder / name).st_mode) == kind
    except OSError:
        return False


def _move_folder(parent: Path, old: str, new: str) -> None:
    if not _is(parent, old, stat.S_IFDIR):
        return
    try:  # claims the new name: fails if anything is there, ...
        os.mkdir(parent / new, 0o700)
    except OSError:
        return
    try:  # ... and the rename replaces only that empty folder
        os.rename(parent / old, parent / new)
    except OSError as exc:
        log.warning("could not move %s to %s: %s", parent / old, new, exc.strerror)
        with contextlib.suppress(OSError):
            os.rmdir(parent / new)
        return
    log.info("moved %s to %s (session names now map to folders one to one)", parent / old, new)


def _move_file(parent: Path, old: str, new: str) -> None:
    if not _is(parent, old, stat.S_IFREG):
        return
    try:  # a hard link is made only where nothing is: the move never replaces a file
        os.link(parent / old, parent / new, follow_symlinks=False)
        os.unlink(parent / old)
    except FileExistsError:
        return
    except OSError as exc:
        log.warning("could not move %s to %s: %s", parent / old, new, exc.strerror)
        return
    log.info("moved %s to %s (session names now map to files one to one)", parent / old, new)
