"""Folders that only this user can enter: checked with lstat, never followed.

A folder that another local user could write to (a world-writable ``TMPDIR``), or
a link that points somewhere else, lets that user put something of theirs where
the daemon expects its own: a socket that serves editors in the daemon's place,
a transcript read by the wrong person. :func:`private_folder` creates a folder
0700 or accepts an existing one only when it is a real folder (not a symbolic
link), owned by this user, and closed to everyone else; it never changes a
folder it did not create.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnsafeFolder(Exception):
    """A folder the daemon must not use; the message says why and what to do."""


def private_folder(path: Path) -> Path:
    """``path``, created 0700 when missing (its parents too, as usual); else checked."""
    try:
        os.mkdir(path, 0o700)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    check_private(path)
    return path


def check_private(path: Path) -> None:
    """:class:`UnsafeFolder` unless ``path`` is a folder of this user closed to others."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise UnsafeFolder(f"{path} cannot be checked: {exc.strerror or exc}") from None
    problem = _problem(info)
    if problem is not None:
        raise UnsafeFolder(
            f"refusing the folder {path}: {problem}. runbridge keeps its sockets and files "
            "in a folder that only you can open (a real folder, yours, mode 0700); remove "
            "it or choose another path"
        )


def _problem(info: os.stat_result) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if info.st_uid != os.geteuid():
        return f"it belongs to another user (uid {info.st_uid})"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"other users can open it (mode {mode:04o})"
    return None
