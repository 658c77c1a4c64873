"""Backend.AI session options through the real daemon against the emulator (both wire
generations): what reaches the manager, what ``sessionChanged`` shows, the checks made
before anything is sent, conflicts on reopen, the manager's own refusals."""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.profile import BackendAIProfile
from tests.backendai.daemon_helpers import ACCESS_KEY, SECRET_KEY, daemon_in, init_options, profile
from tests.backendai_emulator import Emulator
from tests.e2e.conftest import Daemon
from tests.e2e.helpers import error_data, open_session, rpc_error

pytestmark = pytest.mark.timeout(60)

SCRIPT = "echo ready > boot.txt\n"
PROFILE_SCRIPT = "echo from-profile > profile-boot.txt\n"
OPTIONS = {
    "resources": {"cpu": 2, "mem": "4g"},
    "clusterSize": 2,
    "clusterMode": "multi-node",
    "mounts": [{"name": "data"}, {"name": "models", "target": "mdl"}],
    "scalingGroup": "gpu",
    "bootstrapScript": SCRIPT,
    "tag": "exp-7",
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-bai-opts-"))
    script = home / "bootstrap.sh"
    script.write_text(PROFILE_SCRIPT)
    options = init_options(
        emu.url,
        # the profile's options: a request's override them, resources slot by slot
        gpu=profile(emu.url, resources={"cpu": 1, "cuda.shares": 0.5}, scaling_group="default"),
        boot=profile(emu.url, bootstrap_script=str(script), mounts=[{"name": "scratch"}]),
        loc={"type": "local"},
    )
    async with daemon_in(home, options) as started:
        yield started


def last_creation(emu: Emulator, name: str) -> dict[str, Any]:
    bodies = [c["body"] for c in emu.creations if c["body"].get("name") == name]
    assert bodies, [c["body"].get("name") for c in emu.creations]
    return bodies[-1]


async def test_options_reach_the_manager_and_show_in_session_changed(
    daemon: Daemon, emu: Emulator
) -> None:
    name = "bai-opts"
    info = await open_session(daemon, name, profile="gpu", options=OPTIONS, env={"MODE": "x"})
    body = last_creation(emu, name)
    # the wire keys of API >= v6.20200815, as SDK 23.9 sends them
    assert body["config"]["resources"] == {"cpu": 2, "cuda.shares": 0.5, "mem": "4g"}
    assert body["config"]["mounts"] == ["data", "models"]
    assert body["config"]["mount_map"] == {"models": "mdl"}
    assert body["config"]["scalingGroup"] == "gpu" and body["config"]["environ"] == {"MODE": "x"}
    assert (body["clusterSize"], body["clusterMode"]) == (2, "multi-node")
    assert body["bootstrap_script"] == SCRIPT and body["tag"] == "exp-7"
    # ... and the manager read them so
    (made,) = [s for s in emu.sessions.values() if s.name == name]
    assert made.options["mounts"] == {"data": "/home/work/data", "models": "/home/work/mdl"}
    assert made.options["bootstrapExit"] == 0 and made.options["clusterSize"] == 2
    client = BackendAIClient(
        BackendAIProfile(name="o", endpoint=emu.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    )
    try:  # the manager reports the slots back (mem in bytes)
        manager_info = await client.call_json("GET", f"/session/{name}", what="reading it")
    finally:
        await client.aclose()
    slots = json.loads(manager_info["occupiedSlots"])
    assert slots == {"cpu": "2", "mem": str(4 << 30), "cuda.shares": "0.5"}
    assert manager_info["tag"] == "exp-7"
    summary = "cpu 2 · cuda.shares 0.5 · mem 4g · 2 × multi-node · sg gpu · 2 mounts"
    assert info["summary"] == summary, info
    # (the test client reads objects as namedtuples: a key "cuda.shares" comes back renamed)
    assert list(info["options"].pop("resources").values()) == [2, 0.5, "4g"]
    assert info["options"] == {
        "clusterSize": 2,
        "clusterMode": "multi-node",
        "mounts": [{"name": "data"}, {"name": "models", "target": "mdl"}],
        "scalingGroup": "gpu",
        "bootstrapScript": len(SCRIPT),
        "tag": "exp-7",
    }
    changes = [s for s in daemon.states if s["name"] == name]
    assert {s["state"] for s in changes} >= {"starting", "idle"}
    assert all(s["summary"] == summary for s in changes), changes
    assert SCRIPT.strip() not in json.dumps(daemon.states)  # the script's text is never sent
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert [s["summary"] for s in listed if s["name"] == name] == [summary]
    # the bootstrap script ran in /home/work, the vfolder is mounted where asked
    result = await daemon.run(
        "import os\nprint(open('boot.txt').read().strip(), os.path.isdir('mdl'))", name
    )
    assert daemon.text(result["runId"]) == "ready True\n"

    # reopening: the same options (or none) reuse it; another value is a conflict
    again = await open_session(daemon, name, options={"clusterSize": 2, "tag": "exp-7"})
    assert again["created"] is False and again["summary"] == summary
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": name, "options": {"clusterSize": 3}}
    )
    assert error.code == -32012 and "clusterSize" in error.message, error
    assert error_data(error)["field"] == "options.clusterSize"
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": name, "options": {"resources": {"cpu": 4}}}
    )
    assert error.code == -32012 and error_data(error)["field"] == "options.resources.cpu"
    assert len([c for c in emu.creations if c["body"].get("name") == name]) == 1
    await daemon.request("runbridge/closeSession", {"name": name})


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"resources": {"cpu": 0}}, "options.resources.cpu"),
        ({"resources": {"mem": "lots"}}, "options.resources.mem"),
        ({"mounts": [{"name": "data"}, {"name": "models", "target": "../x"}]},
         "options.mounts[1].target"),
        ({"mounts": [{"name": "data"}, {"name": "data"}]}, "options.mounts[1].name"),
        ({"clusterMode": "everywhere"}, "options.clusterMode"),
        ({"clusterSize": "2"}, "options.clusterSize"),
        ({"clustersize": 2}, "options.clustersize"),
    ],
)  # fmt: skip
async def test_bad_options_name_the_field_and_nothing_is_sent(
    daemon: Daemon, emu: Emulator, options: dict[str, Any], field: str
) -> None:
    before = len(emu.creations)
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "bai-bad", "options": options}
    )
    assert error.code == -32602 and error_data(error)["field"] == field, (error, error_data(error))
    assert len(emu.creations) == before
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]  # still serving
    assert "bai-bad" not in [s["name"] for s in sessions]


async def test_options_on_a_local_profile_are_refused(daemon: Daemon) -> None:
    error = await rpc_error(
        daemon,
        "runbridge/openSession",
        {"name": "loc-opts", "profile": "loc", "options": {"clusterSize": 2}},
    )
    assert error.code == -32602 and error_data(error)["field"] == "options"
    assert "'loc'" in error.message and "'local'" in error.message, error.message


@pytest.mark.parametrize(
    ("options", "quoted"),
    [
        ({"mounts": [{"name": "nope"}]}, "VFolder nope is not found or accessible."),
        ({"scalingGroup": "moon"}, "The scaling group moon does not exist."),
        ({"resources": {"tpu": 1}}, "Unknown requested resource slot: tpu"),
    ],
)
async def test_the_managers_refusal_is_quoted(
    daemon: Daemon, emu: Emulator, options: dict[str, Any], quoted: str
) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "bai-refused", "options": options}
    )
    assert error.code == -32020 and quoted in error.message, error
    assert emu.url in error.message
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "bai-refused" not in [s["name"] for s in sessions]
    assert not [s for s in emu.sessions.values() if s.name == "bai-refused"]


async def test_the_profiles_bootstrap_script_file_is_read_when_a_session_opens(
    daemon: Daemon, emu: Emulator
) -> None:
    info = await open_session(daemon, "bai-boot", profile="boot")
    body = last_creation(emu, "bai-boot")
    assert body["bootstrap_script"] == PROFILE_SCRIPT
    assert body["config"]["mounts"] == ["scratch"] and "mount_map" not in body["config"]
    assert info["options"] == {
        "mounts": [{"name": "scratch"}],
        "bootstrapScript": len(PROFILE_SCRIPT),
    }
    assert info["summary"] == "1 mount"
    result = await daemon.run("print(open('profile-boot.txt').read().strip())", "bai-boot")
    assert daemon.text(result["runId"]) == "from-profile\n"
    await daemon.request("runbridge/closeSession", {"name": "bai-boot"})
