"""The emulator the daemon suites of this folder run against: one per wire generation
("old", "new"), shared by a module's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.backendai.daemon_helpers import ACCESS_KEY, SECRET_KEY
from tests.backendai_emulator import Emulator


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["old", "new"])
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async with Emulator(
        generation=request.param,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        scheduling_delay=0.1,
        flush_timeout=0.5,  # REST execute: "continued" every 0.5 s (2 s on a real agent)
    ) as emulator:
        yield emulator
