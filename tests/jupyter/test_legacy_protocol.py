"""The legacy kernel websocket protocol (no subprotocol chosen by the server).

A Jupyter Server in front of a gateway (``--gateway-url``) never picks
``v1.kernel.websocket.jupyter.org``; ``kernel_ws_protocol=""`` makes a plain server do
the same. runbridge must then speak JSON text frames (and binary frames for messages
with buffers): runs, media, input and interrupt work as with v1.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import websockets
from websockets.typing import Subprotocol

from tests.e2e.conftest import Daemon, png_code, start_daemon, start_run
from tests.jupyter.conftest import profile
from tests.jupyter.servers import JupyterServer
from tests.media import make_png

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def legacy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = JupyterServer(
        tmp_path_factory.mktemp("legacy"),
        extra_args=("--ZMQChannelsWebsocketConnection.kernel_ws_protocol=",),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def legacy_daemon(
    legacy_server: JupyterServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Daemon]:
    options = {
        "profiles": {"legacy": profile(legacy_server.url, legacy_server.token)},
        "profile": "legacy",
    }
    async with start_daemon(tmp_path_factory.mktemp("home"), init_options=options) as d:
        yield d


async def test_runs_media_input_and_interrupt_over_the_legacy_protocol(
    legacy_daemon: Daemon,
) -> None:
    d = legacy_daemon
    session = "legacy"
    result = await d.run("x = 6\nprint('out', x * 7)\nx", session=session)
    assert (result["status"], d.text(result["runId"])) == ("finished", "out 42\n6\n"), d.console(
        result["runId"]
    )
    png = make_png(2, 2, (0, 255, 0))
    result = await d.run(png_code(png), session=session)
    media = [r for r in d.console(result["runId"]) if r[0] == "image/png"]
    assert len(media) == 1 and base64.b64decode(media[0][1].split(",", 1)[1]) == png
    d.answer = lambda p: {"value": "Bo"}
    try:
        result = await d.run("print('hi', input('who? '))", session=session)
    finally:
        d.answer = lambda p: {"value": ""}
    assert d.text(result["runId"]).endswith("hi Bo\n"), d.console(result["runId"])
    nap = "import time\nprint('nap', flush=True)\ntime.sleep(60)"
    task = await start_run(d, session, nap, "nap")
    t0 = time.monotonic()
    await d.request("runbridge/interrupt", {"session": session})
    result = await asyncio.wait_for(task, 15)
    assert time.monotonic() - t0 < 10  # (the run sleeps 60 s)
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result


async def test_binary_buffers_over_the_legacy_protocol(legacy_daemon: Daemon) -> None:
    """A comm message with binary buffers arrives as a binary frame; the run goes on."""
    code = (
        "from ipykernel.comm import Comm\n"
        "c = Comm(target_name='rb-test', data={'k': 1}, buffers=[b'\\x00\\x01' * 1000])\n"
        "c.send({'more': True}, buffers=[memoryview(b'\\xff' * 4096)])\n"
        "print('sent')"
    )
    result = await legacy_daemon.run(code, session="legacy")
    assert (result["status"], legacy_daemon.text(result["runId"])) == ("finished", "sent\n"), (
        legacy_daemon.console(result["runId"])
    )
    after = await legacy_daemon.run("print('next')", session="legacy")
    assert legacy_daemon.text(after["runId"]) == "next\n"


async def test_the_server_really_picks_no_subprotocol(legacy_server: JupyterServer) -> None:
    kernel = legacy_server.api("POST", "/api/kernels", {"name": "python3"})
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{legacy_server.port}/api/kernels/{kernel['id']}/channels",
            additional_headers={"Authorization": f"token {legacy_server.token}"},
            subprotocols=[Subprotocol("v1.kernel.websocket.jupyter.org")],
        ) as ws:
            assert ws.subprotocol is None
    finally:
        legacy_server.api("DELETE", f"/api/kernels/{kernel['id']}")
