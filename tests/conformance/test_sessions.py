"""Sessions on every backend: open-or-reuse, restart, kernel death, close."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conformance.conftest import UNSUPPORTED, Target
from tests.e2e.conftest import start_run
from tests.e2e.helpers import (
    assert_gone,
    open_session,
    progress_ended,
    rpc_error,
    states_of,
)

pytestmark = pytest.mark.timeout(90)


async def listed_names(target: Target) -> list[str]:
    sessions = (await target.daemon.request("runbridge/listSessions"))["sessions"]
    return [s["name"] for s in sessions]


async def test_open_or_reuse(target: Target) -> None:
    daemon, name = target.daemon, "c-open"
    info = await open_session(daemon, name)
    assert (info["name"], info["backend"], info["profile"], info["image"]) == (
        name,
        target.backend,
        target.profile,
        target.image,
    ), info
    assert (info["state"], info["created"]) == ("idle", True), info
    states = states_of(daemon, name)
    assert states[0] == "starting" and states[-1] == "idle", states
    assert target.server_sessions(name) in (None, 1)
    result = await daemon.run("kept = 'still here'", session=name)
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    # the same name again: the same session, kernel and variables
    again = await open_session(daemon, name, image=target.image)
    assert (again["created"], again["state"], again["workdir"]) == (
        False,
        "idle",
        info["workdir"],
    ), again
    assert (await listed_names(target)).count(name) == 1
    assert target.server_sessions(name) in (None, 1)
    before = len(daemon.states)
    result = await daemon.run("print(kept)", session=name)
    assert daemon.text(result["runId"]) == "still here\n"
    await daemon.wait_for(lambda: states_of(daemon, name)[-1] == "idle", timeout=5)
    assert states_of(daemon, name, before) == ["busy", "idle"]
    # another image under the same name is a conflict; the open session is untouched
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": name, "image": target.other_image}
    )
    assert error.code == -32012, error  # SessionConflict
    for named in (name, "image", target.image, target.other_image):
        assert named in error.message, (named, error.message)
    result = await daemon.run("print(kept)", session=name)
    assert daemon.text(result["runId"]) == "still here\n"
    await daemon.request("runbridge/closeSession", {"name": name})


PID = "import os\nprint(os.getpid())"


async def test_restart_loses_variables_and_keeps_the_session(target: Target) -> None:
    daemon, name = target.daemon, "c-restart"
    await open_session(daemon, name)
    result = await daemon.run(
        "import os\nkept = 1\nopen('kept.txt', 'w').write('x')\nprint(os.getpid())", name
    )
    pid = daemon.text(result["runId"]).strip()
    token = "tok-c-restart"
    daemon.client.progress_reports[token] = []
    mark = len(daemon.states)
    if not target.restart:
        error = await rpc_error(daemon, "runbridge/restart", {"session": name})
        assert error.code == UNSUPPORTED, error
        assert "no longer supports restarting" in error.message, error.message
        assert "501" in error.message, error.message
        # the session is unchanged: idle, variables kept
        listed = (await daemon.request("runbridge/listSessions"))["sessions"]
        assert [s["state"] for s in listed if s["name"] == name] == ["idle"]
        result = await daemon.run("print('kept' in globals())", session=name)
        assert daemon.text(result["runId"]) == "True\n"
        await daemon.request("runbridge/closeSession", {"name": name})
        return
    info = await daemon.request("runbridge/restart", {"session": name, "workDoneToken": token})
    assert (info["name"], info["state"]) == (name, "idle"), info
    assert states_of(daemon, name, mark) == ["starting", "idle"]
    await daemon.wait_for(lambda: progress_ended(daemon, token), timeout=10)
    reports = daemon.client.progress_reports[token]
    assert name in reports[0].title, reports
    result = await daemon.run("print(kept)", session=name)
    assert result["error"]["ename"] == "NameError", result
    result = await daemon.run(
        "import os\nprint(os.path.exists('kept.txt'), os.getpid())", session=name
    )
    exists, new_pid = daemon.text(result["runId"]).split()
    assert exists == "True"  # the work folder is kept
    assert new_pid != pid, "the same kernel process after restart"
    if target.backend != "backendai":  # (the emulator does not answer such a restart)
        await restart_during_a_run(target, name)
    error = await rpc_error(daemon, "runbridge/restart", {"session": "c-no-such-session"})
    assert error.code == -32011 and "c-no-such-session" in error.message, error
    await daemon.request("runbridge/closeSession", {"name": name})


async def restart_during_a_run(target: Target, name: str) -> None:
    """A run executing during a restart ends failed, and the session keeps working."""
    daemon = target.daemon
    task = await start_run(daemon, name, "import time\nprint('r', flush=True)\ntime.sleep(30)", "r")
    await daemon.request("runbridge/restart", {"session": name})
    result = await asyncio.wait_for(task, 15)
    assert result["status"] == "failed", result
    result = await daemon.run("print('again')", session=name)
    assert daemon.text(result["runId"]) == "again\n"


async def test_kernel_death_fails_the_run_and_the_next_run_works(target: Target) -> None:
    daemon, name = target.daemon, "c-death"
    setup = await daemon.run("x = 1", session=name)
    assert setup["status"] == "finished", setup
    t0 = time.monotonic()
    result = await daemon.run("print('bye', flush=True)\nimport os\nos._exit(1)", session=name)
    assert time.monotonic() - t0 < 10
    if not target.dead_kernel_replaced:
        # the gap, shown: the death is not noticed and the kernel is not replaced
        assert (result["status"], result["exitCode"]) == ("finished", 130), result
        after = await daemon.run("print('x' in globals(), 6 * 7)", session=name)
        assert (after["status"], after["exitCode"]) == ("finished", 130), after
        assert daemon.console(after["runId"]) == []
        assert "dead" not in states_of(daemon, name)
        await daemon.request("runbridge/closeSession", {"name": name})
        return
    assert (result["status"], result["exitCode"]) == ("failed", None), result
    assert "died" in result["message"], result
    assert "[runbridge] run failed" in daemon.text(result["runId"], "stderr")
    await daemon.wait_for(lambda: "dead" in states_of(daemon, name), 5)
    after = await daemon.run("print('x' in globals(), 6 * 7)", session=name)
    assert (after["status"], after["exitCode"]) == ("finished", 0), after
    assert daemon.text(after["runId"]) == "False 42\n"
    states = states_of(daemon, name)
    assert states[states.index("dead") + 1 :][:3] == ["starting", "busy", "idle"], states
    await daemon.request("runbridge/closeSession", {"name": name})


async def test_close_ends_the_run_the_kernel_and_the_name(target: Target) -> None:
    daemon, name = target.daemon, "c-close"
    await open_session(daemon, "c-close-keep")
    result = await daemon.run(f"{PID}\nz = 1", session=name)
    pid = int(daemon.text(result["runId"]))
    task = await start_run(
        daemon, name, "import time\nprint('zz', flush=True)\ntime.sleep(30)", "zz"
    )
    t0 = time.monotonic()
    closed = await daemon.request("runbridge/closeSession", {"name": name})
    assert (closed["name"], closed["state"]) == (name, "closed"), closed
    # the run's request is answered at once, interrupted, not left hanging
    result = await asyncio.wait_for(task, 20)
    assert time.monotonic() - t0 < 10  # (the run sleeps 30 s)
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    assert result["message"] == "the session was closed", result
    assert daemon.text(result["runId"]) == "zz\n"
    await daemon.wait_for(lambda: states_of(daemon, name)[-1] == "closed", timeout=10)
    assert "dead" not in states_of(daemon, name)
    await assert_gone(pid)  # the kernel is shut down (the server's, or the local one)
    await daemon.wait_for(lambda: target.server_sessions(name) in (None, 0), timeout=5)
    names = await listed_names(target)
    assert name not in names and "c-close-keep" in names, names
    kept = await daemon.run("print('alive')", session="c-close-keep")
    assert daemon.text(kept["runId"]) == "alive\n"
    error = await rpc_error(daemon, "runbridge/closeSession", {"name": name})
    assert error.code == -32011 and name in error.message, error  # SessionNotFound
    # the name opens again, afresh
    info = await open_session(daemon, name)
    assert info["created"] is True, info
    again = await daemon.run("print('z' in globals())", session=name)
    assert daemon.text(again["runId"]) == "False\n"
    for closing in (name, "c-close-keep"):
        await daemon.request("runbridge/closeSession", {"name": closing})
