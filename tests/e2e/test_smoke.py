"""The first thing a newcomer does, from each editor's real client capabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import CLIENTS, Daemon, start_daemon


async def test_hello_world_is_streamed(daemon: Daemon) -> None:
    result = await daemon.run("print('hello, world')", session="smoke")
    assert result["status"] == "finished"
    assert result["exitCode"] == 0
    assert daemon.text(result["runId"]) == "hello, world\n"


@pytest.mark.parametrize("client_name", sorted(CLIENTS))
async def test_session_start_progress_run_and_prompt(tmp_path: Path, client_name: str) -> None:
    """Open with server-created progress, run with a prompt, as VS Code and Neovim would."""
    async with start_daemon(tmp_path / "home", client_name) as daemon:
        info = await daemon.request("runbridge/openSession", {"name": "first"})
        assert (info["state"], info["created"]) == ("idle", True)
        # Both editors advertise window.workDoneProgress, so session start is reported.
        titles = [
            report.title
            for reports in daemon.client.progress_reports.values()
            for report in reports
            if getattr(report, "kind", "") == "begin"
        ]
        assert "Starting session first" in titles
        daemon.answer = lambda params: {"value": "Ada"}
        result = await daemon.run("name = input('name? ')\nprint('hi', name)", session="first")
        assert result["status"] == "finished"
        assert daemon.text(result["runId"]) == "name? Ada\nhi Ada\n"
        states = [s["state"] for s in daemon.states if s["name"] == "first"]
        assert states == ["starting", "idle", "busy", "idle"]
