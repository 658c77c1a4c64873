"""Helpers of the ``jupyter`` daemon suite."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Daemon


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
