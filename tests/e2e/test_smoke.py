"""The first thing a newcomer does: hello world, streamed."""

from __future__ import annotations

from tests.e2e.conftest import Daemon


async def test_hello_world_is_streamed(daemon: Daemon) -> None:
    result = await daemon.run("print('hello, world')", session="smoke")
    assert result["status"] == "finished"
    assert result["exitCode"] == 0
    assert daemon.text(result["runId"]) == "hello, world\n"
