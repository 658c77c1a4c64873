"""Helpers for driving the real daemon against the Backend.AI emulator (test_daemon_backendai)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon

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


async def rpc_error(daemon: Daemon, method: str, params: dict[str, Any]) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request(method, params)
    return caught.value


def error_data(error: JsonRpcException) -> dict[str, Any]:
    data: Any = error.data
    if data is None:
        return {}
    if hasattr(data, "_asdict"):
        data = data._asdict()
    return dict(data)
