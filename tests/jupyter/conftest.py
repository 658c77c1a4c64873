"""Fixtures of the ``jupyter`` backend's suite: stock servers and a daemon pointed at them.

``server`` is one unmodified server process per module and kind (Jupyter Server, then
Jupyter Kernel Gateway), on 127.0.0.1 with a random token and a temporary root;
``daemon`` is the real daemon over stdio with ``jupyter`` profiles for that server given
in ``initializationOptions``. Tests that kill a server start one of their own.
``hub`` is one real JupyterHub with its proxy for the whole session
(``tests/jupyter/hub_process.py``).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.conftest import Daemon, start_daemon
from tests.jupyter.hub_process import HubProcess
from tests.jupyter.servers import JupyterServer, KernelGateway, ServerProcess, free_port

#: The variable the ``envtok`` profile reads its token from (set in the daemon's environment).
TOKEN_ENV = "RB_TEST_JUPYTER_TOKEN"
WRONG_TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef"
#: Small timeouts for the profiles that cannot work, so their errors come quickly.
FAST = {"connect_timeout": 3, "read_timeout": 3}
KINDS = ["jupyter-server", "kernel-gateway"]


def make_server(kind: str, base: Path, port: int | None = None) -> ServerProcess:
    if kind == "jupyter-server":
        return JupyterServer(base, port=port)
    return KernelGateway(base, port=port)


def profile(url: str, token: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "jupyter", "url": url, **extra}
    if token is not None:
        body["token"] = token
    return body


class SilentServer:
    """A TCP listener that accepts connections and never answers (a hung proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    hung = SilentServer()
    yield hung
    hung.close()


@pytest.fixture(scope="module", params=KINDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = make_server(request.param, tmp_path_factory.mktemp(request.param))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def profiles_for(server: ServerProcess, silent: SilentServer) -> dict[str, Any]:
    down = free_port()  # nothing listens there
    return {
        "jup": profile(server.url, server.token),
        "envtok": {"type": "jupyter", "url": server.url + "/", "token_env": TOKEN_ENV},
        "badtoken": profile(server.url, WRONG_TOKEN, **FAST),
        "notoken": profile(server.url, None, **FAST),
        # the right server under a wrong base path (a typo in the URL)
        "wrongpath": profile(server.url + "/user/nobody/", server.token, **FAST),
        "down": profile(f"http://127.0.0.1:{down}", server.token, **FAST),
        "silent": profile(silent.url, server.token, **FAST),
    }


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(server: ServerProcess, silent: SilentServer) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-jup-"))
    options = {"profiles": profiles_for(server, silent), "profile": "jup"}
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # the daemon's environment
            env.setenv(TOKEN_ENV, server.token)
            env.setenv("SHELL", "/bin/sh")
            started = await stack.enter_async_context(start_daemon(home, init_options=options))
        yield started


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """One real JupyterHub (and its proxy) for the session; fails, saying how to install
    them, when jupyterhub or configurable-http-proxy is missing."""
    proc = HubProcess(tmp_path_factory.mktemp("jupyterhub"))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop(grace=10)
