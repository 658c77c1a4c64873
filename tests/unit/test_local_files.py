"""The local backend's file copies check and use a path in one step (no window between)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runbridge.backends.local import files as local_files
from runbridge.errors import FileError


def flip_to_link_when_touched(
    monkeypatch: pytest.MonkeyPatch, path: Path, target: Path
) -> list[str]:
    """Replace the file ``path`` by a link to ``target`` the first time anything looks at
    it by name: a path check (``Path.resolve``) or an open (``os.open``). A check made
    before using the path then sees the file; the use meets the link."""
    flipped: list[str] = []

    def flip(how: str) -> None:
        if not flipped:
            flipped.append(how)
            path.unlink()
            path.symlink_to(target)

    real_resolve = Path.resolve
    real_open = os.open

    def resolve(self: Path, strict: bool = False) -> Path:
        result = real_resolve(self, strict)
        if self.name == path.name:
            flip("resolve")
        return result

    def open_(file: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if os.fsdecode(file).endswith(path.name):
            flip("open")
        return real_open(file, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(Path, "resolve", resolve)
    monkeypatch.setattr(os, "open", open_)
    return flipped


def test_a_file_turned_into_a_link_after_the_check_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "report.txt").write_text("the report\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the work folder\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    flipped = flip_to_link_when_touched(monkeypatch, workdir / "report.txt", secret)
    with pytest.raises(FileError, match="symbolic link"):
        local_files.copy_out(workdir, ["report.txt"], str(dest), lambda done, total: None)
    assert flipped  # the flip happened, before the read
    assert list(dest.iterdir()) == []


def test_a_folder_turned_into_a_link_after_the_check_is_not_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "work"
    (workdir / "data").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text("no")
    flipped: list[str] = []
    real_resolve = Path.resolve
    real_open = os.open

    def flip() -> None:
        if not flipped:
            flipped.append("x")
            (workdir / "data").rmdir()
            (workdir / "data").symlink_to(outside)

    def resolve(self: Path, strict: bool = False) -> Path:
        result = real_resolve(self, strict)
        if self.name == "data":
            flip()
        return result

    def open_(file: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if os.fsdecode(file).endswith("data"):
            flip()
        return real_open(file, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(Path, "resolve", resolve)
    monkeypatch.setattr(os, "open", open_)
    with pytest.raises(FileError, match="symbolic link"):
        local_files.list_folder(workdir, "data")
    assert flipped


def test_fifos_and_folders_in_the_way_are_file_errors(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    os.mkfifo(workdir / "pipe")  # opening it to read would wait for a writer
    dest = tmp_path / "dest"
    with pytest.raises(FileError, match="'pipe'"):
        local_files.copy_out(workdir, ["pipe"], str(dest), lambda done, total: None)
    (workdir / "taken.txt").mkdir()
    src = tmp_path / "taken.txt"
    src.write_text("a file")
    with pytest.raises(FileError, match=r"'taken\.txt' is a folder"):
        local_files.copy_in(workdir, [str(src)], ".", lambda done, total: None)
    assert sorted(p.name for p in workdir.iterdir()) == ["pipe", "taken.txt"]


def test_a_download_replaces_a_link_in_dest_instead_of_writing_through_it(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "out.txt").write_text("from the session")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "out.txt").symlink_to(victim)
    local_files.copy_out(workdir, ["out.txt"], str(dest), lambda done, total: None)
    assert victim.read_text() == "precious"
    assert not (dest / "out.txt").is_symlink()
    assert (dest / "out.txt").read_text() == "from the session"
