"""Helpers for driving the real daemon against the Backend.AI emulator (test_daemon_backendai)."""

from __future__ import annotations

import asyncio
import base64
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


async def start_run(daemon: Daemon, session: str, code: str, marker: str) -> asyncio.Task[Any]:
    """Start a run in the background and wait until its stdout shows ``marker``."""
    before = set(daemon.outputs)
    task = asyncio.create_task(daemon.run(code, session=session))

    def seen() -> bool:
        if task.done():
            return True
        return any(
            marker in daemon.text(rid)
            for rid in daemon.outputs
            if rid not in before and daemon.outputs[rid][0]["session"] == session
        )

    await daemon.wait_for(seen, timeout=30)
    if task.done():
        raise AssertionError(f"the run ended before printing {marker!r}: {task.result()}")
    return task


def png_code(png: bytes) -> str:
    """Kernel code that displays ``png`` (IPython.display, no matplotlib needed)."""
    encoded = base64.b64encode(png).decode()
    return (
        "import base64\nfrom IPython.display import display, Image\n"
        f"display(Image(data=base64.b64decode('{encoded}'), format='png'))\n"
    )
