"""Sessions over the real protocol on the ``local`` backend: open/reuse, conflicts, env,
errors, progress (open-or-reuse, restart and close on every backend: tests/conformance)."""

from __future__ import annotations

import asyncio
import functools
import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon, start_daemon
from tests.e2e.helpers import progress_ended, rpc_error, states_of

SESSION_KEYS = {"name", "profile", "backend", "image", "state", "created", "workdir"}


async def listed(daemon: Daemon) -> dict[str, dict[str, Any]]:
    result = await daemon.request("runbridge/listSessions")
    return {s["name"]: s for s in result["sessions"]}


async def stdout_of(daemon: Daemon, session: str, code: str) -> str:
    result = await daemon.run(code, session=session)
    assert result["status"] == "finished", result
    assert result["exitCode"] == 0, result
    return daemon.text(result["runId"])


async def test_open_returns_session_info_and_reopen_reuses_it(daemon: Daemon) -> None:
    first = await daemon.request("runbridge/openSession", {"name": "s-open"})
    assert first.keys() >= SESSION_KEYS
    assert first["name"] == "s-open"
    assert first["profile"] == "local"
    assert first["backend"] == "local"
    assert first["image"] == "python3"
    assert first["state"] == "idle"
    assert first["created"] is True
    workdir = first["workdir"]
    assert os.path.isabs(workdir)
    assert os.path.isdir(workdir)
    assert str(daemon.home) in os.path.realpath(workdir)
    assert states_of(daemon, "s-open")[:1] == ["starting"]
    assert states_of(daemon, "s-open")[-1] == "idle"

    await stdout_of(daemon, "s-open", "kept = 'still here'")
    again = await daemon.request("runbridge/openSession", {"name": "s-open", "image": "python3"})
    assert again["created"] is False
    assert again["workdir"] == workdir
    assert again["state"] == "idle"
    # reuse means the same kernel: the variable survives
    assert await stdout_of(daemon, "s-open", "print(kept)") == "still here\n"

    sessions = await listed(daemon)
    assert "s-open" in sessions
    assert sessions["s-open"]["workdir"] == workdir
    assert sessions["s-open"]["state"] == "idle"


async def test_workdir_is_the_kernel_cwd(daemon: Daemon) -> None:
    info = await daemon.request("runbridge/openSession", {"name": "s-cwd"})
    cwd = await stdout_of(daemon, "s-cwd", "import os; print(os.getcwd())")
    assert os.path.realpath(cwd.strip()) == os.path.realpath(info["workdir"])
    # distinct sessions get distinct work folders
    other = await daemon.request("runbridge/openSession", {"name": "s-cwd-2"})
    assert os.path.realpath(other["workdir"]) != os.path.realpath(info["workdir"])


async def test_same_name_with_other_image_is_a_clear_error(daemon: Daemon) -> None:
    await daemon.request("runbridge/openSession", {"name": "s-conflict"})
    await stdout_of(daemon, "s-conflict", "x = 41")
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "s-conflict", "image": "other-kernel"}
    )
    assert "s-conflict" in error.message
    assert "other-kernel" in error.message
    assert "python3" in error.message
    # the first session is untouched and still works
    assert await stdout_of(daemon, "s-conflict", "print(x + 1)") == "42\n"
    assert (await listed(daemon))["s-conflict"]["image"] == "python3"


async def test_env_reaches_the_kernel(daemon: Daemon) -> None:
    await daemon.request(
        "runbridge/openSession",
        {"name": "s-env", "env": {"RB_E2E_VAR": "value with spaces ✓", "RB_OTHER": "2"}},
    )
    out = await stdout_of(
        daemon, "s-env", "import os; print(os.environ['RB_E2E_VAR']); print(os.environ['RB_OTHER'])"
    )
    assert out == "value with spaces ✓\n2\n"
    # another session does not see it
    await daemon.request("runbridge/openSession", {"name": "s-noenv"})
    out = await stdout_of(daemon, "s-noenv", "import os; print(os.environ.get('RB_E2E_VAR'))")
    assert out == "None\n"


async def test_unknown_kernelspec_is_a_clear_error_and_leaves_nothing(daemon: Daemon) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "s-badspec", "image": "no-such-kernel"}
    )
    assert "no-such-kernel" in error.message
    assert "python3" in error.message  # names what is installed
    assert "Traceback" not in error.message
    assert "s-badspec" not in await listed(daemon)
    assert states_of(daemon, "s-badspec")[-1] == "closed"
    # nothing half-open is left: a run on it is refused by name rather than hanging
    error = await rpc_error(daemon, "runbridge/interrupt", {"session": "s-badspec"})
    assert "s-badspec" in error.message
    # the name is free again
    info = await daemon.request("runbridge/openSession", {"name": "s-badspec"})
    assert info["created"] is True
    assert info["image"] == "python3"
    assert await stdout_of(daemon, "s-badspec", "print('recovered')") == "recovered\n"


async def test_unknown_profile_is_a_clear_error(daemon: Daemon) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "s-badprofile", "profile": "nope-profile"}
    )
    assert "nope-profile" in error.message
    assert "local" in error.message  # lists the known profiles
    assert "s-badprofile" not in await listed(daemon)
    assert "s-badprofile" not in {s["name"] for s in daemon.states}


async def test_bad_params_are_invalid_params(daemon: Daemon) -> None:
    error = await rpc_error(daemon, "runbridge/openSession", {"image": "python3"})
    assert error.code == -32602
    assert "name" in error.message
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "s-x", "env": {"A": 1}})
    assert error.code == -32602
    assert "env.A" in error.message
    assert "s-x" not in await listed(daemon)


async def test_interrupt_idle_session_is_harmless(daemon: Daemon) -> None:
    await daemon.request("runbridge/openSession", {"name": "s-int-idle"})
    await stdout_of(daemon, "s-int-idle", "keep = 'k'")
    mark = len(daemon.states)
    info = await daemon.request("runbridge/interrupt", {"session": "s-int-idle"})
    assert info["name"] == "s-int-idle"
    assert info["state"] == "idle"
    assert "dead" not in states_of(daemon, "s-int-idle", mark)
    assert await stdout_of(daemon, "s-int-idle", "print(keep)") == "k\n"
    assert (await listed(daemon))["s-int-idle"]["state"] == "idle"


async def test_concurrent_opens_share_one_session(daemon: Daemon) -> None:
    first, second = await asyncio.gather(
        daemon.request("runbridge/openSession", {"name": "s-race"}),
        daemon.request("runbridge/openSession", {"name": "s-race"}),
    )
    assert sorted([first["created"], second["created"]]) == [False, True]
    assert first["workdir"] == second["workdir"]
    assert first["state"] == second["state"] == "idle"
    # one kernel: a variable set through one is seen through the other
    await stdout_of(daemon, "s-race", "shared = 5")
    assert await stdout_of(daemon, "s-race", "print(shared)") == "5\n"
    assert [s["name"] for s in (await daemon.request("runbridge/listSessions"))["sessions"]].count(
        "s-race"
    ) == 1


async def test_open_and_restart_report_progress_on_the_client_token(daemon: Daemon) -> None:
    # Client-chosen tokens need no window/workDoneProgress/create; pytest-lsp only
    # knows the tokens it created, so tell it about ours.
    for token in ("tok-open", "tok-restart"):
        daemon.client.progress_reports[token] = []
    await daemon.request("runbridge/openSession", {"name": "s-tok", "workDoneToken": "tok-open"})
    await daemon.request("runbridge/restart", {"session": "s-tok", "workDoneToken": "tok-restart"})
    for token in ("tok-open", "tok-restart"):
        await daemon.wait_for(functools.partial(progress_ended, daemon, token), timeout=10)
        reports = daemon.client.progress_reports[token]
        assert isinstance(reports[0], types.WorkDoneProgressBegin), reports
        assert "s-tok" in reports[0].title
        assert isinstance(reports[-1], types.WorkDoneProgressEnd), reports


async def test_cancelling_the_start_progress_abandons_the_session(daemon: Daemon) -> None:
    token = "tok-cancel-open"
    daemon.client.progress_reports[token] = []
    opening = asyncio.ensure_future(
        daemon.request(
            "runbridge/openSession",
            # an env a spare kernel cannot take: a fresh kernel starts, so the start is still
            # under way when the cancel arrives (a spare would be adopted within milliseconds)
            {"name": "s-abandon", "workDoneToken": token, "env": {"PYTHONDONTWRITEBYTECODE": "1"}},
        )
    )
    await daemon.wait_for(lambda: daemon.client.progress_reports[token], timeout=10)
    begin = daemon.client.progress_reports[token][0]
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable is True
    daemon.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(opening, 30)
    assert "starting session 's-abandon' was cancelled" in str(caught.value)
    await daemon.wait_for(functools.partial(progress_ended, daemon, token), timeout=10)
    assert daemon.client.progress_reports[token][-1].message == "cancelled"
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "s-abandon" not in [s["name"] for s in listed]
    # the name is free: opening it again starts a working session
    info = await daemon.request("runbridge/openSession", {"name": "s-abandon"})
    assert info["created"] is True and info["state"] == "idle"
    await daemon.request("runbridge/closeSession", {"name": "s-abandon"})


async def test_a_session_idle_past_its_profiles_timeout_is_closed(tmp_path: Path) -> None:
    timeout_s = 1.2
    options = {"profiles": {"local": {"type": "local", "idle_timeout_minutes": timeout_s / 60}}}
    async with start_daemon(tmp_path / "home", init_options=options) as daemon:
        await daemon.request("runbridge/openSession", {"name": "s-idle"})
        started = time.time()
        kernel_pid = int(await stdout_of(daemon, "s-idle", "import os; print(os.getpid())"))
        ran = time.time()
        kernel = psutil.Process(kernel_pid)
        info = (await listed(daemon))["s-idle"]
        assert started <= info["lastActivity"] <= ran  # the run's end
        await daemon.wait_for(lambda: states_of(daemon, "s-idle")[-1] == "closed", 15)
        # counted from the daemon's last activity (the test saw the run end later, by as
        # much as the reply took to arrive: 0.22 s once on a loaded machine)
        assert time.time() - info["lastActivity"] >= timeout_s * 0.9
        assert await listed(daemon) == {}
        closed = [s for s in daemon.states if s["name"] == "s-idle"][-1]
        assert closed["lastActivity"] == info["lastActivity"]
        gone = psutil.wait_procs([kernel], timeout=10)[0]
        assert [p.pid for p in gone] == [kernel_pid], "the kernel process ended with its session"
