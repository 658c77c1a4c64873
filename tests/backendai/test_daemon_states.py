"""While Backend.AI schedules a session, the editor sees its status words."""

from __future__ import annotations

from pathlib import Path

from tests.backendai_emulator import Emulator
from tests.e2e.conftest import start_daemon

AK = "AKIASTATESEXAMPLE0001"
SK = "states-secret-key-0123456789abcdefghij"


async def test_scheduling_status_reaches_session_changed_and_progress(tmp_path: Path) -> None:
    async with Emulator(
        generation="new", access_key=AK, secret_key=SK, scheduling_delay=0.6
    ) as emu:
        options = {
            "profiles": {
                "bai": {"type": "backendai", "endpoint": emu.url, "access_key": AK,
                        "secret_key": SK, "image": "python:3.11"}
            },
            "profile": "bai",
        }  # fmt: skip
        async with start_daemon(tmp_path / "home", "vscode", options) as daemon:
            info = await daemon.request("runbridge/openSession", {"name": "sched-1"})
            assert (info["backend"], info["state"]) == ("backendai", "idle")
            assert info["backendStatus"] == "RUNNING"
            statuses = [s.get("backendStatus") for s in daemon.states if s["name"] == "sched-1"]
            assert "PENDING" in statuses and "RUNNING" in statuses
            assert statuses.index("PENDING") < statuses.index("RUNNING")
            messages = [
                getattr(report, "message", None)
                for reports in daemon.client.progress_reports.values()
                for report in reports
                if getattr(report, "kind", "") == "report"
            ]
            assert "PENDING" in messages
            result = await daemon.run("print(6 * 7)", session="sched-1")
            assert result["status"] == "finished", result
            assert daemon.text(result["runId"]) == "42\n"
            await daemon.request("runbridge/closeSession", {"name": "sched-1"})
