"""Remote profiles against a small HTTP server in the test that misbehaves on purpose.

The real daemon talks to an aiohttp server which (a) answers every call with an error
whose body echoes the request's ``Authorization`` header, placed so that the cut
errors make of a body (300 characters for Jupyter, 500 for Backend.AI) falls inside
the token or the access key; (b) answers 200 with an HTML page, or with JSON of the
wrong shape, where a Jupyter server or a Backend.AI manager would answer JSON; (c)
answers a body that cannot be decoded. The last tests drive the clients directly
against servers that redirect websockets (to another origin, to an ``http://`` page).

No 6-character run of a secret may reach the wire (errors, ``checkProfile``
answers, ``window/logMessage``) or any file the daemon writes; a check that cannot
read the answer is not a pass.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from pygls.exceptions import JsonRpcException

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.errors import BackendAIStreamUnavailable
from runbridge.backends.backendai.profile import BackendAIProfile
from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.errors import JupyterError
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.backends.jupyter.terminal import open_terminal
from runbridge.config import Profile
from runbridge.errors import BackendError
from tests.e2e.conftest import Daemon, plain, start_daemon
from tests.http_stub import serving
from tests.leaks import leaked

TOKEN = "5d0f4a9e2c7b41f8a3e6d9c0b1a2f3e4d5c6b7a8"
ACCESS_KEY = "AKIAHOSTILEECHO7TEST"
SECRET_KEY = "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"
SECRETS = [TOKEN, ACCESS_KEY, SECRET_KEY]
#: Characters of the secret left before the cut.
KEPT = 12
HTML = "<!doctype html><html><head><title>Sign in</title></head><body>portal</body></html>"


@dataclass
class Hostile:
    """What the server answers (changed by each test) and where it listens."""

    mode: str = "echo"
    url: str = ""


def echo_body(header: str, secret: str, cut: int) -> str:
    """A text body quoting ``header`` so that the first ``cut`` characters end
    ``KEPT`` characters into ``secret``."""
    before = "Authorization: " + header[: header.index(secret)]
    return "x" * (cut - KEPT - len(before)) + before + header[header.index(secret) :] + "\n"


def answer(state: Hostile, request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    path = request.path
    if state.mode == "html":
        return web.Response(text=HTML, content_type="text/html")
    if state.mode == "bad-gzip":  # says gzip, is not
        return web.Response(
            body=b"this is not gzip",
            headers={"Content-Encoding": "gzip"},
            content_type="text/plain",
        )
    if path == "/":  # the Backend.AI hello (unsigned)
        if state.mode == "bai-hello-wrong":
            return web.json_response({"status": "ok"})
        return web.json_response({"version": "v9.20250722", "manager": "25.1.0"})
    if state.mode == "echo":
        if header.startswith("token "):
            return web.Response(status=500, text=echo_body(header, TOKEN, 300))
        return web.Response(status=500, text=echo_body(header, ACCESS_KEY, 500))
    if path == "/auth":  # the Backend.AI key check
        if state.mode == "bai-auth-wrong":
            return web.json_response(["authorized"])
        return web.json_response({"authorized": "yes", "echo": "runbridge"})
    # Jupyter answers of the wrong shape
    if path == "/api":
        version = None if state.mode == "jup-version-wrong" else "2.21.1"
        return web.json_response({"version": version})
    if path in ("/api/sessions", "/api/terminals"):
        return web.json_response([])
    if path == "/api/contents":
        return web.json_response({"type": "directory", "content": None})
    if path == "/api/kernelspecs":
        if state.mode == "jup-specs-wrong":
            return web.json_response(["python3"])
        return web.json_response({"default": "python3", "kernelspecs": {"python3": {}}})
    return web.json_response({"message": "Not Found"}, status=404)


@contextlib.asynccontextmanager
async def jupyter_client(url: str) -> AsyncIterator[JupyterClient]:
    """The jupyter backend's client of the server at ``url`` (short timeouts)."""
    settings = {"url": url, "token": TOKEN, "connect_timeout": 5, "read_timeout": 5}
    client = JupyterClient(
        JupyterProfile.from_profile(Profile("j", "jupyter", settings=settings), {})
    )
    try:
        yield client
    finally:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def hostile() -> AsyncIterator[Hostile]:
    state = Hostile()

    async def handle(request: web.Request) -> web.Response:
        return answer(state, request)

    async with serving(handle) as url:
        state.url = url
        yield state


@pytest_asyncio.fixture(loop_scope="session")
async def daemon(hostile: Hostile, tmp_path: Path) -> AsyncIterator[Daemon]:
    fast = {"connect_timeout": 5, "read_timeout": 5}
    options = {
        "profile": "jup",
        "profiles": {
            "jup": {"type": "jupyter", "url": hostile.url, "token": TOKEN, **fast},
            "bai": {
                "type": "backendai",
                "endpoint": hostile.url,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "image": "python:3.11",
                "timeout": 5,
            },
        },
    }
    async with start_daemon(tmp_path / "home", init_options=options) as started:
        yield started


def assert_no_secret(daemon: Daemon, *answers: Any) -> None:
    """No run of a secret in the answers, the editor's log messages, or any file written."""
    for answer in answers:
        assert leaked(json.dumps(answer), SECRETS) == [], answer
    for message in daemon.client.log_messages:
        assert leaked(message.message, SECRETS) == [], message.message
    for path in daemon.home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert leaked(text, SECRETS) == [], f"a run of a secret is in {path}"


async def open_error(daemon: Daemon, profile: str) -> dict[str, Any]:
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("runbridge/openSession", {"name": f"s-{profile}", "profile": profile})
    error = caught.value
    return {"code": error.code, "message": error.message, "data": plain(error.data)}


@pytest.mark.parametrize("profile", ["jup", "bai"])
async def test_echoed_authorization_is_masked_before_the_cut(
    daemon: Daemon, hostile: Hostile, profile: str
) -> None:
    hostile.mode = "echo"
    error = await open_error(daemon, profile)
    assert "HTTP 500" in error["message"], error
    assert hostile.url in error["message"], error
    check = await daemon.request("runbridge/checkProfile", {"profile": profile})
    assert check["ok"] is False and "HTTP 500" in check["message"], check
    assert_no_secret(daemon, error, check)
    # the daemon keeps serving
    assert (await daemon.request("runbridge/listSessions"))["sessions"] == []


@pytest.mark.parametrize("profile", ["jup", "bai"])
async def test_check_of_an_html_answer_is_not_a_pass(
    daemon: Daemon, hostile: Hostile, profile: str
) -> None:
    """A web portal (or any catch-all page) answering 200 with HTML."""
    hostile.mode = "html"
    check = await daemon.request("runbridge/checkProfile", {"profile": profile})
    assert check["ok"] is False, check
    message = check["message"]
    assert hostile.url in message and "not JSON" in message, check
    assert_no_secret(daemon, check)


@pytest.mark.parametrize(
    ("profile", "mode", "words"),
    [
        ("bai", "bai-hello-wrong", ["GET /", "no API version"]),
        ("bai", "bai-auth-wrong", ["GET /auth", "not an object"]),
        ("jup", "jup-version-wrong", ["GET /api", "version"]),
        ("jup", "jup-specs-wrong", ["GET /api/kernelspecs", "kernelspecs"]),
    ],
)
async def test_check_of_a_wrongly_shaped_answer_is_not_a_pass(
    daemon: Daemon, hostile: Hostile, profile: str, mode: str, words: list[str]
) -> None:
    hostile.mode = mode
    check = await daemon.request("runbridge/checkProfile", {"profile": profile})
    assert check["ok"] is False, check
    for word in [hostile.url, *words]:
        assert word in check["message"], check
    assert_no_secret(daemon, check)


@pytest.mark.parametrize("profile", ["jup", "bai"])
async def test_an_undecodable_body_is_a_clear_error(
    daemon: Daemon, hostile: Hostile, profile: str
) -> None:
    """A body that claims a compression it does not have: a backend error naming the
    server, not an internal error."""
    hostile.mode = "bad-gzip"
    error = await open_error(daemon, profile)
    assert error["code"] == -32020, error  # BackendError
    assert hostile.url in error["message"] and "cannot be decoded" in error["message"], error
    check = await daemon.request("runbridge/checkProfile", {"profile": profile})
    assert check["ok"] is False and "cannot be decoded" in check["message"], check
    assert_no_secret(daemon, error, check)


@pytest.mark.parametrize("scheme", ["ws", "http"])
async def test_a_websocket_redirected_to_another_origin_carries_no_token(scheme: str) -> None:
    """A server redirecting the kernel websocket elsewhere (``ws://``, or ``http://`` as a
    login page does): a clear error, and the other origin never gets the token (the
    websocket client drops Authorization on a cross-origin redirect; the REST client
    follows no redirect at all)."""
    headers: list[str] = []

    async def other(request: web.Request) -> web.Response:
        headers.append(request.headers.get("Authorization", ""))
        return web.Response(status=404, text="nothing here")

    async with serving(other) as elsewhere:

        async def redirect(request: web.Request) -> web.Response:
            target = elsewhere.replace("http", scheme, 1)
            raise web.HTTPFound(f"{target}{request.path}?next=x&token={TOKEN}")

        async with serving(redirect) as url, jupyter_client(url) as client:
            with pytest.raises(JupyterError) as info:
                await client.ws_connect("/api/kernels/k1/channels", what="connecting")
    message = str(info.value)
    assert url in message, message
    assert leaked(message, SECRETS) == [] and "next=" not in message, message
    assert all(leaked(h, SECRETS) == [] for h in headers), headers


async def test_a_backendai_websocket_redirected_to_a_page_is_a_clear_error() -> None:
    """The manager's stream redirected to an ``http://`` page (a proxy's sign-in): a
    Backend.AI error (the session then uses the REST loop), not an internal error."""

    async def manager(request: web.Request) -> web.Response:
        if request.path == "/":
            return web.json_response({"version": "v9.20250722", "manager": "25.1.0"})
        raise web.HTTPFound(f"http://127.0.0.1:9/sso?next=x&key={ACCESS_KEY}")

    async with serving(manager) as url:
        settings = {"endpoint": url, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
        profile = BackendAIProfile.from_profile(Profile("b", "backendai", settings=settings), {})
        client = BackendAIClient(profile)
        try:
            with pytest.raises(BackendAIStreamUnavailable) as info:
                await client.ws_connect("/stream/session/s1/execute", what="running code")
        finally:
            await client.aclose()
    message = str(info.value)
    assert url in message and "redirected" in message, message
    assert leaked(message, SECRETS) == [] and "next=" not in message, message


@pytest.mark.parametrize(
    "answer",
    [{"name": "../../api/kernels/k1"}, {"name": 7}, {}, ["1"], "not json"],
    ids=["path", "number", "no-name", "array", "text"],
)
async def test_a_terminal_name_the_server_made_up_is_refused(answer: Any) -> None:
    """A server answering the new terminal with a name that is not one (it goes into the
    websocket's path) or no name at all: a clear BackendError, no websocket opened."""
    paths: list[str] = []

    async def server(request: web.Request) -> web.Response:
        paths.append(request.path)
        if request.path == "/api":
            return web.json_response({"version": "2.21.1"})
        if request.path == "/api/terminals" and request.method == "POST":
            if isinstance(answer, str):
                return web.Response(text=answer)
            return web.json_response(answer)
        return web.json_response([] if request.path != "/api/contents" else {})

    async with serving(server) as url, jupyter_client(url) as client:
        with pytest.raises(BackendError, match="no usable name") as info:
            await open_terminal(client, None, 24, 80, lambda data: None, lambda code: None)
    assert url in str(info.value)
    assert not [p for p in paths if "websocket" in p or "kernels" in p], paths
