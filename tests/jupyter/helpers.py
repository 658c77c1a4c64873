"""Helpers of the ``jupyter`` daemon suite."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Daemon


async def open_session(daemon: Daemon, name: str, **extra: Any) -> dict[str, Any]:
    info: dict[str, Any] = await daemon.request("runbridge/openSession", {"name": name, **extra})
    return info


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def states_of(daemon: Daemon, session: str) -> list[str]:
    return [s["state"] for s in daemon.states if s["name"] == session]


def assert_secret_nowhere(daemon: Daemon, secrets: list[str], *answers: Any) -> None:
    """No secret in the given answers, nor in any file the daemon wrote (logs, transcripts,
    state)."""
    for answer in answers:
        for secret in secrets:
            assert secret not in repr(answer), answer
    for path in daemon.home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, f"a secret is in {path}"
