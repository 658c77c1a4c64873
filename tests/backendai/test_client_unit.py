"""Unit tests of the backendai client, session logic and console handling (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import tarfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from runbridge.backends.backendai import errors as bai_errors
from runbridge.backends.backendai.backend import BackendAIBackend
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.console import (
    normalize_console,
    normalize_record,
    user_error_from_stderr,
)
from runbridge.backends.backendai.files import (
    UPLOAD_MAX_BYTES,
    WORKDIR,
    extract_tar,
    list_entries,
    split_multipart,
)
from runbridge.backends.backendai.profile import BackendAIProfile
from runbridge.backends.backendai.pty import parse_frame, pty_terminal
from runbridge.backends.backendai.session import BackendAISession
from runbridge.config import Profile
from runbridge.errors import BackendError, FileError, InvalidParams, SessionConflict
from runbridge.model import BatchOptions, RunStatus, SessionState
from runbridge.session_options import SessionOptions
from tests.fake_websocket import FakeWebSocket
from tests.leaks import leaked

ENDPOINT = "http://127.0.0.1:8081"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PROB = "https://api.backend.ai/probs/"

Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]


def _profile(**settings: Any) -> BackendAIProfile:
    base = {"endpoint": ENDPOINT, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
    base.update(settings)
    return BackendAIProfile.from_profile(Profile(name="bai", type="backendai", settings=base), {})


class Server:
    """A scripted manager: records requests, answers ``GET /`` and delegates the rest."""

    def __init__(self, handler: Handler, hello: str = "v9.20250722") -> None:
        self.handler = handler
        self.hello = hello
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/":
            return httpx.Response(200, json={"version": self.hello, "manager": "25.1.0"})
        self.requests.append(request)
        answer = self.handler(request)
        if isinstance(answer, httpx.Response):
            return answer
        return await answer

    def client(self, **settings: Any) -> BackendAIClient:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        return BackendAIClient(
            _profile(**settings), transport=httpx.MockTransport(self), sleep=sleep
        )

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.content]


def problem(
    status: int, slug: str, title: str, msg: str | None = None, **headers: str
) -> httpx.Response:
    body: dict[str, Any] = {"type": PROB + slug, "title": title}
    if msg is not None:
        body["msg"] = msg
    return httpx.Response(
        status, json=body, headers={"Content-Type": "application/problem+json", **headers}
    )


def new_session(server: Server, name: str = "sess1", image: str = "python:3.9") -> BackendAISession:
    session = BackendAISession(
        server.client(), name, image, {}, lambda state: None, poll_interval=0.0
    )
    session.runs.stream_execute = False
    return session


class Sink:
    def __init__(self, answers: list[str | None] | None = None) -> None:
        self.records: list[tuple[str, str]] = []
        self.asked: list[tuple[str, bool]] = []
        self.answers = list(answers or [])

    def emit(self, kind: str, data: str, display: Any = None) -> None:
        self.records.append((kind, data))

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        self.asked.append((prompt, password))
        return self.answers.pop(0)


def result(status: str, console: list[Any] | None = None, **extra: Any) -> httpx.Response:
    body = {
        "status": status,
        "console": console or [],
        "exitCode": extra.pop("exitCode", None),
        "options": extra.pop("options", None),
        "files": None,
        **extra,
    }
    return httpx.Response(200, json={"result": body})


# -- console ------------------------------------------------------------------------
def test_console_normalisation() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    console = [
        ["stdout", "hello\n"],
        ["stderr", "warn\n"],
        ["media", ["image/png", png]],
        ["media", ["image/svg+xml", "<svg/>"]],
        ["html", "<b>x</b>"],
        ["media", ["application/vnd.sorna.gitgraph", [{"oid": "1"}]]],
        ["completion", []],
        "garbage",
    ]
    assert normalize_console(console) == [
        ("stdout", "hello\n"),
        ("stderr", "warn\n"),
        ("image/png", png),
        ("image/svg+xml", "<svg/>"),
        ("text/html", "<b>x</b>"),
        ("application/vnd.sorna.gitgraph", '[{"oid": "1"}]'),
    ]
    assert normalize_record(["log", ["INFO", "t", "lg", "m"]]) == ("stderr", "[INFO t lg] m\n")
    assert normalize_console(None) == []


def test_user_error_from_traceback() -> None:
    stderr = (
        "\x1b[0;31mTraceback (most recent call last):\x1b[0m\n"
        '  File "<input>", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    error = user_error_from_stderr(stderr)
    assert error is not None
    assert (error.ename, error.evalue) == ("ZeroDivisionError", "division by zero")
    assert user_error_from_stderr("just a warning\n") is None
    ipython = (
        "\x1b[31m---------------------------------------------------------------------------\x1b[39m\n"
        "\x1b[31mZeroDivisionError\x1b[39m                         "
        "Traceback (most recent call last)\n"
        "Cell In[2], line 1\n----> 1 1/0\n\n"
        "\x1b[31mZeroDivisionError\x1b[39m: division by zero\n"
    )
    error = user_error_from_stderr(ipython)
    assert error is not None
    assert (error.ename, error.evalue) == ("ZeroDivisionError", "division by zero")


# -- negotiation and errors -------------------------------------------------------------
async def test_negotiates_lower_version_and_signs() -> None:
    server = Server(lambda r: httpx.Response(200, json={"ok": True}), hello="v8.20240915")
    client = server.client()
    await client.call_json("GET", "/auth", what="testing")
    assert client.api_version == "v8.20240915"
    request = server.requests[0]
    assert request.headers["X-BackendAI-Version"] == "v8.20240915"
    assert request.headers["Authorization"].startswith(
        f"BackendAI signMethod=HMAC-SHA256, credential={ACCESS_KEY}:"
    )
    newer = Server(lambda r: httpx.Response(200, json={}), hello="v99.20990101")
    other = newer.client()
    await other.call_json("GET", "/auth", what="testing")
    assert other.api_version == "v9.20250722"
    await client.aclose()
    await other.aclose()


@pytest.mark.parametrize(
    ("response", "error", "words"),
    [
        (
            problem(401, "auth-failed", "Unauthorized access", "HMAC signature mismatch"),
            bai_errors.BackendAIAuthError,
            ["credentials", "secret_key", "clock"],
        ),
        (
            problem(400, "invalid-auth-params", "Date/time sync error"),
            bai_errors.BackendAIAuthError,
            ["clock"],
        ),
        (
            problem(404, "object-not-found", "No such session."),
            bai_errors.BackendAISessionNotFound,
            ["'sess1'", "does not exist"],
        ),
        (
            problem(400, "session-already-exists", "The session already exists"),
            bai_errors.BackendAISessionExists,
            ["already exists"],
        ),
        (
            problem(400, "quota-exceeded", "You have reached your resource limit."),
            bai_errors.BackendAIQuotaExceeded,
            ["quota"],
        ),
        (
            problem(412, "quota-exceeded", "You have reached your resource limit."),
            bai_errors.BackendAIQuotaExceeded,
            ["quota"],
        ),
        (
            problem(403, "insufficient-privilege", "Insufficient privilege"),
            bai_errors.BackendAIForbidden,
            ["not allowed"],
        ),
        (
            problem(501, "not-implemented", "Session restart is no longer supported."),
            bai_errors.BackendAINotImplemented,
            ["does not support"],
        ),
        (
            problem(503, "server-frozen", "The server is frozen"),
            bai_errors.BackendAIUnavailable,
            ["retry later"],
        ),
        (
            problem(500, "internal-server-error", "Internal server error"),
            bai_errors.BackendAIError,
            ["HTTP 500", "Internal server error"],
        ),
        (
            httpx.Response(502, text="<html>Bad gateway</html>"),
            bai_errors.BackendAIError,
            ["HTTP 502", "Bad gateway"],
        ),
    ],
)
async def test_problem_json_mapping(
    response: httpx.Response, error: type[Exception], words: list[str]
) -> None:
    server = Server(lambda r: response)
    client = server.client()
    with pytest.raises(error) as info:
        await client.call_json("GET", "/session/sess1", what="reading", session="sess1")
    assert type(info.value) is error
    assert isinstance(info.value, BackendError)
    message = str(info.value)
    for word in words:
        assert word in message
    assert ENDPOINT in message
    assert SECRET_KEY not in message
    await client.aclose()


async def test_secrets_scrubbed_from_server_text() -> None:
    server = Server(lambda r: problem(401, "auth-failed", "bad", f"key {SECRET_KEY} wrong"))
    client = server.client()
    with pytest.raises(bai_errors.BackendAIAuthError) as info:
        await client.call_json("GET", "/auth", what="testing")
    assert SECRET_KEY not in str(info.value)
    assert "***" in str(info.value)
    await client.aclose()


@pytest.mark.parametrize("key", ["access", "secret"])
@pytest.mark.parametrize("kept", [6, 15])
async def test_text_body_cut_inside_a_key_is_masked(key: str, kept: int) -> None:
    """A non-JSON error body is quoted up to 500 characters: the cut falls ``kept``
    characters into a key the server echoes, and no 6-character run of it is shown."""
    value = ACCESS_KEY if key == "access" else SECRET_KEY
    head = "keypair "
    body = "p" * (500 - kept - len(head)) + head + value + " is not allowed here"
    server = Server(lambda r: httpx.Response(500, text=body))
    client = server.client()
    with pytest.raises(bai_errors.BackendAIError) as info:
        await client.call_json("GET", "/session/sess1", what="reading", session="sess1")
    message = str(info.value)
    assert "HTTP 500" in message
    assert leaked(message, [ACCESS_KEY, SECRET_KEY]) == [], message
    await client.aclose()


async def test_echoed_authorization_header_is_masked() -> None:
    """A manager (or a proxy) that quotes the request's Authorization header: neither the
    access key nor the request's signature is shown (the body is not signed, so a
    signature could be replayed with another body within the 15-minute window)."""
    sent: list[str] = []

    def echo(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return problem(401, "auth-failed", "bad", f"Authorization: {sent[-1]}")

    server = Server(echo)
    client = server.client()
    with pytest.raises(bai_errors.BackendAIAuthError) as info:
        await client.call_json("GET", "/auth", what="testing")
    message = str(info.value)
    signature = sent[0].rsplit(":", 1)[1]
    assert leaked(message, [ACCESS_KEY, SECRET_KEY, signature]) == [], message
    await client.aclose()


async def test_problem_type_echoing_the_credential_is_masked_in_error_data() -> None:
    """The problem ``type`` goes to the wire as ``data.problem``: masked and bounded too."""

    def echo(request: httpx.Request) -> httpx.Response:
        kind = PROB + "x" * 1000 + request.headers["Authorization"]
        return httpx.Response(500, json={"type": kind, "title": "t"})

    client = Server(echo).client()
    with pytest.raises(bai_errors.BackendAIError) as info:
        await client.call_json("GET", "/session/sess1", what="reading", session="sess1")
    problem = str(info.value.data["problem"])
    assert leaked(problem, [ACCESS_KEY]) == [], problem
    assert len(problem) <= 200
    await client.aclose()


async def test_problem_detail_is_a_bounded_prefix() -> None:
    server = Server(lambda r: problem(500, "internal-server-error", "t" * 50_000, "m" * 50_000))
    client = server.client()
    with pytest.raises(bai_errors.BackendAIError) as info:
        await client.call_json("GET", "/session/sess1", what="reading", session="sess1")
    assert len(str(info.value)) < 1000
    await client.aclose()


async def test_run_answer_without_result_is_masked() -> None:
    """The REST loop quotes 200 characters of an answer it cannot read."""
    pad = "q" * (200 - 10 - len("{'echo': '"))
    server = Server(lambda r: httpx.Response(200, json={"echo": pad + ACCESS_KEY}))
    session = new_session(server)
    with pytest.raises(BackendError) as info:
        await session.execute("1", Sink(), None)
    message = str(info.value)
    assert "without a result" in message
    assert leaked(message, [ACCESS_KEY]) == [], message


async def test_rate_limit_short_wait_is_retried_once() -> None:
    answers = [
        problem(429, "rate-limit-exceeded", "Rate limit exceeded", **{"Retry-After": "2"}),
        httpx.Response(200, json={"ok": 1}),
    ]
    server = Server(lambda r: answers.pop(0))
    client = server.client()
    assert await client.call_json("GET", "/auth", what="testing") == {"ok": 1}
    assert server.sleeps == [2.0]
    assert len(server.requests) == 2
    await client.aclose()


async def test_rate_limit_retried_only_once() -> None:
    server = Server(
        lambda r: problem(429, "rate-limit-exceeded", "Rate limit", **{"X-RateLimit-Reset": "1"})
    )
    client = server.client()
    with pytest.raises(bai_errors.BackendAIRateLimited):
        await client.call_json("GET", "/auth", what="testing")
    assert len(server.requests) == 2
    assert server.sleeps == [1.0]
    await client.aclose()


async def test_rate_limit_long_wait_says_when() -> None:
    server = Server(
        lambda r: problem(429, "rate-limit-exceeded", "Rate limit", **{"Retry-After": "600"})
    )
    client = server.client()
    with pytest.raises(bai_errors.BackendAIRateLimited) as info:
        await client.call_json("GET", "/auth", what="testing")
    assert "retry in 600 s" in str(info.value)
    assert info.value.retry_after == 600
    assert server.sleeps == []
    assert len(server.requests) == 1
    without = Server(lambda r: problem(429, "rate-limit-exceeded", "Rate limit"))
    other = without.client()
    with pytest.raises(bai_errors.BackendAIRateLimited) as info2:
        await other.call_json("GET", "/auth", what="testing")
    assert "15-minute window" in str(info2.value)
    await client.aclose()
    await other.aclose()


def test_retry_after_parsing() -> None:
    now = 1_800_000_000.0
    assert bai_errors.retry_after({"X-RateLimit-Reset": str(now + 5)}, now) == 5
    assert bai_errors.retry_after({"X-RateLimit-Reset": str((now + 7) * 1000)}, now) == 7
    assert bai_errors.retry_after({"retry-after": "3"}, now) == 3
    assert bai_errors.retry_after({}, now) is None


async def test_unreachable_names_endpoint_not_keys() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    client = BackendAIClient(_profile(), transport=httpx.MockTransport(refuse))
    with pytest.raises(bai_errors.BackendAIUnreachable) as info:
        await client.call_json("GET", "/auth", what="testing")
    message = str(info.value)
    assert ENDPOINT in message and "cannot be reached" in message
    assert SECRET_KEY not in message and ACCESS_KEY not in message

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client2 = BackendAIClient(_profile(), transport=httpx.MockTransport(slow))
    with pytest.raises(bai_errors.BackendAIUnreachable, match="did not answer"):
        await client2.call_json("GET", "/auth", what="testing")
    await client.aclose()
    await client2.aclose()


# -- session lifecycle ---------------------------------------------------------------
async def test_start_polls_pending_and_reports_starting() -> None:
    statuses = ["PREPARING", "PULLING", "RUNNING"]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/session":
            return httpx.Response(
                201,
                json={
                    "sessionId": "u-1",
                    "sessionName": "sess1",
                    "status": "PENDING",
                    "servicePorts": [],
                    "created": True,
                },
            )
        assert request.method == "GET" and request.url.path == "/session/sess1"
        return httpx.Response(200, json={"status": statuses.pop(0), "image": "python:3.9"})

    server = Server(handle)
    states: list[SessionState] = []
    seen: list[str] = []
    session = BackendAISession(
        server.client(),
        "sess1",
        "python:3.9",
        {"A": "1"},
        states.append,
        options=SessionOptions(resources={"cpu": 1}),
        poll_interval=0.0,
    )
    session.on_status = seen.append
    await session.start()
    assert session.status == "RUNNING" and session.session_id == "u-1" and session.created
    assert seen == ["PENDING", "PREPARING", "PULLING", "RUNNING"]
    assert states and set(states) == {SessionState.STARTING}
    body = server.bodies()[0]
    assert body["name"] == "sess1" and body["image"] == "python:3.9"
    assert body["reuseIfExists"] is True and body["enqueueOnly"] is True
    assert body["config"] == {"environ": {"A": "1"}, "resources": {"cpu": 1}}
    assert session.workdir == WORKDIR == "/home/work"


async def test_start_other_image_is_a_conflict() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return problem(400, "session-already-exists", "The session already exists")
        return httpx.Response(200, json={"status": "RUNNING", "image": "r-base:4"})

    session = new_session(Server(handle))
    with pytest.raises(SessionConflict, match=r"with image 'r-base:4', not 'python:3.9'"):
        await session.start()


async def test_start_error_status_is_reported() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"sessionId": "x", "status": "PENDING"})
        return httpx.Response(200, json={"status": "ERROR", "statusInfo": "image-pull-failed"})

    session = new_session(Server(handle))
    with pytest.raises(BackendError, match=r"became ERROR while starting.*image-pull-failed"):
        await session.start()


async def test_restart_501_is_explained() -> None:
    session = new_session(Server(lambda r: problem(501, "not-implemented", "no restart")))
    with pytest.raises(bai_errors.BackendAINotImplemented, match="close session 'sess1'"):
        await session.restart()


async def test_close_destroys_and_ignores_gone() -> None:
    server = Server(lambda r: problem(404, "object-not-found", "No such session."))
    session = new_session(server)
    await session.close()
    request = server.requests[0]
    assert request.method == "DELETE" and request.url.path == "/session/sess1"
    assert request.url.params["forced"] == "true"


# -- runs -----------------------------------------------------------------------------
async def test_rest_query_loop_with_input_and_media() -> None:
    answers = [
        result("continued", [["stdout", "start\n"]], runId="srv-run"),
        result(
            "waiting-input",
            [["stdout", "more\nName: "]],
            runId="srv-run",
            options={"is_password": False},
        ),
        result(
            "finished",
            [
                ["media", ["image/png", "data:image/png;base64,AA=="]],
                ["html", "<i>hi</i>"],
                ["stdout", "Hello Ann\n"],
            ],
            runId="srv-run",
            exitCode=0,
        ),
    ]
    server = Server(lambda r: answers.pop(0))
    session = new_session(server)
    sink = Sink(["Ann"])
    outcome = await session.execute("print(input('Name: '))", sink, None)
    assert outcome.status == RunStatus.FINISHED and outcome.exit_code == 0
    assert outcome.error is None
    bodies = server.bodies()
    assert [b["mode"] for b in bodies] == ["query", "continue", "input"]
    for body in bodies:
        assert body["runId"] == body["run_id"]
    assert bodies[0]["code"] == "print(input('Name: '))"
    assert bodies[1]["runId"] == "srv-run" and bodies[1]["code"] == ""
    assert bodies[2]["code"] == "Ann"
    assert all(r.url.path == "/session/sess1" for r in server.requests)
    assert sink.asked == [("Name: ", False)]
    assert sink.records == [
        ("stdout", "start\n"),
        ("stdout", "more\n"),
        ("image/png", "data:image/png;base64,AA=="),
        ("text/html", "<i>hi</i>"),
        ("stdout", "Hello Ann\n"),
    ]


async def test_rest_input_cancelled_interrupts() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/interrupt"):
            return httpx.Response(204)
        body = json.loads(request.content)
        if body["mode"] == "query":
            return result(
                "waiting-input",
                [["stdout", "Password: "]],
                runId="r1",
                options={"is_password": True},
            )
        return result("finished", [["stderr", "KeyboardInterrupt\n"]], runId="r1", exitCode=1)

    server = Server(handle)
    session = new_session(server)
    sink = Sink([None])
    outcome = await session.execute("getpass()", sink, None)
    assert sink.asked == [("Password: ", True)]
    assert outcome.status == RunStatus.INTERRUPTED and outcome.exit_code == 130
    assert any(r.url.path == "/session/sess1/interrupt" for r in server.requests)


async def test_rest_exception_keeps_server_exit_code() -> None:
    traceback = "Traceback (most recent call last):\n  ...\nValueError: bad\n"
    server = Server(lambda r: result("finished", [["stderr", traceback]], exitCode=1))
    outcome = await new_session(server).execute("raise ValueError('bad')", Sink(), None)
    assert outcome.status == RunStatus.FINISHED and outcome.exit_code == 1
    assert outcome.error is not None and outcome.error.ename == "ValueError"
    old = Server(lambda r: result("finished", [["stderr", traceback]], exitCode=0))
    outcome = await new_session(old).execute("raise ValueError('bad')", Sink(), None)
    assert outcome.exit_code == 0 and outcome.error is not None


async def test_rest_exec_timeout_status() -> None:
    server = Server(lambda r: result("exec-timeout", [["stdout", "partial"]]))
    outcome = await new_session(server).execute("while True: pass", Sink(), None)
    assert outcome.status == RunStatus.EXEC_TIMEOUT and outcome.exit_code == 124


async def test_timeout_option_interrupts() -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/interrupt"):
            return httpx.Response(204)
        await asyncio.sleep(0.05)
        return result("continued", [], runId="r")

    server = Server(handle)
    outcome = await new_session(server).execute("sleep", Sink(), 0.2)
    assert outcome.status == RunStatus.EXEC_TIMEOUT and outcome.exit_code == 124
    assert server.requests[-1].url.path == "/session/sess1/interrupt"


async def test_session_gone_marks_dead() -> None:
    states: list[SessionState] = []
    server = Server(lambda r: problem(404, "object-not-found", "No such session."))
    session = BackendAISession(server.client(), "sess1", "python", {}, states.append)
    session.runs.stream_execute = False
    outcome = await session.execute("1", Sink(), None)
    assert outcome.status == RunStatus.FAILED and "does not exist" in (outcome.message or "")
    assert states == [SessionState.DEAD]


async def test_batch_steps_and_first_failure() -> None:
    answers = [
        result("clean-finished", [["stdout", "cleaned\n"]], runId="b", exitCode=0),
        result("build-finished", [["stderr", "build failed\n"]], runId="b", exitCode=2),
        result("finished", [], runId="b", exitCode=127),
    ]
    server = Server(lambda r: answers.pop(0))
    session = new_session(server)
    options = BatchOptions(build="make", exec="python main.py", clean="rm -rf out")
    outcome = await session.batch(options, "", Sink())
    assert outcome.status == RunStatus.FINISHED and outcome.exit_code == 2
    bodies = server.bodies()
    assert [b["mode"] for b in bodies] == ["batch", "continue", "continue"]
    assert bodies[0]["options"] == {
        "clean": "rm -rf out",
        "build": "make",
        "buildLog": False,
        "exec": "python main.py",
    }
    assert "options" not in bodies[1]
    assert all(b["runId"] == b["run_id"] == "b" for b in bodies[1:])


async def test_batch_code_is_uploaded_and_run() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/upload"):
            return httpx.Response(204)
        return result("finished", [], runId="b", exitCode=0)

    server = Server(handle)
    outcome = await new_session(server).batch(BatchOptions(), "print(1)", Sink())
    assert outcome.exit_code == 0
    upload, run = server.requests
    assert upload.url.path == "/session/sess1/upload"
    name = re.search(rb'filename="(\.runbridge/batch-[0-9a-f]+\.py)"', upload.content)
    assert name is not None
    assert json.loads(run.content)["options"]["exec"] == "python " + name.group(1).decode()


# -- files ------------------------------------------------------------------------------
def _filenames(request: httpx.Request) -> list[str]:
    return re.findall(r'filename="([^"]+)"', request.content.decode("latin-1"))


async def test_upload_batches_of_twenty(tmp_path: Path) -> None:
    files = []
    for i in range(45):
        path = tmp_path / f"f{i:02}.txt"
        path.write_text("x" * i)
        files.append(str(path))
    server = Server(lambda r: httpx.Response(204))
    session = new_session(server)
    progress: list[tuple[int, int]] = []
    entries = await session.upload(files, "data/sub", lambda d, t: progress.append((d, t)))
    assert [len(_filenames(r)) for r in server.requests] == [20, 20, 5]
    for request in server.requests:
        assert request.url.path == "/session/sess1/upload"
        assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert _filenames(server.requests[0])[0] == "data/sub/f00.txt"
    assert [e.path for e in entries][:2] == ["data/sub/f00.txt", "data/sub/f01.txt"]
    total = sum(range(45))
    assert progress[0] == (0, total) and progress[-1] == (total, total)
    assert len(progress) == 4


async def test_upload_refuses_before_sending(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_text("ok")
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * UPLOAD_MAX_BYTES)
    server = Server(lambda r: httpx.Response(204))
    session = new_session(server)
    with pytest.raises(bai_errors.BackendAIUploadRefused, match=r"big\.bin.*1\.0 MiB"):
        await session.upload([str(small), str(big)], ".", lambda d, t: None)
    with pytest.raises(FileError, match="does not exist"):
        await session.upload([str(small), str(tmp_path / "nope")], ".", lambda d, t: None)
    with pytest.raises(FileError, match="outside"):
        await session.upload([str(small)], "../x", lambda d, t: None)
    with pytest.raises(FileError, match="relative"):
        await session.upload([str(small)], "/etc", lambda d, t: None)
    assert server.requests == []
    just_under = tmp_path / "under.bin"
    just_under.write_bytes(b"\0" * (UPLOAD_MAX_BYTES - 1))
    await session.upload([str(just_under)], f"{WORKDIR}/in", lambda d, t: None)
    assert _filenames(server.requests[0]) == ["in/under.bin"]


def _tar(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_download_multipart_tars(tmp_path: Path) -> None:
    boundary = "xyzBOUNDARY"
    parts = [_tar("a.txt", b"alpha\r\n"), _tar("b.bin", bytes(range(256)))]
    body = (
        b"".join(
            b"--" + boundary.encode() + b"\r\nContent-Type: application/x-tar\r\n"
            b"Content-Encoding: identity\r\n\r\n" + part + b"\r\n"
            for part in parts
        )
        + b"--"
        + boundary.encode()
        + b"--\r\n"
    )
    server = Server(
        lambda r: httpx.Response(
            200, content=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}
        )
    )
    session = new_session(server)
    entries = await session.download(["a.txt", "sub/b.bin"], str(tmp_path), lambda d, t: None)
    assert (tmp_path / "a.txt").read_bytes() == b"alpha\r\n"
    assert (tmp_path / "b.bin").read_bytes() == bytes(range(256))
    assert [Path(e.path).name for e in entries] == ["a.txt", "b.bin"]
    request = server.requests[0]
    assert request.method == "POST" and request.url.path == "/session/sess1/download"
    assert request.url.params.get_list("files") == ["a.txt", "sub/b.bin"]
    assert json.loads(request.content) == {"files": ["a.txt", "sub/b.bin"]}
    assert split_multipart("text/plain", body) == []
    with pytest.raises(FileError):
        await session.download(["../etc/passwd"], str(tmp_path), lambda d, t: None)


def _tar_of(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_hostile_archive_writes_only_files_it_creates_under_dest(tmp_path: Path) -> None:
    """The manager's tar is unpacked into dest without following any link there: not
    at a member's partial-file name, not on a member's way, and never outside dest."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    dest = tmp_path / "dest"
    (dest / "real").mkdir(parents=True)
    (dest / "x.txt.part-runbridge").symlink_to(victim)
    (dest / "y.txt").symlink_to(victim)
    entries = extract_tar(_tar_of([("x.txt", b"x"), ("y.txt", b"y")]), dest)
    assert [Path(e.path).name for e in entries] == ["x.txt", "y.txt"]
    assert victim.read_text() == "precious"
    assert (dest / "x.txt").read_bytes() == b"x"
    assert not (dest / "y.txt").is_symlink() and (dest / "y.txt").read_bytes() == b"y"
    (dest / "inner").symlink_to("real")  # a link that stays inside dest: not followed either
    (dest / "out").symlink_to(tmp_path)
    for name, match in [
        ("inner/z.txt", "symbolic link"),
        ("out/z.txt", "symbolic link"),
        ("../z.txt", "outside"),
        ("/tmp/z.txt", "outside|relative"),
    ]:
        with pytest.raises(FileError, match=match):
            extract_tar(_tar_of([(name, b"z")]), dest)
    assert list((dest / "real").iterdir()) == []
    assert not (tmp_path / "z.txt").exists()


def test_an_answer_that_is_not_a_tar_is_a_clear_file_error(tmp_path: Path) -> None:
    """A manager (or a proxy in front of it) answering a download with HTML or with a
    truncated archive: a FileError saying so, not an internal error."""
    dest = tmp_path / "dest"
    for body in [b"<html>sign in</html>", _tar_of([("a.txt", b"a" * 5000)])[:700]]:
        with pytest.raises(FileError, match="not a readable tar archive"):
            extract_tar(body, dest)


async def test_list_files_sends_query_and_body() -> None:
    listing = [{"filename": "a.txt", "size": 1, "mode": "-rw-r--r--"}]
    server = Server(
        lambda r: httpx.Response(
            200, json={"files": json.dumps(listing), "errors": "", "abspath": "."}
        )
    )
    session = new_session(server)
    assert await list_entries(session.client, session.name, "data") == listing
    request = server.requests[0]
    assert request.url.params["path"] == "data" and json.loads(request.content) == {"path": "data"}


async def test_list_files_gives_folder_entries() -> None:
    listing = [
        {"filename": "z.txt", "size": 3, "mode": "-rw-r--r--", "mtime": 5.0},
        {"filename": "sub", "size": 4096, "mode": "drwxr-xr-x", "mtime": 6.0},
        {"filename": "link", "size": 7, "mode": "lrwxrwxrwx"},
    ]
    server = Server(lambda r: httpx.Response(200, json={"files": json.dumps(listing)}))
    session = new_session(server)
    entries = [e.to_wire() for e in await session.list_files("data")]
    assert entries == [
        {"name": "sub", "path": "data/sub", "type": "dir", "size": 4096, "mtime": 6.0},
        {"name": "link", "path": "data/link", "type": "other", "size": 7, "mtime": None},
        {"name": "z.txt", "path": "data/z.txt", "type": "file", "size": 3, "mtime": 5.0},
    ]


# -- terminal ---------------------------------------------------------------------------
def _out(data: bytes, binary: bool) -> str | bytes:
    frame = json.dumps({"type": "out", "data": base64.b64encode(data).decode()})
    return frame.encode() if binary else frame


async def test_pty_frames_text_and_binary_incremental() -> None:
    euro = "€".encode()
    error = '{"type": "error", "data": "boom"}'
    ws = FakeWebSocket([_out(b"hi " + euro[:1], False), _out(euro[1:] + b"!", True), error])
    output: list[str] = []
    exits: list[int | None] = []
    terminal = pty_terminal(cast(Any, ws), output.append, exits.append, ping_interval=0.01)
    terminal.start(24, 80)
    terminal.write("ls\n")
    terminal.resize(30, 100)
    await asyncio.sleep(0.05)
    assert "".join(output) == "hi €!\r\n[runbridge] terminal error: boom\r\n"
    sent = [json.loads(f) for f in ws.sent]
    assert sent[0] == {"type": "resize", "rows": 24, "cols": 80}
    assert {"type": "stdin", "chars": base64.b64encode(b"ls\n").decode()} in sent
    assert {"type": "resize", "rows": 30, "cols": 100} in sent
    assert {"type": "ping"} in sent
    await terminal.close()
    assert exits == [None]
    assert parse_frame(b'{"type": "error", "data": "boom"}') == ("error", "boom")
    assert parse_frame("not json") is None


# -- backend ---------------------------------------------------------------------------------
async def test_backend_opens_sessions_on_one_client() -> None:
    profile = Profile(
        name="bai",
        type="backendai",
        image="python:3.9",
        settings={
            "endpoint": ENDPOINT,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "group": "g1",
            "resources": {"cpu": 2},
        },
    )
    backend = BackendAIBackend(
        profile, {}, transport=httpx.MockTransport(Server(lambda r: httpx.Response(204)))
    )
    one = backend.open("a1234", None, {}, lambda s: None)
    two = backend.open("b1234", "r-base", {}, lambda s: None)
    assert one.client is two.client is backend.client
    assert one.image == "python:3.9" and two.image == "r-base"
    assert one.group == "g1" and one.options.resources == {"cpu": 2}
    assert backend.name == "backendai"
    await backend.aclose()


# -- execute stream (a real websocket server on 127.0.0.1) ----------------------------------
async def test_stream_execute_and_rest_fallback() -> None:
    from http import HTTPStatus

    from websockets.asyncio.server import ServerConnection, serve
    from websockets.http11 import Request, Response

    seen: dict[str, Any] = {}

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        seen.setdefault("auth", request.headers.get("Authorization", ""))
        if request.path.startswith("/stream/session/nows/"):
            return connection.respond(HTTPStatus.NOT_FOUND, "no such route\n")
        if request.path.startswith("/stream/session/proxied/"):
            return connection.respond(HTTPStatus.BAD_REQUEST, "upgrades not allowed\n")
        return None

    async def handler(ws: ServerConnection) -> None:
        seen["first"] = json.loads(await ws.recv())
        frame = {"status": "continued", "console": [["stdout", "a\n"]], "exitCode": None}
        await ws.send(json.dumps(frame))
        frame = {"status": "waiting-input", "console": [["stdout", "Who? "]], "options": None}
        await ws.send(json.dumps(frame).encode())  # a BINARY frame is accepted too
        seen["input"] = await ws.recv()
        frame = {"status": "finished", "console": [["html", "<p/>"]], "exitCode": 0}
        await ws.send(json.dumps(frame))

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        endpoint = f"http://127.0.0.1:{port}"
        rest = Server(lambda r: result("finished", [["stdout", "via rest\n"]], exitCode=0))
        client = BackendAIClient(_profile(endpoint=endpoint), transport=httpx.MockTransport(rest))
        session = BackendAISession(client, "sess1", "python", {}, lambda s: None)
        sink = Sink(["Bob"])
        outcome = await session.execute("print(input('Who? '))", sink, None)
        assert outcome.status == RunStatus.FINISHED and outcome.exit_code == 0
        assert session.runs.stream_execute is True
        assert seen["first"] == {"code": "print(input('Who? '))", "mode": "query", "options": {}}
        assert seen["input"] == "Bob"
        assert seen["auth"].startswith("BackendAI signMethod=HMAC-SHA256")
        assert sink.asked == [("Who? ", False)]
        assert sink.records == [("stdout", "a\n"), ("text/html", "<p/>")]
        assert rest.requests == []

        other = BackendAISession(client, "nows", "python", {}, lambda s: None)
        sink = Sink()
        outcome = await other.execute("1", sink, None)
        assert other.runs.stream_execute is False
        assert sink.records == [("stdout", "via rest\n")]
        assert rest.requests[0].url.path == "/session/nows"

        proxied = BackendAISession(client, "proxied", "python", {}, lambda s: None)
        outcome = await proxied.execute("1", Sink(), None)
        assert proxied.runs.stream_execute is False and outcome.exit_code == 0
        assert rest.requests[-1].url.path == "/session/proxied"
        await client.aclose()


async def test_execute_stream_result_is_read_before_the_close_is_answered() -> None:
    """The manager's last result and its close frame in one TCP segment: the reader gets
    the result before the close reply is written (it must not wait for that write), and
    the closing handshake still completes."""
    import hashlib
    import struct

    got: dict[str, Any] = {}
    ready = asyncio.Event()

    async def manager(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        key = re.search(r"(?i)sec-websocket-key: *(\S+)", head)
        assert key is not None
        guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        accept = base64.b64encode(hashlib.sha1(key.group(1).encode() + guid).digest()).decode()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
        )
        await ready.wait()
        last = json.dumps({"status": "finished", "console": [], "exitCode": 0}).encode()
        close = b"\x88\x02" + struct.pack("!H", 1000)
        writer.write(b"\x81" + bytes([len(last)]) + last + close)  # one segment
        head2 = await reader.readexactly(2)  # the client's (masked) close frame
        body = await reader.readexactly((head2[1] & 0x7F) + 4)
        mask, payload = body[:4], body[4:]
        unmasked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        got["close"] = (head2[0], struct.unpack("!H", unmasked[:2])[0])
        writer.close()

    server = await asyncio.start_server(manager, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rest = Server(lambda r: result("finished", [], exitCode=0))
    client = BackendAIClient(
        _profile(endpoint=f"http://127.0.0.1:{port}"), transport=httpx.MockTransport(rest)
    )
    ws = await client.ws_connect("/stream/session/s1/execute", what="a test")
    writes: list[bytes] = []
    real_write = ws.transport.write
    ws.transport.write = lambda data: (writes.append(bytes(data)), real_write(data))[1]  # type: ignore[method-assign]
    ready.set()
    frame = await ws.recv()
    assert json.loads(frame)["status"] == "finished"
    assert writes == []  # the close reply has not been written yet
    await ws.close()
    assert ws.close_code == 1000
    assert len(writes) == 1 and writes[0][0] == 0x88  # then it was, once
    assert got["close"] == (0x88, 1000)
    server.close()
    await server.wait_closed()
    await client.aclose()


async def test_restart_recreates_a_gone_session() -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "PATCH":
            return problem(501, "not-implemented", "no restart")
        if request.method == "GET" and calls.count("POST") == 0:
            return problem(404, "object-not-found", "No such session.")
        if request.method == "POST":
            return httpx.Response(201, json={"sessionId": "n", "status": "RUNNING"})
        return httpx.Response(200, json={"status": "RUNNING"})

    session = new_session(Server(handle))
    await session.restart()
    assert calls == ["PATCH", "GET", "POST"]
    assert session.status == "RUNNING"


async def test_invalid_session_name_is_refused_before_sending() -> None:
    server = Server(lambda r: httpx.Response(500))
    for name in ("s1", "-bad-", "x" * 65, "with space"):
        session = new_session(server, name=name)
        with pytest.raises(InvalidParams, match="4 to 64"):
            await session.start()
    assert server.requests == []
