"""Python code run as another local user (``nobody``): the adversary of the loopback and
socket tests. Needs root; the system's Python, which ``nobody`` may execute."""

from __future__ import annotations

import os
import subprocess

import pytest

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
as_root = pytest.mark.skipif(
    os.geteuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK),
    reason="needs root and /usr/bin/python3 to act as another user (CI has both)",
)


def start_as_nobody(code: str, *args: str) -> subprocess.Popen[str]:
    """``code`` (isolated mode, ``sys.argv[1:] == args``) as uid/gid 65534, text pipes."""
    return subprocess.Popen(
        [SYSTEM_PYTHON, "-I", "-c", code, *args],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        cwd="/",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
