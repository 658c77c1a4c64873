"""The jupyter backend's record of session name -> kernel id, on a disk that misbehaves."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from runbridge.backends.jupyter.kernel_store import KernelStore

SERVER = "http://127.0.0.1:8888/"
ENTRY = {"kernel_id": "k-1", "kernel_name": "python3"}


def test_the_store_is_private_and_never_written_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = tmp_path / "state"
    folder.mkdir()
    # a link at the name the store used for its temporary file (NAME.<pid>.tmp)
    (folder / f"k.json.{os.getpid()}.tmp").symlink_to(victim)
    store = KernelStore(folder / "k.json")
    store.put(SERVER, "a", ENTRY)
    assert victim.read_text() == "precious"
    assert store.get(SERVER, "a") == ENTRY
    assert stat.S_IMODE((folder / "k.json").stat().st_mode) == 0o600
    assert [
        p.name for p in folder.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()
    ] == []


def test_a_store_that_cannot_be_written_costs_a_warning_not_the_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    store = KernelStore(blocker / "state" / "k.json")
    with caplog.at_level(logging.WARNING):
        store.put(SERVER, "a", ENTRY)  # must not raise
    assert "cannot record the kernel of session 'a'" in caplog.text
    assert store.get(SERVER, "a") is None
