"""Shared test setup: every daemon and CLI gets its own temporary folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runbridge import paths

ROOT = Path(__file__).resolve().parent.parent


def isolated_env(base: Path) -> dict[str, str]:
    """Environment for a daemon whose config, data, state, logs and cache live under ``base``."""
    env = {**os.environ, **paths.environment_under(base)}
    env.pop("RUNBRIDGE_PROFILE", None)
    # ipykernel stops capturing fd-level output when it believes it runs under pytest.
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("RUNBRIDGE_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def rb_home(tmp_path: Path) -> Path:
    return tmp_path / "rbhome"


PYTHON = sys.executable
