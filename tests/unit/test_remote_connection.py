"""What both remote backends share to reach their server: URLs, TLS, clients, errors."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest
import websockets

from runbridge.backends.backendai.errors import (
    BackendAIAuthError,
    BackendAIError,
    BackendAINotImplemented,
    BackendAISessionNotFound,
    BackendAIUnreachable,
    problem_error,
)
from runbridge.backends.jupyter.errors import (
    JupyterAuthError,
    JupyterNotFound,
    JupyterUnreachable,
    http_error,
)
from runbridge.backends.remote.connection import (
    QuickAckConnection,
    http_client,
    open_websocket,
    ssl_context,
    ws_url,
)
from runbridge.backends.remote.errors import (
    RemoteAuthError,
    RemoteError,
    RemoteNotFound,
    RemoteUnreachable,
)
from runbridge.errors import BackendError, Unsupported


@pytest.mark.parametrize(
    ("endpoint", "path", "url"),
    [
        (
            "http://h:8888",
            "/api/kernels/k/channels?session_id=s",
            "ws://h:8888/api/kernels/k/channels?session_id=s",
        ),
        ("https://h/user/me", "terminals/websocket/1", "wss://h/user/me/terminals/websocket/1"),
        ("https://h", "/stream/session/s1/pty", "wss://h/stream/session/s1/pty"),
    ],
)
def test_websocket_urls_keep_the_base_path(endpoint: str, path: str, url: str) -> None:
    assert ws_url(endpoint, path) == url


def test_tls_checks_unless_the_profile_turns_them_off() -> None:
    strict = ssl_context(True)
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    lax = ssl_context(False)
    assert lax.verify_mode == ssl.CERT_NONE and not lax.check_hostname


async def test_the_http_client_answers_redirects_and_keeps_the_base_path() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"location": "http://elsewhere/login"})

    client = http_client(
        "http://h:1/base",
        verify=True,
        timeout=7.0,
        connect_timeout=3.0,
        transport=httpx.MockTransport(answer),
        headers={"Authorization": "token t"},
    )
    response = await client.get("api/x")
    await client.aclose()
    assert response.status_code == 302  # not followed: the caller says where it went
    assert [str(r.url) for r in seen] == ["http://h:1/base/api/x"]
    assert seen[0].headers["User-Agent"] == "runbridge"
    assert seen[0].headers["Authorization"] == "token t"
    assert client.timeout == httpx.Timeout(7.0, connect=3.0)


async def test_websockets_ping_and_use_the_connection_class_given() -> None:
    async def echo(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        ws = await open_websocket(
            f"ws://127.0.0.1:{port}/x",
            headers={},
            verify_tls=True,
            open_timeout=5.0,
            max_size=1000,
            connection=QuickAckConnection,
        )
        try:
            assert isinstance(ws, QuickAckConnection)
            assert ws.ping_interval == 30.0 and ws.close_timeout == 1.0
            await ws.send("hello")
            assert await ws.recv() == "hello"
            if hasattr(socket, "TCP_QUICKACK"):
                assert ws._quickack_sock is not None  # armed, and still after a read
        finally:
            await ws.close()


def test_the_error_leaves_of_both_backends_share_their_bases() -> None:
    pairs = [
        (
            http_error(401, b"", where="w", what="x", token="", token_source="none"),
            JupyterAuthError,
        ),
        (http_error(404, b"", where="w", what="x", token="", token_source="none"), JupyterNotFound),
        (JupyterUnreachable("m"), JupyterUnreachable),
        (problem_error(401, {}, {}, endpoint="e", what="x"), BackendAIAuthError),
        (problem_error(404, {}, {}, endpoint="e", what="x", session="s"), BackendAISessionNotFound),
        (BackendAIUnreachable("m"), BackendAIUnreachable),
    ]
    for error, leaf in pairs:
        assert type(error) is leaf
        assert error.kind == leaf.__name__  # what the editor sees as data.kind
        assert error.code == BackendError.code
    assert all(isinstance(e, RemoteAuthError) for e, _ in pairs[0::3])
    assert all(isinstance(e, RemoteNotFound) for e, _ in pairs[1::3])
    assert all(isinstance(e, RemoteUnreachable) for e, _ in pairs[2::3])
    assert BackendAINotImplemented("m").code == Unsupported.code


def test_remote_errors_keep_the_status_in_their_data() -> None:
    error = RemoteError("m", status=503, endpoint="e")
    assert (error.status, error.data) == (503, {"endpoint": "e", "status": 503})
    assert RemoteError("m").data == {} and RemoteError("m").status is None
    bai = BackendAIError("m", status=400, problem="p", endpoint="e")
    assert list(bai.data.items()) == [("endpoint", "e"), ("status", 400), ("problem", "p")]
    assert (bai.status, bai.problem) == (400, "p")
