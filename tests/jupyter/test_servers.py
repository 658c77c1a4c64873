"""The test servers themselves: what the daemon suite relies on them to be.

No daemon here: plain HTTP (urllib) and websockets against the stock servers, so that a
failure in the daemon suite cannot come from a server that was not what it seemed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
import websockets

from tests.jupyter.conftest import make_server
from tests.jupyter.servers import JupyterServer, KernelGateway, ServerProcess, http

pytestmark = pytest.mark.timeout(90)


def test_token_is_required(server: ServerProcess) -> None:
    refused = 403 if isinstance(server, JupyterServer) else 401
    assert http("GET", f"{server.url}/api/kernelspecs")[0] == refused
    assert http("GET", f"{server.url}/api/kernelspecs", "wrong-token")[0] == refused
    status, specs = http("GET", f"{server.url}/api/kernelspecs", server.token)
    assert status == 200 and "python3" in specs["kernelspecs"], specs
    assert len(server.token) >= 32


def test_server_is_isolated_and_on_loopback(server: ServerProcess, tmp_path: Path) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    env = server.environment()
    for key in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        assert Path(env[key]).is_relative_to(server.base), key
    assert server.root.is_dir() and server.root.is_relative_to(server.base)


def test_gateway_has_no_contents_or_terminals(server: ServerProcess) -> None:
    """What the suite checks runbridge's errors against on Kernel Gateway."""
    contents = http("GET", f"{server.url}/api/contents", server.token)[0]
    terminals = http("GET", f"{server.url}/api/terminals", server.token)[0]
    listing = http("GET", f"{server.url}/api/kernels", server.token)[0]
    if isinstance(server, KernelGateway):
        assert (contents, terminals, listing) == (404, 404, 403)
    else:
        assert (contents, terminals, listing) == (200, 200, 200)


async def test_kernel_runs_over_the_channels_websocket(server: ServerProcess) -> None:
    """A kernel started over REST executes code through the stock websocket."""
    kernel = server.api("POST", "/api/kernels", {"name": "python3"})
    try:
        session = uuid.uuid4().hex
        url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel['id']}/channels"
        async with websockets.connect(
            f"{url}?session_id={session}",
            additional_headers={"Authorization": f"token {server.token}"},
            max_size=None,
        ) as ws:
            msg_id = uuid.uuid4().hex
            header = {
                "msg_id": msg_id, "msg_type": "execute_request", "session": session,
                "username": "test", "date": "", "version": "5.3",
            }  # fmt: skip
            content = {"code": "print(6 * 7)", "silent": False, "allow_stdin": False}
            await ws.send(
                json.dumps(
                    {"header": header, "parent_header": {}, "metadata": {},
                     "content": content, "channel": "shell", "buffers": []}
                )
            )  # fmt: skip
            out, idle, reply = "", False, False
            async with asyncio.timeout(30):
                while not (idle and reply):
                    msg = json.loads(await ws.recv())
                    if msg["parent_header"].get("msg_id") != msg_id:
                        continue
                    kind = msg["header"]["msg_type"]
                    if kind == "stream":
                        out += msg["content"]["text"]
                    elif kind == "execute_reply":
                        reply = True
                    elif kind == "status" and msg["content"]["execution_state"] == "idle":
                        idle = True
            assert out == "42\n"
    finally:
        server.api("DELETE", f"/api/kernels/{kernel['id']}")


@pytest.mark.parametrize("kind", ["jupyter-server", "kernel-gateway"])
def test_killed_server_comes_back_on_the_same_port(kind: str, tmp_path: Path) -> None:
    proc = make_server(kind, tmp_path)
    proc.start()
    try:
        url, token = proc.url, proc.token
        kernel = proc.api("POST", "/api/kernels", {"name": "python3"})
        pid = proc.proc.pid if proc.proc else None
        proc.kill()
        assert not proc.running
        with pytest.raises(OSError):
            http("GET", f"{url}/api", token, timeout=2)
        proc.start()
        assert (proc.url, proc.token) == (url, token)
        assert proc.proc is not None and proc.proc.pid != pid
        assert http("GET", f"{url}/api", token)[0] == 200
        # the kernel died with the server: kernels are in the server's process group
        assert http("GET", f"{url}/api/kernels/{kernel['id']}", token)[0] == 404
    finally:
        proc.stop()
    assert not proc.running
