"""Keys, images and profiles for daemons driving the Backend.AI emulator (test_daemon_backendai,
the conformance suite), and daemons started without the SDK's key variables."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from runbridge.backends.backendai.profile import ENV_PREFIXES
from tests.e2e.conftest import Daemon, start_daemon

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
WRONG_SECRET = "wrongSECRETwrongSECRETwrongSECRETwrong00"
IMAGE = "cr.backend.ai/stable/python:3.11-ubuntu22.04"
OTHER_IMAGE = "cr.backend.ai/stable/python:3.9-ubuntu20.04"


def profile(endpoint: str, secret_key: str = SECRET_KEY, **extra: Any) -> dict[str, Any]:
    return {
        "type": "backendai",
        "endpoint": endpoint,
        "access_key": ACCESS_KEY,
        "secret_key": secret_key,
        "image": IMAGE,
        "timeout": 5,
        **extra,
    }


def init_options(endpoint: str, **more_profiles: dict[str, Any]) -> dict[str, Any]:
    return {"profiles": {"bai": profile(endpoint), **more_profiles}, "profile": "bai"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The SDK's variables for the manager and the keypair (``BACKEND_ENDPOINT``, ...): the
#: tests' daemons must take their keys from the profile only.
SDK_KEY_VARIABLES = tuple(
    prefix + key for prefix in ENV_PREFIXES for key in ("ENDPOINT", "ACCESS_KEY", "SECRET_KEY")
)


@contextlib.contextmanager
def without_sdk_keys() -> Iterator[None]:
    """This process's environment without :data:`SDK_KEY_VARIABLES` (for what it starts)."""
    with pytest.MonkeyPatch.context() as env:
        for name in SDK_KEY_VARIABLES:
            env.delenv(name, raising=False)
        yield


@contextlib.asynccontextmanager
async def daemon_in(home: Path, options: dict[str, Any]) -> AsyncIterator[Daemon]:
    """A daemon in ``home`` with ``options`` (initializationOptions), started without the
    SDK's key variables; it exits when the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        with without_sdk_keys():
            started = await stack.enter_async_context(start_daemon(home, init_options=options))
        yield started
