"""Pytest fixture helpers. In a conftest or test module::

    from tests.backendai_emulator.fixtures import backendai_emulator, emulator_factory  # noqa: F401

``backendai_emulator`` is parametrized over both generations (one in-process emulator per
generation and module); ``emulator_factory(generation, **config)`` starts extra ones, stopped at
the end of the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from .server import Emulator

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="module", params=["old", "new"])
async def backendai_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async with Emulator(
        generation=request.param, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as emu:
        yield emu


@pytest.fixture
async def emulator_factory() -> AsyncIterator[Callable[..., Awaitable[Emulator]]]:
    started: list[Emulator] = []

    async def start(generation: str = "new", **config: Any) -> Emulator:
        config.setdefault("access_key", ACCESS_KEY)
        config.setdefault("secret_key", SECRET_KEY)
        emu = Emulator(generation=generation, **config)
        await emu.start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        await emu.stop()
