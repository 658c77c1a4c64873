"""Create (once) a separate virtual environment with the official ``backend.ai-client`` SDK.

The SDK resolved on Python 3.11 (23.9.x) pins aiohttp~=3.8 and friends, which conflict with the
project venv, so it lives in ``<repo>/.venv-sdk`` (gitignored). ``yarl`` is pinned to 1.9.4 because
the 23.9 signer reads a private yarl attribute (reference Appendix D).

Usage: ``python tests/backendai/sdk_venv.py`` prints the SDK venv's python; tests call
:func:`sdk_python` which returns it or ``None`` when it cannot be created (no network).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("RUNBRIDGE_SDK_VENV", ROOT / ".venv-sdk"))
REQUIREMENTS = ["backend.ai-client>=23.9,<24", "yarl==1.9.4"]
STAMP = VENV / ".runbridge-sdk-ok"


def python_path() -> Path:
    return VENV / "bin" / "python"


def ensure() -> Path:
    """The SDK venv's python, created first if needed. Test processes running side by side
    (pytest -n 2) wait for each other on a lock next to the venv instead of both building it."""
    py = python_path()
    if STAMP.exists() and py.exists():
        return py
    VENV.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{VENV}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _build(py)
    finally:
        os.close(fd)


def _build(py: Path) -> Path:
    if STAMP.exists() and py.exists():  # built by another process while this one waited
        return py
    if not py.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    subprocess.run(
        [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", *REQUIREMENTS],
        check=True,
    )
    subprocess.run([str(py), "-c", "import ai.backend.client.session"], check=True)
    STAMP.write_text("\n".join(REQUIREMENTS) + "\n")
    return py


def sdk_python() -> Path | None:
    try:
        return ensure()
    except (subprocess.CalledProcessError, OSError):
        return None


if __name__ == "__main__":
    print(ensure())
    sys.exit(0)
