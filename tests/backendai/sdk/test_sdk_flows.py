"""Fidelity: the official backend.ai-client SDK (23.9, older wire) against the emulator.

The SDK lives in its own venv (``tests/backendai/sdk_venv.py``, created on first use); each flow
runs as a subprocess from a clean temporary directory (the SDK loads a ``.env`` from its working
directory upward, reference Appendix D).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbridge.backends.backendai import apps
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.profile import BackendAIProfile
from tests.backendai.sdk_venv import sdk_python
from tests.backendai_emulator import Emulator

AK = "AKIANABBDUSEREXAMPLE"
SK = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"
FLOWS = Path(__file__).with_name("flows.py")


@pytest.fixture(scope="module")
async def sdk_py() -> Path:
    py = await asyncio.to_thread(sdk_python)
    # The fidelity check is part of the suite: no SDK venv is a failure, never a skip.
    assert py is not None, "could not create the backend.ai-client SDK venv (see sdk_venv.py)"
    return py


@pytest.fixture(scope="module")
async def old_emu() -> AsyncIterator[Emulator]:
    async with Emulator(
        generation="old", access_key=AK, secret_key=SK, scheduling_delay=0.2, flush_timeout=1.0
    ) as e:
        yield e


@pytest.fixture(scope="module")
async def new_emu() -> AsyncIterator[Emulator]:
    async with Emulator(
        generation="new", access_key=AK, secret_key=SK, scheduling_delay=0.2, flush_timeout=1.0
    ) as e:
        yield e


async def run_flow(
    py: Path,
    emu: Emulator,
    flow: str,
    name: str,
    cwd: Path,
    extra: dict[str, str] | None = None,
    **extra_env: str,
) -> dict[str, Any]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "SORNA_", "PYTEST_"))
    }
    env.update(extra or {})
    env.update(
        BACKEND_ENDPOINT=emu.url,
        BACKEND_ACCESS_KEY=AK,
        BACKEND_SECRET_KEY=SK,
        BACKEND_ENDPOINT_TYPE="api",
        **extra_env,
    )
    env.pop("PYTHONPATH", None)
    proc = await asyncio.create_subprocess_exec(
        str(py), str(FLOWS), flow, name, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    lines = out.decode().strip().splitlines()
    assert lines, err.decode()[-3000:]
    return dict(json.loads(lines[-1]))


def stdout_of(console: list[list[Any]]) -> str:
    return "".join(d for t, d in console if t == "stdout")


async def test_sdk_sync_query_loop(sdk_py: Path, old_emu: Emulator, tmp_path: Path) -> None:
    r = await run_flow(sdk_py, old_emu, "query", "sdk-query", tmp_path)
    assert "error" not in r, r
    assert stdout_of(r["console"]) == "hello 0\nhello 1\nhello 2\n"
    assert r["statuses"][-1] == "finished" and "continued" in r["statuses"]
    assert r["exitCode"] == 0 and r["reused_same_id"] and r["status"] == "RUNNING"
    assert r["api_version"] == [7, "20230615"]


async def test_sdk_input(sdk_py: Path, old_emu: Emulator, tmp_path: Path) -> None:
    r = await run_flow(sdk_py, old_emu, "input", "sdk-input", tmp_path)
    assert "error" not in r, r
    assert r["waits"] == [{"is_password": False}, {"is_password": True}]
    out = stdout_of(r["console"])
    assert out.startswith("Your name: ") and out.endswith("Hello Ada 7\n")


async def test_sdk_media(sdk_py: Path, old_emu: Emulator, tmp_path: Path) -> None:
    r = await run_flow(sdk_py, old_emu, "media", "sdk-media", tmp_path)
    assert "error" not in r, r
    media = [d for t, d in r["console"] if t == "media"]
    assert media[0] == ["image/png", f"data:image/png;base64,{r['png']}"]
    assert media[1][0] == "image/svg+xml" and media[1][1].startswith("<svg")
    assert "ZeroDivisionError" in "".join(d for t, d in r["console"] if t == "stderr")
    assert r["exitCode"] == 0  # old generation: 0 even after an exception


async def test_sdk_batch_upload_files_restart(
    sdk_py: Path, old_emu: Emulator, tmp_path: Path
) -> None:
    r = await run_flow(sdk_py, old_emu, "batch", "sdk-batch", tmp_path)
    assert "error" not in r, r
    assert [s for s in r["statuses"] if s != "continued"] == [
        "clean-finished", "build-finished", "finished",
    ]  # fmt: skip
    out = stdout_of(r["console"])
    assert "compiled\n" in out and "result 42\n" in out
    # aiohttp percent-encodes the multipart filename; the manager keeps it verbatim (Appendix D)
    assert "data%2Fsub%2Fx.txt" in r["listing"] and "main.py" in r["listing"]
    assert r["downloaded"] == ["main.py"] and "helper.VALUE" in r["downloaded_text"]
    assert r["after_restart"]["exitCode"] == 0


async def test_sdk_stream_execute(sdk_py: Path, old_emu: Emulator, tmp_path: Path) -> None:
    r = await run_flow(sdk_py, old_emu, "stream_execute", "sdk-stream", tmp_path)
    assert "error" not in r, r
    frames = r["frames"]
    assert frames[-1]["status"] == "finished"
    assert any(f["status"] == "waiting-input" for f in frames)
    assert "".join(stdout_of(f["console"]) for f in frames) == "streamed\nmore? got yes\n"


async def test_sdk_pty(sdk_py: Path, old_emu: Emulator, tmp_path: Path) -> None:
    r = await run_flow(sdk_py, old_emu, "pty", "sdk-pty", tmp_path)
    assert "error" not in r, r
    assert "pty-42" in r["output"]


async def test_sdk_complete_gets_the_stock_runners_empty_list(
    sdk_py: Path, old_emu: Emulator, tmp_path: Path
) -> None:
    """The completion endpoint as runbridge calls it (``backends/backendai/completion.py``)."""
    r = await run_flow(sdk_py, old_emu, "complete", "sdk-complete", tmp_path)
    assert "error" not in r, r
    assert r["answer"] == {"result": {"status": "finished", "completions": []}}


async def test_sdk_old_wire_fails_on_new_generation(
    sdk_py: Path, new_emu: Emulator, tmp_path: Path
) -> None:
    """The 23.9 SDK sends only ``runId``: its continue call fails on >= 25.6 (Appendix D)."""
    r = await run_flow(sdk_py, new_emu, "query", "sdk-newgen", tmp_path)
    assert r.get("error") == "BackendAPIError", r
    assert "invalid-session-data" in r["detail"]


async def test_sdk_bench_flow(sdk_py: Path, old_emu: Emulator, tmp_path: Path) -> None:
    """The SDK side of the issue's benchmark; run ``flows.py bench`` with a larger count."""
    os.environ["SDK_BENCH_COUNT"] = "5"
    try:
        r = await run_flow(sdk_py, old_emu, "bench", "sdk-bench", tmp_path)
    finally:
        del os.environ["SDK_BENCH_COUNT"]
    assert "error" not in r, r
    assert r["count"] == 5 and 0 < r["min_ms"] <= r["median_ms"] < 2000


async def test_sdk_app_forwarder_and_runbridges_get_the_same_page(
    sdk_py: Path, old_emu: Emulator, tmp_path: Path
) -> None:
    """``backend.ai app SESSION jupyter`` (the SDK's forwarder) against the emulator's apps
    listing and tcpproxy stream, then runbridge's forward of the same app (the daemon's
    ``openApp`` code, in process): the same page through both; an app whose port refuses
    (the stream closed with 1013) is a connection closed without an answer through the SDK's
    forwarder (runbridge's 503 there: tests/backendai/test_daemon_apps.py)."""
    name = "sdk-app"
    old_emu.apps.refusing.add("ttyd")  # its port refuses: the stream closes with 1013
    try:
        r = await run_flow(sdk_py, old_emu, "app", name, tmp_path)
    finally:
        old_emu.apps.refusing.clear()
    assert "error" not in r, r
    # the SDK's forwarder writes its HTTP 503 only for a websocket ERROR message: a stream
    # the manager closes with an error code ends its iteration (aiohttp), and the TCP client
    # gets the connection closed without a byte (runbridge answers 503 there)
    assert r["refused"] == "", r["refused"]
    assert r["listed"] == [
        {"name": "jupyter", "protocol": "http", "ports": [8081]},
        {"name": "ttyd", "protocol": "tcp", "ports": [7681]},
    ], r
    expected = f"<h1>{name}:jupyter</h1>"
    assert [p[0] for p in r["pages"]] == [200, 200] and expected in r["pages"][0][1], r
    assert "is available at" in r["printed"], r["printed"]
    client = BackendAIClient(
        BackendAIProfile(name="peer", endpoint=old_emu.url, access_key=AK, secret_key=SK)
    )
    try:
        app = apps.pick_app(await apps.list_apps(client, name), "jupyter", None, name)
        forward = apps.TcpProxyForward(client, name, app, None)
        await forward.start(None)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                page = await http.get(f"http://127.0.0.1:{forward.local_port}/jupyter/tree")
        finally:
            await forward.close()
        assert page.status_code == 200 and page.text == r["pages"][0][1]
        await client.request("DELETE", f"/session/{name}", what="destroying the peer's session")
    finally:
        await client.aclose()


async def test_sdk_lists_sessions_as_runbridge_does(
    sdk_py: Path, old_emu: Emulator, tmp_path: Path
) -> None:
    """``ComputeSession.paginated_list`` (the SDK's default fields) and runbridge's own
    ``compute_session_list`` query (``backends/backendai/remote.py``), both through the
    SDK's GraphQL call, read the emulator's ``POST /admin/gql`` answer."""
    from runbridge.backends.backendai.remote import LIVE_STATUSES, PAGE_SIZE, QUERY

    variables = {"limit": PAGE_SIZE, "offset": 0, "access_key": AK, "status": LIVE_STATUSES}
    r = await run_flow(
        sdk_py, old_emu, "list", "sdk-list", tmp_path,
        RUNBRIDGE_LIST_QUERY=QUERY, RUNBRIDGE_LIST_VARIABLES=json.dumps(variables),
    )  # fmt: skip
    assert "error" not in r, r
    mine = [item for item in r["items"] if item["id"] == r["id"]]
    assert r["total"] >= 1 and len(mine) == 1, r
    assert set(mine[0]) == {
        "id", "image", "type", "status", "status_info", "status_changed", "result",
        "abusing_reports",
    }  # fmt: skip
    assert mine[0]["status"] == "RUNNING" and mine[0]["type"] == "INTERACTIVE"
    listing = r["runbridge"]["compute_session_list"]
    ours = [item for item in listing["items"] if item["id"] == r["id"]]
    assert len(ours) == 1 and ours[0]["name"] == "sdk-list", listing
    assert json.loads(ours[0]["occupying_slots"])["cpu"] == "1"
    assert listing["total_count"] >= 1
    assert r["bad_status"] == "BackendAPIError"
