"""Apps (service ports) through the real daemon against the emulator: listApps, openApp
(a page fetched through the forwarded port), closeApp, and the errors of docs/protocol.md."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.as_nobody import as_root, start_as_nobody
from tests.backendai.daemon_helpers import daemon_in, init_options
from tests.backendai_emulator import Emulator
from tests.e2e.conftest import Daemon
from tests.e2e.helpers import error_data, open_session, rpc_error

pytestmark = pytest.mark.timeout(60)

SESSION = "bai-apps"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(emu: Emulator) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-bai-apps-"))
    async with daemon_in(home, init_options(emu.url)) as started:
        await open_session(started, SESSION)
        yield started


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


def tcpproxy_connects(emu: Emulator) -> int:
    path = f"/stream/session/{SESSION}/tcpproxy?app=jupyter"
    return sum(1 for r in emu.requests_log if r["path"] == path)


async def test_list_open_fetch_and_close(daemon: Daemon, emu: Emulator) -> None:
    listed = await daemon.request("runbridge/listApps", {"session": SESSION})
    assert listed["apps"] == [
        {"name": "jupyter", "protocol": "http", "ports": [8081], "description": "http · port 8081"},
        {"name": "ttyd", "protocol": "tcp", "ports": [7681], "description": "tcp · port 7681"},
    ], listed
    opened = await daemon.request("runbridge/openApp", {"session": SESSION, "app": "jupyter"})
    port = opened["localPort"]
    assert opened["url"] == f"http://127.0.0.1:{port}/", opened
    forwards = await daemon.request("runbridge/listForwards", {"session": SESSION})
    assert forwards == {"forwards": [opened]}, forwards
    assert opened in (await daemon.request("runbridge/listForwards", {}))["forwards"]
    assert (opened["session"], opened["app"], opened["protocol"]) == (SESSION, "jupyter", "http")
    before = tcpproxy_connects(emu)
    page = await fetch(opened["url"] + "jupyter/tree")
    assert page.status_code == 200 and f"<h1>{SESSION}:jupyter</h1>" in page.text, page.text
    # two connections at once, each its own websocket, both answered
    async with httpx.AsyncClient(timeout=10) as one, httpx.AsyncClient(timeout=10) as two:
        first, second = await asyncio.gather(
            one.get(opened["url"] + "a"), two.get(opened["url"] + "b")
        )
        assert "<h1>" in first.text and "<h1>" in second.text
        again = await one.get(opened["url"] + "c")  # keep-alive: the same websocket again
        assert again.status_code == 200
    # one websocket per TCP connection: the first fetch's, then two for the three requests
    # of the two keep-alive clients
    assert tcpproxy_connects(emu) - before == 3, emu.requests_log
    assert await daemon.request("runbridge/closeApp", {"appId": opened["appId"]}) == {}
    with pytest.raises(httpx.ConnectError):
        await fetch(opened["url"])
    assert await daemon.request("runbridge/listForwards", {"session": SESSION}) == {"forwards": []}
    error = await rpc_error(daemon, "runbridge/closeApp", {"appId": opened["appId"]})
    assert error.code == -32602 and error_data(error)["field"] == "appId", error


async def test_tcp_app_on_a_chosen_port_and_its_container_port(daemon: Daemon) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    opened = await daemon.request(
        "runbridge/openApp",
        {"session": SESSION, "app": "ttyd", "localPort": wanted, "port": 7681},
    )
    assert opened["localPort"] == wanted and opened["url"] == f"tcp://127.0.0.1:{wanted}"
    reader, writer = await asyncio.open_connection("127.0.0.1", wanted)
    writer.write(b"GET /ttyd HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"</html>\n")
    assert f"<h1>{SESSION}:ttyd</h1>".encode() in head
    writer.close()
    # the port is in use now: another forward there is a BackendError
    error = await rpc_error(
        daemon, "runbridge/openApp", {"session": SESSION, "app": "jupyter", "localPort": wanted}
    )
    assert error.code == -32020 and "in use" in error.message, error
    await daemon.request("runbridge/closeApp", {"appId": opened["appId"]})


async def test_unknown_app_or_port_names_what_the_session_has(daemon: Daemon) -> None:
    error = await rpc_error(daemon, "runbridge/openApp", {"session": SESSION, "app": "vscode"})
    assert error.code == -32602 and error_data(error)["field"] == "app", error
    assert "jupyter, ttyd" in error.message, error.message
    error = await rpc_error(
        daemon, "runbridge/openApp", {"session": SESSION, "app": "jupyter", "port": 9999}
    )
    assert error_data(error)["field"] == "port" and "8081" in error.message, error
    error = await rpc_error(
        daemon, "runbridge/openApp", {"session": SESSION, "app": "jupyter", "localPort": 70000}
    )
    assert error_data(error)["field"] == "localPort", error


#: An HTTP GET to the port in argv; prints the answer.
GET_AS_ANOTHER_USER = (
    "import socket, sys\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
    "answer = b''\n"
    "while chunk := s.recv(65536):\n"
    "    answer += chunk\n"
    "print(answer.decode())\n"
)


@as_root
async def test_another_local_user_is_refused_403(daemon: Daemon, emu: Emulator) -> None:
    opened = await daemon.request("runbridge/openApp", {"session": SESSION, "app": "jupyter"})
    before = tcpproxy_connects(emu)
    child = start_as_nobody(GET_AS_ANOTHER_USER, str(opened["localPort"]))
    out, err = await asyncio.to_thread(child.communicate, None, 30)
    assert child.returncode == 0, err
    assert out.startswith("HTTP/1.1 403 Forbidden\n"), out  # (text mode: \r\n read as \n)
    assert f"app 'jupyter' of session '{SESSION}' to the user who opened it only" in out, out
    assert tcpproxy_connects(emu) == before  # no websocket opened for it
    page = await fetch(opened["url"])  # this user still is served
    assert page.status_code == 200 and f"<h1>{SESSION}:jupyter</h1>" in page.text
    await daemon.request("runbridge/closeApp", {"appId": opened["appId"]})


async def test_a_refused_websocket_is_answered_503(daemon: Daemon, emu: Emulator) -> None:
    opened = await daemon.request("runbridge/openApp", {"session": SESSION, "app": "jupyter"})
    emu.config.rate_limit = 0  # every signed call is refused now (429, not waited out)
    try:
        page = await fetch(opened["url"])
    finally:
        emu.config.rate_limit = 1000
        emu.hits.clear()
    assert page.status_code == 503 and "could not reach the app" in page.text, page.text
    await daemon.request("runbridge/closeApp", {"appId": opened["appId"]})


async def test_an_app_that_refuses_is_answered_503(daemon: Daemon, emu: Emulator) -> None:
    opened = await daemon.request("runbridge/openApp", {"session": SESSION, "app": "jupyter"})
    emu.apps.refusing.add("jupyter")
    try:
        page = await fetch(opened["url"])
    finally:
        emu.apps.refusing.clear()
    assert page.status_code == 503, page.text
    assert "closed the stream (1013: the app refused the connection)" in page.text, page.text
    assert (await fetch(opened["url"])).status_code == 200  # the forward goes on
    await daemon.request("runbridge/closeApp", {"appId": opened["appId"]})


async def test_closing_the_session_ends_its_forwards(daemon: Daemon) -> None:
    name = "bai-apps-close"
    await open_session(daemon, name)
    opened = await daemon.request("runbridge/openApp", {"session": name, "app": "jupyter"})
    assert (await fetch(opened["url"])).status_code == 200
    other = await daemon.request("runbridge/openApp", {"session": SESSION, "app": "jupyter"})
    await daemon.request("runbridge/closeSession", {"name": name})
    with pytest.raises(httpx.ConnectError):
        await fetch(opened["url"])
    error = await rpc_error(daemon, "runbridge/closeApp", {"appId": opened["appId"]})
    assert error.code == -32602, error
    assert await daemon.request("runbridge/listForwards", {"session": name}) == {"forwards": []}
    every = (await daemon.request("runbridge/listForwards", {}))["forwards"]
    assert other in every and opened not in every, every
    await daemon.request("runbridge/closeApp", {"appId": other["appId"]})


async def test_a_session_not_open_is_not_opened(daemon: Daemon) -> None:
    for method, params in (
        ("runbridge/listApps", {"session": "bai-never"}),
        ("runbridge/openApp", {"session": "bai-never", "app": "jupyter"}),
    ):
        error = await rpc_error(daemon, method, params)
        assert error.code == -32011, error  # SessionNotFound
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "bai-never" not in [s["name"] for s in sessions]


async def test_local_sessions_have_no_apps(daemon: Daemon) -> None:
    await open_session(daemon, "apps-local", profile="local")
    for method, params in (
        ("runbridge/listApps", {"session": "apps-local"}),
        ("runbridge/openApp", {"session": "apps-local", "app": "jupyter"}),
    ):
        error = await rpc_error(daemon, method, params)
        assert error.code == -32023 and "Backend.AI" in error.message, error
    await daemon.request("runbridge/closeSession", {"name": "apps-local"})


async def test_the_daemons_exit_ends_its_forwards(emu: Emulator, tmp_path: Path) -> None:
    async with daemon_in(tmp_path / "home", init_options(emu.url)) as own:
        await open_session(own, "bai-apps-exit")
        opened = await own.request("runbridge/openApp", {"session": "bai-apps-exit", "app": "ttyd"})
        assert opened["url"].startswith("tcp://127.0.0.1:")
        reader, writer = await asyncio.open_connection("127.0.0.1", opened["localPort"])
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        assert b"<h1>bai-apps-exit:" in await reader.readuntil(b"</html>\n")
    # the daemon has exited (shutdown, exit): the open connection and the listener are gone
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", opened["localPort"])
