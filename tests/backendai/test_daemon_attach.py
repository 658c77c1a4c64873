"""Attaching to Backend.AI sessions runbridge did not create, through real daemons against
the emulator (both wire generations).

A session created directly through the manager's REST API (as the web UI does) is listed
by ``runbridge/listRemote`` (GraphQL ``compute_session_list``) with its name, image, status
and resources, and runbridge's own sessions are not; ``openSession {attach}`` binds a name
to it by id (variables kept, ``created: false``, ``attached: true``), runs address it by its
id; ``closeSession`` lets go of it (it keeps running), ``destroy: true`` ends it. A second
daemon of the same user does not list the sessions the first one created (runbridge's state
file), and a daemon that exits lets go of what it attached even with ``keep_sessions = false``.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.profile import BackendAIProfile
from tests.backendai.daemon_helpers import (
    ACCESS_KEY,
    IMAGE,
    SECRET_KEY,
    daemon_in,
    init_options,
    profile,
)
from tests.backendai_emulator import Emulator
from tests.e2e.conftest import Daemon
from tests.e2e.helpers import error_data, open_session, rpc_error

pytestmark = pytest.mark.timeout(90)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def home() -> Path:
    return Path(tempfile.mkdtemp(prefix="rb-bai-attach-"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator, home: Path) -> AsyncIterator[Daemon]:
    async with daemon_in(home, init_options(emu.url)) as started:
        yield started


async def create_as_web_ui(emu: Emulator, name: str) -> str:
    """A session made through the manager's REST API by another client; its id once RUNNING."""
    client = BackendAIClient(
        BackendAIProfile(
            name="web-ui", endpoint=emu.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY
        )
    )
    try:
        body = await client.call_json(
            "POST",
            "/session",
            json={"name": name, "image": IMAGE, "type": "interactive"},
            what="creating a session as the web UI does",
        )
    finally:
        await client.aclose()
    session_id = str(body["sessionId"])
    await emu.sessions[session_id].running.wait()
    assert emu.sessions[session_id].status == "RUNNING"
    return session_id


async def remote(daemon: Daemon) -> list[dict[str, Any]]:
    listed: dict[str, Any] = await daemon.request("runbridge/listRemote", {})
    assert listed["profile"] == "bai"
    sessions: list[dict[str, Any]] = listed["sessions"]
    return sessions


def deletes_of(emu: Emulator, session_id: str) -> list[str]:
    return [
        r["path"]
        for r in emu.requests_log
        if r["method"] == "DELETE" and r["path"].split("?")[0].endswith(session_id)
    ]


async def test_list_attach_detach_reattach_destroy(daemon: Daemon, emu: Emulator) -> None:
    web_id = await create_as_web_ui(emu, "made-in-web-ui")
    own = await open_session(daemon, "bai-own")
    assert own["created"] is True and "attached" not in own and own["remoteId"]

    listed = await remote(daemon)
    ids = [s["id"] for s in listed]
    assert web_id in ids and own["remoteId"] not in ids, listed
    entry = listed[ids.index(web_id)]
    assert entry["label"] == "made-in-web-ui"
    assert entry["description"] == f"{IMAGE} · RUNNING · cpu 1 · mem 1g"
    assert entry["state"] == "RUNNING" and entry["attachedAs"] is None
    assert entry["details"]["image"] == IMAGE and entry["details"]["name"] == "made-in-web-ui"
    assert entry["details"]["resources"] == {"cpu": "1", "mem": "1073741824"}

    info = await open_session(daemon, "ui", attach=web_id)
    assert info["created"] is False and info["attached"] is True
    assert info["remoteId"] == web_id and info["image"] == IMAGE and info["state"] == "idle"
    assert (await daemon.run("x = 41", "ui"))["status"] == "finished"
    # and its apps, forwarded as for a session of runbridge's own
    names = [
        a["name"] for a in (await daemon.request("runbridge/listApps", {"session": "ui"}))["apps"]
    ]
    assert "jupyter" in names, names
    opened = await daemon.request("runbridge/openApp", {"session": "ui", "app": "jupyter"})
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(opened["url"])
    assert page.status_code == 200, page.text
    await daemon.request("runbridge/closeApp", {"appId": opened["appId"]})
    # runs and apps go to the session by its id, never by runbridge's name
    paths = [r["path"] for r in emu.requests_log]
    assert not any("/session/ui" in p for p in paths), paths
    again = await open_session(daemon, "ui", attach=web_id)  # the same id: reused
    assert again["attached"] is True and again["remoteId"] == web_id
    listed = await remote(daemon)
    assert [s["attachedAs"] for s in listed if s["id"] == web_id] == ["ui"]

    closed = await daemon.request("runbridge/closeSession", {"name": "ui"})
    assert closed["state"] == "closed"
    assert emu.sessions[web_id].status == "RUNNING" and deletes_of(emu, web_id) == []

    await open_session(daemon, "ui2", attach=web_id)
    result = await daemon.run("print(x + 1)", "ui2")
    assert daemon.text(result["runId"]) == "42\n"  # the variable outlived the detach

    await daemon.request("runbridge/closeSession", {"name": "ui2", "destroy": True})
    assert deletes_of(emu, web_id) != []
    assert emu.sessions[web_id].status in ("TERMINATING", "TERMINATED")
    assert web_id not in [s["id"] for s in await remote(daemon)]
    await daemon.request("runbridge/closeSession", {"name": "bai-own"})


async def test_attach_errors(daemon: Daemon, emu: Emulator) -> None:
    web_id = await create_as_web_ui(emu, "errors-web-ui")
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "e1", "attach": web_id, "image": IMAGE}
    )
    assert error.code == -32602 and error_data(error)["field"] == "image", error
    unknown = "00000000-0000-4000-8000-000000000000"
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "e1", "attach": unknown})
    assert error.code == -32020 and unknown in error.message, error
    assert "e1" not in [
        s["name"] for s in (await daemon.request("runbridge/listSessions"))["sessions"]
    ]
    await open_session(daemon, "e-own")
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "e-own", "attach": web_id})
    assert error.code == -32012, error  # open, not attached: a conflict
    await open_session(daemon, "e2", attach=web_id)
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "e3", "attach": web_id})
    assert error.code == -32012 and "e2" in error.message, error  # one name per session
    for name in ("e2", "e-own"):
        await daemon.request("runbridge/closeSession", {"name": name, "destroy": True})


async def test_another_daemon_leaves_out_runbridges_own_and_exit_lets_go(
    daemon: Daemon, emu: Emulator, home: Path
) -> None:
    own = await open_session(daemon, "kept-own")
    web_id = await create_as_web_ui(emu, "exit-web-ui")
    options = {"profiles": {"bai": profile(emu.url, keep_sessions=False)}, "profile": "bai"}
    async with daemon_in(home, options) as second:
        ids = [s["id"] for s in await remote(second)]
        assert web_id in ids and own["remoteId"] not in ids, ids
        await open_session(second, "viewer", attach=web_id)
    # the second daemon exited (keep_sessions = false): what it attached still runs
    assert emu.sessions[web_id].status == "RUNNING" and deletes_of(emu, web_id) == []
    await daemon.request("runbridge/closeSession", {"name": "kept-own"})
    await open_session(daemon, "cleanup", attach=web_id)
    await daemon.request("runbridge/closeSession", {"name": "cleanup", "destroy": True})
