"""Paths inside a folder, opened one component at a time without following links.

A path is checked and used in one step: each component is opened relative to the
folder before it (``dir_fd``) with ``O_NOFOLLOW``, so a symbolic link anywhere on
the way (planted by code in a session, or by a hostile server's archive) is
refused whenever it appears; there is no check that a later open could outrun.
A new file is written under a random temporary name created with
``O_CREAT | O_EXCL`` (never an existing file, never a link) and renamed onto its
name, which replaces the entry there (a link itself, not what it points at).

Errors are :class:`~runbridge.errors.FileError` naming the path as it was given.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from runbridge.errors import FileError

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted at the name opens at once (and is refused), not hangs
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Place:
    """How errors name a path: ``what`` it is (``"download file"``) and ``where`` it
    must stay (``"the session work folder"``)."""

    def __init__(self, what: str, where: str) -> None:
        self.what = what
        self.where = where

    def error(self, path: str, problem: str) -> FileError:
        return FileError(f"{self.what} {path!r} {problem}", path=path)

    def link(self, path: str, at: str) -> FileError:
        """``path`` is a link, or leads through the link ``at``."""
        what = (
            "is a symbolic link"
            if _is_whole(at, path)
            else f"goes through a symbolic link ({at!r})"
        )
        return self.error(path, f"{what}; runbridge does not follow links in {self.where}")


def _is_whole(at: str, path: str) -> bool:
    """Whether ``at``, a leading part of ``path`` (normalised), is all of it."""
    return at == posixpath.normpath(path)


def parts_of(path: str, place: Place) -> list[str]:
    """The components of ``path`` after lexical normalisation (``[]``: the folder itself);
    an absolute path, or one that climbs out (``../x``), is refused."""
    if path.startswith("/"):
        raise place.error(path, f"must be relative to {place.where}")
    norm = posixpath.normpath(path or ".")
    if norm == ".":
        return []
    if norm == ".." or norm.startswith("../"):
        raise place.error(path, f"is outside {place.where}")
    return norm.split("/")


def _refusal(dir_fd: int, name: str, exc: OSError, path: str, at: str, place: Place) -> FileError:
    """The error for a failed open of ``name`` in ``dir_fd`` (``at``: the path up to it)."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):  # EMLINK: BSD's ELOOP
        try:  # only to say why: the open has failed already
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode):
            return place.link(path, at)
        if mode and not stat.S_ISDIR(mode):
            if _is_whole(at, path):
                return place.error(path, f"is not a folder in {place.where}")
            return place.error(path, f"is not in a folder ({at!r} is a file) in {place.where}")
    if isinstance(exc, FileNotFoundError):
        return place.error(path, f"does not exist in {place.where}")
    return place.error(path, f"cannot be opened: {exc.strerror}")


@contextlib.contextmanager
def open_root(folder: Path, place: Place, *, create: bool = False) -> Iterator[int]:
    """An fd of ``folder`` (runbridge's own: a session work folder); its parents are
    followed, the folder itself must not be a link."""
    if create:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)
    try:
        parent = os.open(folder.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileError(f"cannot open {place.where}: {exc.strerror}") from None
    try:
        fd = os.open(folder.name, _FOLDER, dir_fd=parent)
    except OSError as exc:
        raise FileError(f"cannot open {place.where} {str(folder)!r}: {exc.strerror}") from None
    finally:
        os.close(parent)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_dest(folder: str) -> Iterator[int]:
    """An fd of the local folder ``folder`` that the user named (made if missing; links
    on its own path are the user's and are followed; nothing inside it is)."""
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileError(f"download dest {folder!r}: {exc.strerror}", path=folder) from None
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_folder(
    root: int, parts: list[str], path: str, place: Place, *, create: bool = False
) -> Iterator[int]:
    """An fd of the folder ``parts`` under ``root``, opened component by component
    (``create``: missing folders are made); ``path`` is how errors name it."""
    fd = os.dup(root)
    try:
        for i, name in enumerate(parts):
            at = "/".join(parts[: i + 1])
            try:
                try:
                    child = os.open(name, _FOLDER, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):  # made meanwhile: opened below
                        os.mkdir(name, dir_fd=fd)
                    child = os.open(name, _FOLDER, dir_fd=fd)
            except OSError as exc:
                raise _refusal(fd, name, exc, path, at, place) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_file(root: int, parts: list[str], path: str, place: Place) -> Iterator[BinaryIO]:
    """The regular file ``parts`` under ``root``, open for reading (links refused)."""
    if not parts:
        raise place.error(path, f"is {place.where} itself")
    with open_folder(root, parts[:-1], path, place) as folder:
        try:
            fd = os.open(parts[-1], _READ, dir_fd=folder)
        except OSError as exc:
            raise _refusal(folder, parts[-1], exc, path, "/".join(parts), place) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise place.error(path, "is a folder (files only)")
        if not stat.S_ISREG(mode):
            raise place.error(path, "is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        yield handle


def write_file(
    folder: int, name: str, fill: Callable[[BinaryIO], None], path: str, place: Place
) -> int:
    """Write the file ``name`` in ``folder`` through a new temporary file, renamed onto
    ``name`` once ``fill`` has written it all; returns its size. On any failure (or
    cancellation) the temporary file is removed and ``name`` is untouched."""
    temporary = f".runbridge-{secrets.token_hex(8)}.part"
    try:
        fd = os.open(temporary, _CREATE, 0o666, dir_fd=folder)
    except OSError as exc:
        raise place.error(path, f"cannot be written: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                fill(out)
                out.flush()
            except OSError as exc:  # a full or read-only disk, a source that went away
                raise place.error(path, f"could not be copied: {exc.strerror}") from None
            size = out.tell()
        try:
            os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except IsADirectoryError:
            raise place.error(path, "is a folder; a file cannot replace it") from None
        except OSError as exc:
            raise place.error(path, f"cannot be written: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise
    return size


def list_entries(folder: int) -> list[tuple[str, os.stat_result]]:
    """The entries of ``folder`` with their own ``lstat`` (links are not followed);
    an entry gone while listing is left out."""
    entries: list[tuple[str, os.stat_result]] = []
    with os.scandir(folder) as found:
        for entry in found:
            try:
                entries.append((entry.name, entry.stat(follow_symlinks=False)))
            except OSError:
                continue
    return entries
