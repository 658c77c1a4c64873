"""Copying files into and out of a local session's work folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runbridge.backends.base import ProgressCallback
from runbridge.errors import FileError
from runbridge.sessions.model import FileEntry, FolderEntry

_CHUNK = 1024 * 1024


def inside(root: Path, relative: str, what: str) -> Path:
    """``root/relative``, refusing any path that escapes ``root``."""
    if os.path.isabs(relative):
        raise FileError(f"{what} {relative!r} must be relative to the session work folder")
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise FileError(f"{what} {relative!r} is outside the session work folder", path=relative)
    return resolved


def _copy(src: Path, dst: Path, done: int, total: int, progress: ProgressCallback) -> int:
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(dst.name + ".part-runbridge")
    try:
        with src.open("rb") as fin, partial.open("wb") as fout:
            while chunk := fin.read(_CHUNK):
                fout.write(chunk)
                done += len(chunk)
                progress(done, total)
        os.replace(partial, dst)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return done


def _copy_all(
    sources: list[Path], target_dir: Path, progress: ProgressCallback
) -> list[tuple[Path, int]]:
    """Copy each source into ``target_dir``, reporting bytes over all files."""
    total = sum(p.stat().st_size for p in sources)
    done = 0
    copied: list[tuple[Path, int]] = []
    for src in sources:
        dst = target_dir / src.name
        done = _copy(src, dst, done, total, progress)
        copied.append((dst, dst.stat().st_size))
    progress(total, total)
    return copied


def copy_in(
    workdir: Path, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy local ``files`` into ``workdir/dest``; all are checked before any is copied."""
    target_dir = inside(workdir, dest or ".", "dest")
    sources: list[Path] = []
    for name in files:
        path = Path(name).expanduser()
        if not path.is_file():
            why = "is a folder (upload files)" if path.is_dir() else "does not exist"
            raise FileError(f"upload file {name!r} {why}", path=name)
        sources.append(path)
    copied = _copy_all(sources, target_dir, progress)
    root = workdir.resolve()
    return [FileEntry(str(dst.relative_to(root)), size) for dst, size in copied]


def copy_out(
    workdir: Path, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy ``files`` (relative to ``workdir``) into the local folder ``dest``."""
    if not os.path.isabs(dest):
        raise FileError(f"download dest {dest!r} must be an absolute folder path", path=dest)
    sources = [inside(workdir, name, "download file") for name in files]
    for name, path in zip(files, sources, strict=True):
        if not path.is_file():
            raise FileError(f"download file {name!r} does not exist in the work folder", path=name)
    copied = _copy_all(sources, Path(dest), progress)
    return [FileEntry(str(dst), size) for dst, size in copied]


def list_folder(workdir: Path, relative: str) -> list[FolderEntry]:
    """The entries of ``workdir/relative``, folders first, then by name."""
    folder = inside(workdir, relative or ".", "path")
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise FileError(f"path {relative!r} {why} in the session work folder", path=relative)
    root = workdir.resolve()
    entries: list[FolderEntry] = []
    for child in folder.iterdir():
        try:
            st = child.lstat()
        except OSError:
            continue
        kind = (
            "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
        )
        rel = str((folder / child.name).relative_to(root))
        entries.append(FolderEntry(child.name, rel, kind, st.st_size, st.st_mtime))
    entries.sort(key=lambda e: (e.type != "dir", e.name))
    return entries
