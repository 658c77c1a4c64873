"""Fidelity of session options: the official SDK 23.9's ``get_or_create`` and runbridge's
Backend.AI backend send the same creation body to the emulator, key by key, and the
emulator's refusals (an unknown vfolder or scaling group) are what the SDK surfaces.

Both wire generations of the emulator; runbridge speaks its newest common API version
(v8.20240915 "old", v9.20250722 "new"), the SDK v7.20230615: all three put
``clusterSize``/``clusterMode`` at the top level. A profile pinned to v5.20191215 (and the
SDK configured so) checks the older layout (``config.clusterSize``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runbridge.backends.backendai.backend import BackendAIBackend
from runbridge.config import Profile
from runbridge.errors import RunbridgeError
from runbridge.session_options import parse_session_options
from tests.backendai.sdk.test_sdk_flows import AK, SK, new_emu, old_emu, run_flow, sdk_py
from tests.backendai_emulator import Emulator

__all__ = ["new_emu", "old_emu", "sdk_py"]  # fixtures shared with test_sdk_flows

IMAGE = "cr.backend.ai/stable/python:3.9-ubuntu20.04"

#: The same options twice: as the SDK's keyword arguments and as runbridge's ``options``.
SDK_OPTIONS = {
    "resources": {"cpu": 2, "mem": "4g", "cuda.shares": 0.5},
    "cluster_size": 2,
    "cluster_mode": "multi-node",
    "mounts": ["data", "models"],
    "mount_map": {"models": "/opt/models"},
    "scaling_group": "gpu",
    "bootstrap_script": "echo ready > boot.txt\n",
    "tag": "exp-7",
    "envs": {"MODE": "fast"},
}
RB_OPTIONS = {
    "resources": {"cpu": 2, "mem": "4g", "cuda.shares": 0.5},
    "clusterSize": 2,
    "clusterMode": "multi-node",
    "mounts": [{"name": "data"}, {"name": "models", "target": "/opt/models"}],
    "scalingGroup": "gpu",
    "bootstrapScript": "echo ready > boot.txt\n",
    "tag": "exp-7",
}
RB_ENV = {"MODE": "fast"}


def without_empty(body: dict[str, Any]) -> dict[str, Any]:
    """A body without the keys whose value is null, ``{}`` or ``[]`` (the SDK sends unset
    options so; runbridge leaves them out), ``config`` likewise."""
    kept = {k: v for k, v in body.items() if v not in (None, {}, [])}
    if isinstance(kept.get("config"), dict):
        kept["config"] = without_empty(kept["config"])
    return kept


def backend(emu: Emulator, **settings: Any) -> BackendAIBackend:
    profile = Profile(
        name="bai",
        type="backendai",
        image=IMAGE,
        settings={"endpoint": emu.url, "access_key": AK, "secret_key": SK, **settings},
    )
    return BackendAIBackend(profile, environ={})


async def runbridge_body(emu: Emulator, name: str, options: dict[str, Any], **settings: Any) -> Any:
    """Open session ``name`` through runbridge's backend with ``options``; its creation body."""
    bai = backend(emu, **settings)
    before = len(emu.creations)
    session = bai.open(
        name, None, dict(RB_ENV), lambda state: None, options=parse_session_options(options)
    )
    try:
        await session.start()
        await session.close()
    finally:
        await bai.aclose()
    (created,) = emu.creations[before:]
    return created


async def sdk_body(
    py: Path, emu: Emulator, name: str, cwd: Path, options: dict[str, Any], version: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    before = len(emu.creations)
    extra = {"SDK_CREATE_OPTIONS": json.dumps(options)}
    if version:
        extra["SDK_API_VERSION"] = version
    result = await run_flow(py, emu, "create_options", name, cwd, extra)
    (created,) = emu.creations[before:]
    return result, created


def compare(rb: dict[str, Any], sdk: dict[str, Any]) -> None:
    """Every key runbridge sends, the SDK sends with the same value, and no option key the
    SDK sends (set) is missing from runbridge's body."""
    rb_body = without_empty(rb["body"])
    sdk_body_ = without_empty(sdk["body"])
    rb_body.pop("name"), sdk_body_.pop("name")
    for key, value in rb_body.items():
        if key == "config":
            continue
        assert sdk_body_.get(key) == value, (key, value, sdk_body_.get(key))
    for key, value in rb_body["config"].items():
        assert sdk_body_["config"].get(key) == value, ("config", key, value, sdk_body_["config"])
    # what the SDK sends beyond runbridge is none of the options (architecture etc.)
    extra = set(sdk_body_) - set(rb_body) - {"architecture", "startupCommand", "owner_access_key"}
    assert not extra, extra
    assert set(sdk_body_["config"]) - set(rb_body["config"]) == set(), sdk_body_["config"]


@pytest.mark.parametrize("generation", ["old", "new"])
async def test_sdk_and_runbridge_send_the_same_options(
    generation: str,
    sdk_py: Path,
    old_emu: Emulator,
    new_emu: Emulator,
    tmp_path: Path,
) -> None:
    emu = old_emu if generation == "old" else new_emu
    result, sdk = await sdk_body(sdk_py, emu, f"sdk-opts-{generation}", tmp_path, SDK_OPTIONS)
    assert "error" not in result, result
    rb = await runbridge_body(emu, f"rb-opts-{generation}", RB_OPTIONS)
    print(json.dumps({"runbridge": rb, "sdk": sdk}, indent=1))  # shown with -s
    compare(rb, sdk)
    body = rb["body"]
    assert (body["clusterSize"], body["clusterMode"]) == (2, "multi-node")
    assert body["config"]["mount_map"] == {"models": "/opt/models"}
    assert body["config"]["mounts"] == ["data", "models"]
    assert body["bootstrap_script"] == "echo ready > boot.txt\n" and body["tag"] == "exp-7"
    assert body["config"]["scalingGroup"] == "gpu"
    assert rb["apiVersion"] == ("v8.20240915" if generation == "old" else "v9.20250722")
    assert sdk["apiVersion"] == "v7.20230615"


async def test_before_v6_20200815_cluster_size_goes_in_config(
    sdk_py: Path, old_emu: Emulator, tmp_path: Path
) -> None:
    options = {k: v for k, v in SDK_OPTIONS.items() if k != "cluster_mode"}
    result, sdk = await sdk_body(
        sdk_py, old_emu, "sdk-opts-v5", tmp_path, options, version="v5.20191215"
    )
    assert "error" not in result and result["api_version"] == [5, "20191215"], result
    rb_options = {k: v for k, v in RB_OPTIONS.items() if k != "clusterMode"}
    rb = await runbridge_body(old_emu, "rb-opts-v5", rb_options, api_version="v5.20191215")
    assert rb["apiVersion"] == sdk["apiVersion"] == "v5.20191215"
    body = rb["body"]
    assert body["config"]["clusterSize"] == 2 and "clusterSize" not in body
    assert "clusterMode" not in body and body["config"]["mount_map"] == {"models": "/opt/models"}
    sdk["body"].pop("clusterMode", None)  # not sent below v6.20200815 (the SDK does not either)
    compare(rb, sdk)


async def test_a_multi_node_cluster_before_v6_20200815_is_refused_before_sending(
    old_emu: Emulator,
) -> None:
    """The SDK drops clusterMode silently there; runbridge says the manager has no such key."""
    bai = backend(old_emu, api_version="v5.20191215")
    before = len(old_emu.creations)
    session = bai.open(
        "rb-opts-mode",
        None,
        {},
        lambda state: None,
        options=parse_session_options({"clusterSize": 2, "clusterMode": "multi-node"}),
    )
    try:
        with pytest.raises(RunbridgeError) as caught:
            await session.start()
    finally:
        await bai.aclose()
    assert "clusterMode" in caught.value.message and "v5.20191215" in caught.value.message
    assert len(old_emu.creations) == before


@pytest.mark.parametrize(
    ("sdk_options", "rb_options", "title", "msg"),
    [
        (
            {"mounts": ["nope"]},
            {"mounts": [{"name": "nope"}]},
            "No such virtual folder.",
            "VFolder nope is not found or accessible.",
        ),
        (
            {"scaling_group": "moon"},
            {"scalingGroup": "moon"},
            "No such scaling group.",
            "The scaling group moon does not exist.",
        ),
    ],
)
async def test_the_managers_refusals_reach_the_sdk_and_runbridge_alike(
    sdk_options: dict[str, Any],
    rb_options: dict[str, Any],
    title: str,
    msg: str,
    sdk_py: Path,
    old_emu: Emulator,
    tmp_path: Path,
) -> None:
    result, _ = await sdk_body(sdk_py, old_emu, "sdk-opts-refused", tmp_path, sdk_options)
    assert result["error"] == "BackendAPIError", result
    assert result["status"] == 404 and result["data"]["title"] == title, result
    assert result["data"]["msg"] == msg and result["data"]["type"].endswith("/object-not-found")
    bai = backend(old_emu)
    session = bai.open(
        "rb-opts-refused", None, {}, lambda s: None, options=parse_session_options(rb_options)
    )
    try:
        with pytest.raises(RunbridgeError) as caught:
            await session.start()
        await session.close()
    finally:
        await bai.aclose()
    assert title in caught.value.message and msg in caught.value.message
    assert caught.value.data["status"] == 404
    assert not [s for s in old_emu.sessions.values() if s.name == "rb-opts-refused"]
