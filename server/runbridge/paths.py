"""Every folder runbridge writes to, in one place.

The platformdirs defaults can be moved with environment variables, which the
tests use to keep each daemon in its own temporary tree:

- ``RUNBRIDGE_CONFIG_DIR``: holds ``config.toml``
- ``RUNBRIDGE_DATA_DIR``: session work folders (``sessions/<name>``)
- ``RUNBRIDGE_STATE_DIR``: transcripts and runtime files (kernel connection files)
- ``RUNBRIDGE_LOG_DIR``: ``daemon.log`` and kernel logs
- ``RUNBRIDGE_CACHE_DIR``: media saved by the CLI
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP = "runbridge"


def _dir(env: str, default: str) -> Path:
    value = os.environ.get(env)
    path = Path(value) if value else Path(default)
    path.mkdir(parents=True, exist_ok=True)
    return path


FOLDER_VARIABLES = ("CONFIG", "DATA", "STATE", "LOG", "CACHE")


def environment_under(base: Path) -> dict[str, str]:
    """Env vars that put every runbridge folder under ``base`` (tests, benchmarks, demos)."""
    overrides = {}
    for name in FOLDER_VARIABLES:
        folder = base / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        overrides[f"RUNBRIDGE_{name}_DIR"] = str(folder)
    return overrides


def config_dir() -> Path:
    return _dir("RUNBRIDGE_CONFIG_DIR", platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return _dir("RUNBRIDGE_DATA_DIR", platformdirs.user_data_dir(APP))


def state_dir() -> Path:
    return _dir("RUNBRIDGE_STATE_DIR", platformdirs.user_state_dir(APP))


def log_dir() -> Path:
    return _dir("RUNBRIDGE_LOG_DIR", platformdirs.user_log_dir(APP))


def cache_dir() -> Path:
    return _dir("RUNBRIDGE_CACHE_DIR", platformdirs.user_cache_dir(APP))


def config_file() -> Path:
    override = os.environ.get("RUNBRIDGE_CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longer names are cut (and hashed) so that file names stay under the 255-byte limit.
_MAX_NAME = 80


def safe_name(name: str) -> str:
    """A file-system-safe form of a session name (distinct names stay distinct)."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "session"
    if cleaned != name or len(cleaned) > _MAX_NAME:
        cleaned = f"{cleaned[:_MAX_NAME]}-{abs(hash_name(name)):08x}"
    return cleaned


def hash_name(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode("utf-8"))


def session_workdir(name: str) -> Path:
    """Where session ``name`` keeps its files (created by the backend when it starts)."""
    return data_dir() / "sessions" / safe_name(name)


def transcript_file(name: str) -> Path:
    folder = state_dir() / "transcripts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{safe_name(name)}.jsonl"


def runtime_dir() -> Path:
    """A private (0700) folder for kernel connection files and IPC sockets."""
    folder = state_dir() / "runtime"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder
