"""Copying files into and out of a local session's work folder.

Code in the session can change its work folder at any moment (plant a link, swap a
file for one), so every path in it is opened through :mod:`runbridge.confined_paths`:
component by component, never following a link, checked and used in one step.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import BinaryIO

from runbridge import confined_paths
from runbridge.backends.base import ProgressCallback
from runbridge.confined_paths import Place
from runbridge.errors import FileError
from runbridge.model import FileEntry, FolderEntry

_CHUNK = 1024 * 1024
WORK_FOLDER = "the session work folder"


class _Copied:
    """Bytes copied over all the files of one transfer, for its progress reports."""

    def __init__(self, total: int, progress: ProgressCallback) -> None:
        self.done = 0
        self.total = total
        self.progress = progress

    def copy(self, source: BinaryIO, out: BinaryIO) -> None:
        while chunk := source.read(_CHUNK):
            out.write(chunk)
            self.done += len(chunk)
            self.progress(self.done, self.total)


def copy_in(
    workdir: Path, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy local ``files`` into ``workdir/dest``; all are checked before any is copied."""
    place = Place("dest", WORK_FOLDER)
    parts = confined_paths.parts_of(dest or ".", place)
    sources: list[Path] = []
    for name in files:  # the user's own files, named by the user: followed as usual
        path = Path(name).expanduser()
        if not path.is_file():
            why = "is a folder (upload files)" if path.is_dir() else "does not exist"
            raise FileError(f"upload file {name!r} {why}", path=name)
        sources.append(path)
    copied = _Copied(sum(p.stat().st_size for p in sources), progress)
    entries: list[FileEntry] = []
    with (
        confined_paths.open_root(workdir, place, create=True) as root,
        confined_paths.open_folder(root, parts, dest, place, create=True) as folder,
    ):
        for src in sources:
            relative = "/".join([*parts, src.name])
            with src.open("rb") as source:
                size = confined_paths.write_file(
                    folder,
                    src.name,
                    functools.partial(copied.copy, source),
                    relative,
                    Place("upload target", WORK_FOLDER),
                )
            entries.append(FileEntry(relative, size))
    progress(copied.total, copied.total)
    return entries


def copy_out(
    workdir: Path, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy ``files`` (relative to ``workdir``) into the local folder ``dest``.

    Every file is opened (a regular file, reached without a link) before any is copied,
    and opened the same way again to be copied.
    """
    if not os.path.isabs(dest):
        raise FileError(f"download dest {dest!r} must be an absolute folder path", path=dest)
    place = Place("download file", WORK_FOLDER)
    named = [(name, confined_paths.parts_of(name, place)) for name in files]
    with confined_paths.open_root(workdir, place) as root:
        total = 0
        for name, parts in named:
            with confined_paths.open_file(root, parts, name, place) as source:
                total += os.fstat(source.fileno()).st_size
        copied = _Copied(total, progress)
        entries: list[FileEntry] = []
        with confined_paths.open_dest(dest) as target:
            for name, parts in named:
                with confined_paths.open_file(root, parts, name, place) as source:
                    size = confined_paths.write_file(
                        target,
                        parts[-1],
                        functools.partial(copied.copy, source),
                        name,
                        Place("download file", f"the download folder {dest!r}"),
                    )
                entries.append(FileEntry(str(Path(dest) / parts[-1]), size))
    progress(copied.total, copied.total)
    return entries


def list_folder(workdir: Path, relative: str) -> list[FolderEntry]:
    """The entries of ``workdir/relative``, folders first, then by name (links are
    listed as ``other``, never followed)."""
    place = Place("path", WORK_FOLDER)
    parts = confined_paths.parts_of(relative or ".", place)
    with (
        confined_paths.open_root(workdir, place) as root,
        confined_paths.open_folder(root, parts, relative, place) as folder,
    ):
        found = confined_paths.list_entries(folder)
    entries: list[FolderEntry] = []
    for name, st in found:
        kind = (
            "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
        )
        entries.append(FolderEntry(name, "/".join([*parts, name]), kind, st.st_size, st.st_mtime))
    entries.sort(key=lambda e: (e.type != "dir", e.name))
    return entries
