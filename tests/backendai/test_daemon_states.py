"""While Backend.AI schedules a session, the editor sees its status words."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

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


async def test_a_session_held_preparing_shows_it_until_it_runs(tmp_path: Path) -> None:
    """A cluster that takes its time (pulling an image): the editor sees PREPARING in
    the session's state and in the start progress while it lasts, then RUNNING."""
    gate = asyncio.Event()
    async with Emulator(
        generation="old", access_key=AK, secret_key=SK, scheduling_delay=0.2,
        preparing_gate=gate,
    ) as emu:  # fmt: skip
        options = {
            "profiles": {"bai": {"type": "backendai", "endpoint": emu.url,
                                 "access_key": AK, "secret_key": SK}},
            "profile": "bai",
        }  # fmt: skip
        async with start_daemon(tmp_path / "home", "vscode", options) as daemon:
            token = "tok-preparing"
            daemon.client.progress_reports[token] = []
            opening = asyncio.ensure_future(
                daemon.request("runbridge/openSession", {"name": "prep-1", "workDoneToken": token})
            )

            def statuses() -> list[str | None]:
                return [s.get("backendStatus") for s in daemon.states if s["name"] == "prep-1"]

            await daemon.wait_for(lambda: "PREPARING" in statuses(), timeout=15)
            await asyncio.sleep(0.6)  # a few more polls while the cluster prepares
            assert not opening.done()
            seen = statuses()
            assert seen[-1] == "PREPARING", seen
            assert daemon.states[-1]["state"] == "starting"
            messages = [
                r.message
                for r in daemon.client.progress_reports[token]
                if isinstance(r, types.WorkDoneProgressReport)
            ]
            assert "PREPARING" in messages, messages
            gate.set()
            info = await asyncio.wait_for(opening, 30)
            assert (info["state"], info["backendStatus"]) == ("idle", "RUNNING")
            seen = [s for s in statuses() if s]
            assert seen.index("PENDING") < seen.index("PREPARING") < seen.index("RUNNING"), seen
            # one state change per status word: polling the same status again adds none
            assert seen.count("PREPARING") == 1, seen
            await daemon.request("runbridge/closeSession", {"name": "prep-1"})
