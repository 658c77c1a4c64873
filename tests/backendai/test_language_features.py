"""Completion on ``backendai``: the manager's completion endpoint, which the emulator answers
as the stock runners do (an empty list whatever the code), and what runbridge then does:
empty answers, and the editor told once per session that completion is not available."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.backendai.daemon_helpers import init_options
from tests.backendai_emulator import Emulator
from tests.e2e.conftest import Daemon, start_daemon
from tests.e2e.test_language_features import ask, at, complete, open_document

pytestmark = pytest.mark.timeout(60)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-bai-lang-"))
    async with contextlib.AsyncExitStack() as stack:
        yield await stack.enter_async_context(
            start_daemon(home, init_options=init_options(emu.url))
        )


def notes(daemon: Daemon) -> list[str]:
    return [
        m.message
        for m in daemon.client.messages
        if m.type == types.MessageType.Info and "not available" in m.message
    ]


async def test_completion_is_empty_and_said_once(daemon: Daemon, emu: Emulator) -> None:
    result = await daemon.run("kernel_only_name_42 = 1\nimport os")  # session "default"
    assert result["status"] == "finished", result
    uri = open_document(daemon, "kernel_only\nos.pa\nlen(")
    before = len(emu.requests_log)
    assert await complete(daemon, uri, 0, 11) == {"isIncomplete": False, "items": []}
    asked = [r for r in list(emu.requests_log)[before:] if r["path"].endswith("/complete")]
    assert [r["method"] for r in asked] == ["POST"]  # the manager was asked
    assert notes(daemon) == [
        "runbridge: completion, hover and signature help are not available in Backend.AI "
        "sessions (the session's runner answers completion requests with an empty list)"
    ]
    # again: still empty, not said twice
    assert (await complete(daemon, uri, 1, 5))["items"] == []
    assert len(notes(daemon)) == 1
    assert await ask(daemon, "textDocument/hover", at(uri, 0, 3)) is None
    assert await ask(daemon, "textDocument/signatureHelp", at(uri, 2, 4)) is None
    await daemon.request("runbridge/closeSession", {"name": "default"})
