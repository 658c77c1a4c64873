"""Shared test setup: every daemon and CLI gets its own temporary folders."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbridge import paths
from tests.jupyter.servers import EnterpriseGateway

ROOT = Path(__file__).resolve().parent.parent
# A `runbridge serve` started by a test without isolated_env never reaches this
# user's session host.
os.environ["RUNBRIDGE_STANDALONE"] = "1"


def isolated_env(base: Path) -> dict[str, str]:
    """Environment for a daemon whose config, data, state, logs and cache live under ``base``."""
    env = {**os.environ, **paths.environment_under(base)}
    env.pop("RUNBRIDGE_PROFILE", None)
    # ipykernel stops capturing fd-level output when it believes it runs under pytest.
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("RUNBRIDGE_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    # A runtime folder (the session host's socket) of this base's own, with a short path
    # (a Unix socket path holds 107 bytes); `runbridge serve` is the in-process daemon
    # unless a test of the host removes RUNBRIDGE_STANDALONE.
    env["XDG_RUNTIME_DIR"] = str(runtime_dir_for(base))
    env.pop("RUNBRIDGE_HOST_SOCKET", None)
    env["RUNBRIDGE_STANDALONE"] = "1"
    return env


def runtime_dir_for(base: Path) -> Path:
    """A private folder with a short path, one per ``base``."""
    digest = hashlib.sha256(str(base).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"rbt-{digest}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@pytest.fixture
def rb_home(tmp_path: Path) -> Path:
    return tmp_path / "rbhome"


PYTHON = sys.executable


@pytest.fixture(scope="session")
def enterprise_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnterpriseGateway]:
    """One Jupyter Enterprise Gateway 3.3.0 for the whole test session (tests/jupyter and
    tests/conformance share it): on 127.0.0.1 with a random token, ``--port_retries=0``,
    ``EG_AUTHORIZED_USERS`` = :data:`~tests.jupyter.servers.EG_USER`, ``EG_LIST_KERNELS``
    on. It needs ``.venv-eg`` (scripts/eg-venv); without it the tests using it fail."""
    gateway = EnterpriseGateway(tmp_path_factory.mktemp("enterprise-gateway"))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for ``pytest -n 2 --dist loadgroup`` (scripts/test): the tests of a module
    whose fixtures are shared by the module (a daemon, a server, an emulator) run on one
    worker, so those start once; a package-scoped fixture's tests (the conformance
    backends) likewise. A test with only its own fixtures is a group of its own."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        scopes: set[str] = set()
        if info is not None:
            for defs in info.name2fixturedefs.values():
                scopes.update(d.scope for d in defs)
        if "package" in scopes:
            group = item.path.parent.relative_to(ROOT).as_posix()
        elif scopes & {"module", "class"}:
            group = item.path.relative_to(ROOT).as_posix()
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
