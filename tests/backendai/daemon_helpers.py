"""Keys, images and profiles for daemons driving the Backend.AI emulator (test_daemon_backendai,
the conformance suite)."""

from __future__ import annotations

import socket
from typing import Any

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
