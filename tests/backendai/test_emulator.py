"""Focused tests of the Backend.AI manager emulator (tests/backendai_emulator).

Requests are signed by a small signer written here from the reference (§1.3), independent of
both the emulator's verifier and runbridge.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.backendai_emulator import Emulator, EmulatorProcess
from tests.backendai_emulator import signing as emu_signing

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
IMAGE = "cr.backend.ai/stable/python:3.9-ubuntu20.04"
VECTORS = Path("/work/shared/reference/backendai-signing-vectors.json")
VERSION = {"old": "v7.20230615", "new": "v9.20250722"}


# -- an independent signer --------------------------------------------------------------------


def sign(method: str, path: str, date: str, host: str, ctype: str, version: str, sk: str) -> str:
    body_hash = hashlib.sha256(b"").hexdigest()
    lines = [method, path, date, f"host:{host}", f"content-type:{ctype}"]
    msg = "\n".join([*lines, f"x-backendai-version:{version}", body_hash])
    k = hmac.new(sk.encode(), date[:10].replace("-", "").encode(), hashlib.sha256).digest()
    k = hmac.new(k, host.encode(), hashlib.sha256).digest()
    return hmac.new(k, msg.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    method: str,
    path: str,
    host: str,
    ctype: str,
    version: str,
    *,
    ak: str = AK,
    sk: str = SK,
    date: datetime | None = None,
) -> dict[str, str]:
    d = (date or datetime.now(UTC)).isoformat()
    sig = sign(method, path, d, host, ctype, version, sk)
    return {
        "Date": d,
        "X-BackendAI-Version": version,
        "Authorization": f"BackendAI signMethod=HMAC-SHA256, credential={ak}:{sig}",
    }


class Signer(httpx.Auth):
    def __init__(
        self, version: str, ak: str = AK, sk: str = SK, skew: timedelta = timedelta()
    ) -> None:
        self.version, self.ak, self.sk, self.skew = version, ak, sk, skew

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        ctype = (
            request.headers.get("Content-Type", "application/octet-stream")
            .split(";")[0]
            .strip()
            .lower()
        )
        request.headers.update(
            signed_headers(
                request.method,
                request.url.raw_path.decode(),
                request.headers["Host"],
                ctype,
                self.version,
                ak=self.ak,
                sk=self.sk,
                date=datetime.now(UTC) + self.skew,
            )
        )
        yield request


# -- fixtures -----------------------------------------------------------------------------------


async def _emulator(generation: str) -> AsyncIterator[Emulator]:
    async with Emulator(
        generation=generation, access_key=AK, secret_key=SK, scheduling_delay=0.4, flush_timeout=1.0
    ) as emu:
        yield emu


@pytest.fixture(scope="module", params=["old", "new"])
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async for e in _emulator(request.param):
        yield e


def client(emu: Emulator, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=emu.url, auth=Signer(VERSION[emu.config.generation], **kw), timeout=30
    )


async def create(
    c: httpx.AsyncClient, name: str, image: str = IMAGE, **extra: Any
) -> httpx.Response:
    return await c.post("/session", json={"name": name, "image": image, **extra})


async def run_loop(
    c: httpx.AsyncClient,
    gen: str,
    name: str,
    code: str,
    mode: str = "query",
    options: dict[str, Any] | None = None,
    inputs: list[str] | None = None,
) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """The documented client loop (reference §3.5); sends the generation's run-id key."""
    key = "runId" if gen == "old" else "run_id"
    console: list[list[Any]] = []
    results: list[dict[str, Any]] = []
    body: dict[str, Any] = {"mode": mode, "code": code, key: None, "options": options or {}}
    inputs = list(inputs or [])
    while True:
        r = await c.post(f"/session/{name}", json=body)
        assert r.status_code == 200, r.text
        res = r.json()["result"]
        results.append(res)
        console += res["console"]
        if res["status"] in ("finished", "exec-timeout"):
            return console, results
        if res["status"] == "waiting-input":
            body = {"mode": "input", "code": inputs.pop(0), key: res["runId"]}
        else:
            body = {"mode": "continue", "code": "", key: res["runId"]}


def text(console: list[list[Any]], kind: str = "stdout") -> str:
    return "".join(d for t, d in console if t == kind)


# -- auth ---------------------------------------------------------------------------------------


def test_emulator_verifier_matches_vectors() -> None:
    for v in json.loads(VECTORS.read_text()):
        lines = v["string_to_sign"].split("\n") if "string_to_sign" in v else None
        method, rel = (lines[0], lines[1]) if lines else (v["method"], v["rel_url"])
        ctype = lines[4].split(":", 1)[1] if lines else v["content_type"]
        version = lines[5].split(":", 1)[1] if lines else v["api_version"]
        s = emu_signing.string_to_sign(method, rel, v["date_header"], v["host"], ctype, version)
        assert emu_signing.signature(v["secret_key"], v["key_date"], v["host"], s) == v["signature"]
        assert (
            sign(method, rel, v["date_header"], v["host"], ctype, version, v["secret_key"])
            == v["signature"]
        )


async def test_hello(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.url) as c:
        r = await c.get("/")
    assert r.status_code == 200
    expected = {"old": "v8.20240915", "new": "v9.20250722"}[emu.config.generation]
    assert r.json()["version"] == expected and r.json()["manager"]
    assert r.headers["X-RateLimit-Window"] == "900"


async def test_auth_errors(emu: Emulator) -> None:
    gen = emu.config.generation
    async with client(emu) as c:
        ok = await c.get("/auth")
        assert ok.status_code == 200 and ok.json()["authorized"] == "yes"
        assert int(ok.headers["X-RateLimit-Remaining"]) < int(ok.headers["X-RateLimit-Limit"])
    async with client(emu, sk="wrong-secret") as c:
        r = await c.get("/session/whatever")
    assert r.status_code == 401
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "https://api.backend.ai/probs/auth-failed"
    assert body["title"] and body["msg"] == "HMAC signature mismatch"
    assert ("error_code" in body) == (gen == "new")
    async with client(emu, ak="AKIAUNKNOWNKEYEXAMPL") as c:
        r = await c.get("/auth")
    assert r.status_code == 401 and "not found" in r.json()["msg"]
    async with client(emu, skew=timedelta(minutes=20)) as c:
        r = await c.get("/auth")
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-auth-params")
    async with client(emu, skew=timedelta(minutes=10)) as c:
        assert (await c.get("/auth")).status_code == 200
    async with httpx.AsyncClient(base_url=emu.url) as c:
        r = await c.get("/auth")  # no Authorization at all
        assert r.status_code == 401
        h = signed_headers(
            "GET", "/auth", f"127.0.0.1:{emu.port}", "application/octet-stream", "v6.20210815"
        )
        r = await c.get("/auth", headers=h)
        assert (r.status_code == 200) == (gen == "old")  # v6.20210815 left the list in 26.3
    # signing a different content type than sent fails
    async with httpx.AsyncClient(base_url=emu.url) as c:
        h = signed_headers("POST", "/auth", f"127.0.0.1:{emu.port}", "text/plain", VERSION[gen])
        r = await c.post("/auth", json={"echo": "x"}, headers=h)
        assert r.status_code == 401
        h = signed_headers(
            "POST", "/auth", f"127.0.0.1:{emu.port}", "application/json", VERSION[gen]
        )
        r = await c.post("/auth", json={"echo": "x"}, headers=h)
        assert r.json()["echo"] == "x"


async def test_rate_limit(emu: Emulator) -> None:
    old_limit, old_window = emu.config.rate_limit, emu.config.rate_window
    emu.config.rate_limit, emu.config.rate_window = 3, 1.0
    emu.hits.clear()
    try:
        async with client(emu) as c:
            codes = [(await c.get("/auth")).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = await c.get("/auth")
            assert r.json()["type"].endswith("/rate-limit-exceeded")
            assert r.headers["X-RateLimit-Remaining"] == "0"
            assert 0 <= float(r.headers["X-RateLimit-Reset"]) <= 1.0
            await asyncio.sleep(1.05)
            assert (await c.get("/auth")).status_code == 200
    finally:
        emu.config.rate_limit, emu.config.rate_window = old_limit, old_window
        emu.hits.clear()


# -- sessions -----------------------------------------------------------------------------------


async def test_create_states_reuse_conflict_destroy(emu: Emulator) -> None:
    gen = emu.config.generation
    async with client(emu) as c:
        r = await create(c, "sess-life", enqueueOnly=True)
        assert (
            r.status_code == 201 and r.json()["status"] == "PENDING" and r.json()["created"] is True
        )
        sid = r.json()["sessionId"]
        seen = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = (await c.get("/session/sess-life")).json()["status"]
            seen.add(st)
            if st == "RUNNING":
                break
            await asyncio.sleep(0.05)
        assert {"PENDING", "RUNNING"} <= seen and seen & {"PREPARING", "CREATING"}, seen
        r = await create(c, "sess-life")
        assert (
            r.status_code == 201 and r.json()["created"] is False and r.json()["sessionId"] == sid
        )
        r = await create(c, "sess-life", image="cr.backend.ai/stable/python:3.11-ubuntu22.04")
        assert r.status_code == 400 and r.json()["type"].endswith("/session-already-exists")
        assert r.json()["data"]["existingSessionId"] == sid
        r = await create(c, "sess-life", reuseIfExists=False)
        assert r.status_code == 400
        r = await create(c, "sess-other", image="cr.backend.ai/stable/r-base:4.0")
        assert r.status_code == 404 and r.json()["title"] == "No such environment image."
        assert (await create(c, "x")).status_code == 400  # name too short
        r = await c.delete("/session/sess-life", params={"forced": "true"})
        assert r.status_code == 200 and "stats" in r.json()
        if gen == "new":
            assert r.json()["stats"] == {"status": "terminated"}
        for _ in range(100):
            if (await c.get("/session/sess-life")).status_code == 404:
                break
            await asyncio.sleep(0.05)
        r = await c.get("/session/sess-life")
        assert r.status_code == 404 and r.json()["type"].endswith("/object-not-found")


async def test_quota(emu: Emulator) -> None:
    old = emu.config.max_sessions
    live = sum(
        1 for s in emu.sessions.values() if s.status not in ("TERMINATED", "CANCELLED", "ERROR")
    )
    emu.config.max_sessions = live + 1
    try:
        async with client(emu) as c:
            r = await create(c, "quota-a", enqueueOnly=True)
            assert r.status_code == 201
            r = await create(c, "quota-b", enqueueOnly=True)
            assert r.status_code == (412 if emu.config.generation == "old" else 400)
            assert r.json()["type"].endswith("/quota-exceeded")
            r = await c.delete("/session/quota-a")
            assert r.status_code == 200
    finally:
        emu.config.max_sessions = old


# -- execute ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def sess(emu: Emulator) -> AsyncIterator[str]:
    async with client(emu) as c:
        r = await create(c, "exec-sess")
        assert r.status_code == 201 and r.json()["status"] == "RUNNING", r.text
        yield "exec-sess"
        await c.delete("/session/exec-sess")


async def test_query_loop_and_runid_key(emu: Emulator, sess: str) -> None:
    gen = emu.config.generation
    code = (
        "import time, sys\nfor i in range(3):\n    print('line', i); time.sleep(0.5)\n"
        "print('err', file=sys.stderr)"
    )
    async with client(emu) as c:
        console, results = await run_loop(c, gen, sess, code)
        assert [r["status"] for r in results][-1] == "finished" and len(results) >= 2
        assert results[0]["status"] == "continued"
        assert text(console) == "line 0\nline 1\nline 2\n"
        assert text(console, "stderr") == "err\n"
        assert results[-1]["exitCode"] == 0
        # within one result, consecutive stdout chunks are merged into one record
        for res in results:
            kinds = [t for t, _ in res["console"]]
            assert all(a != b for a, b in itertools.pairwise(kinds))
        # the other generation's run-id key
        if gen == "old":
            r = await c.post(f"/session/{sess}", json={"mode": "query", "code": "1"})
            assert r.status_code == 400 and r.json()["msg"] == "runId is missing!"
        else:
            r = await c.post(
                f"/session/{sess}",
                json={"mode": "query", "code": "import time; time.sleep(1.5)", "runId": None},
            )
            res = r.json()["result"]
            assert res["status"] == "continued"
            r = await c.post(
                f"/session/{sess}", json={"mode": "continue", "code": "", "runId": res["runId"]}
            )
            assert r.status_code == 500 and r.json()["type"].endswith("/invalid-session-data")
            await run_loop_continue(c, sess, res["runId"])
        r = await c.post(
            f"/session/{sess}", json={"mode": "continued", "code": "", "runId": "x", "run_id": "x"}
        )
        assert r.status_code == (400 if gen == "old" else 500)


async def run_loop_continue(c: httpx.AsyncClient, sess: str, run_id: str) -> None:
    while True:
        r = await c.post(
            f"/session/{sess}", json={"mode": "continue", "code": "", "run_id": run_id}
        )
        if r.json()["result"]["status"] == "finished":
            return


async def test_input_exception_media(emu: Emulator, sess: str) -> None:
    gen = emu.config.generation
    async with client(emu) as c:
        code = (
            "a = input('Name: ')\nimport getpass\nb = getpass.getpass('Pw: ')\n"
            "print('hi', a, len(b))"
        )
        console, results = await run_loop(c, gen, sess, code, inputs=["Ada", "secret"])
        waits = [r for r in results if r["status"] == "waiting-input"]
        assert [w["options"]["is_password"] for w in waits] == [False, True]
        assert "Name: " in text(console) and "hi Ada 6\n" in text(console)
        console, results = await run_loop(c, gen, sess, "print('before')\n1/0")
        assert "ZeroDivisionError" in text(console, "stderr")
        assert results[-1]["exitCode"] == (0 if gen == "old" else 1)
        png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
        code = (
            "from IPython.display import display\n"
            f"display({{'image/png': '{png}', 'text/plain': 'img'}}, raw=True)\n"
            "display({'image/svg+xml': '<svg/>'}, raw=True)\nprint('after')"
        )
        console, _ = await run_loop(c, gen, sess, code)
        media = [d for t, d in console if t == "media"]
        assert media[0] == ["image/png", f"data:image/png;base64,{png}"]
        assert media[1] == ["image/svg+xml", "<svg/>"]
        assert console[-1] == ["stdout", "after\n"]
        # state persists between runs
        await run_loop(c, gen, sess, "x_persist = 41")
        console, _ = await run_loop(c, gen, sess, "print(x_persist + 1)")
        assert text(console) == "42\n"


async def test_batch_with_upload_files_download(emu: Emulator, sess: str) -> None:
    gen = emu.config.generation
    async with client(emu) as c:
        files = [
            ("src", ("main.py", b"import helper\nprint(helper.VALUE)\n", "text/x-python")),
            ("src", ("helper.py", b"VALUE = 'from helper'\n", "text/x-python")),
            ("src", ("Makefile", b"all:\n\techo building\n", "text/plain")),
            ("src", ("data/sub/x.txt", b"nested", "text/plain")),
        ]
        r = await c.post(f"/session/{sess}/upload", files=files)
        assert r.status_code == 204, r.text
        r = await c.post(
            f"/session/{sess}/upload", files=[("src", (f"f{i}", b"x")) for i in range(21)]
        )
        assert r.status_code == 400 and r.json()["msg"] == "Too many files"
        r = await c.post(f"/session/{sess}/upload", files=[("src", ("big", b"x" * (1 << 20)))])
        assert r.status_code == 400 and r.json()["msg"] == "Too large file"
        r = await c.post(f"/session/{sess}/upload", files=[("src", ("../escape", b"x"))])
        assert r.status_code == 400
        console, results = await run_loop(
            c, gen, sess, "", mode="batch", options={"clean": None, "build": "*", "exec": "*"}
        )
        assert [r["status"] for r in results if r["status"] != "continued"] == [
            "clean-finished",
            "build-finished",
            "finished",
        ]
        assert "building" in text(console) and "from helper\n" in text(console)
        assert results[-1]["exitCode"] == 0
        console, results = await run_loop(
            c, gen, sess, "", mode="batch", options={"build": "exit 3", "exec": "echo never"}
        )
        assert results[-1]["exitCode"] == 127 and "never" not in text(console)
        # listing: old reads a JSON body, new the query string
        if gen == "old":
            r = await c.request("GET", f"/session/{sess}/files", json={"path": "data"})
        else:
            r = await c.get(f"/session/{sess}/files", params={"path": "data"})
        assert r.status_code == 200, r.text
        listing = json.loads(r.json()["files"])
        assert [f["filename"] for f in listing] == ["sub"] and r.json()["abspath"] == "data"
        r = await c.post(
            f"/session/{sess}/download", params=[("files", "main.py"), ("files", "data")]
        )
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("multipart/mixed")
        tars = [p for p in r.content.split(b"--") if b"ustar" in p]
        assert len(tars) == 2
        r = await c.post(f"/session/{sess}/download_single", params={"file": "data/sub/x.txt"})
        assert r.content == b"nested"
        r = await c.post(f"/session/{sess}/download_single", params={"file": "nope"})
        assert r.status_code == 400


async def test_restart_per_generation(emu: Emulator, sess: str) -> None:
    gen = emu.config.generation
    async with client(emu) as c:
        # the work folder's files must outlive the restart: make one first
        await run_loop(c, gen, sess, "restart_marker = 1\nopen('main.py', 'w').write('')")
        r = await c.patch(f"/session/{sess}")
        if gen == "new":
            assert r.status_code == 501 and r.json()["type"].endswith("/not-implemented")
            return
        assert r.status_code == 204
        console, _ = await run_loop(
            c,
            gen,
            sess,
            "print('restart_marker' in globals())\nimport os; print(os.path.exists('main.py'))",
        )
        assert text(console) == "False\nTrue\n"


async def test_interrupt(emu: Emulator, sess: str) -> None:
    gen = emu.config.generation
    key = "runId" if gen == "old" else "run_id"
    async with client(emu) as c:
        r = await c.post(
            f"/session/{sess}",
            json={"mode": "query", "code": "import time; time.sleep(30)", key: None},
        )
        res = r.json()["result"]
        assert res["status"] == "continued"
        assert (await c.post(f"/session/{sess}/interrupt")).status_code == 204
        t0 = time.monotonic()
        while res["status"] != "finished":
            r = await c.post(
                f"/session/{sess}", json={"mode": "continue", "code": "", key: res["runId"]}
            )
            res = r.json()["result"]
        assert time.monotonic() - t0 < 10


async def test_exec_timeout_kernel_death_rename(emu: Emulator, sess: str) -> None:
    gen = emu.config.generation
    emu.config.batch_exec_timeout = 0.5
    try:
        async with client(emu) as c:
            _, results = await run_loop(
                c, gen, sess, "", mode="batch", options={"exec": "sleep 10"}
            )
            assert results[-1]["status"] == "exec-timeout" and results[-1]["exitCode"] is None
    finally:
        emu.config.batch_exec_timeout = None
    async with client(emu) as c:
        assert (await create(c, "dying-sess")).status_code == 201
        _, results = await run_loop(c, gen, "dying-sess", "import os; os._exit(3)")
        assert results[-1]["status"] == "finished" and results[-1]["exitCode"] == 130
        r = await c.post("/session/dying-sess/rename", json={"name": "renamed-sess"})
        assert r.status_code == 204
        assert (await c.get("/session/renamed-sess")).status_code == 200
        assert (await c.delete("/session/renamed-sess")).status_code == 200


# -- websockets ---------------------------------------------------------------------------------


def ws_headers(emu: Emulator, path: str) -> dict[str, str]:
    return signed_headers(
        "GET",
        path,
        f"127.0.0.1:{emu.port}",
        "application/octet-stream",
        VERSION[emu.config.generation],
    )


async def test_stream_execute(emu: Emulator, sess: str) -> None:
    path = f"/stream/session/{sess}/execute"
    uri = emu.url.replace("http", "ws") + path
    async with websockets.connect(uri, additional_headers=ws_headers(emu, path)) as ws:
        await ws.send(
            json.dumps(
                {
                    "code": "print('s1')\nv = input('q? ')\nprint('got', v)",
                    "mode": "query",
                    "options": {},
                }
            )
        )
        frames = []
        while True:
            frame = json.loads(await ws.recv())
            assert "runId" not in frame
            frames.append(frame)
            if frame["status"] == "waiting-input":
                await ws.send("yes")
            if frame["status"] == "finished":
                break
        out = "".join(d for f in frames for t, d in f["console"] if t == "stdout")
        assert out == "s1\nq? got yes\n"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(uri):
            pass
    # a dropped stream interrupts the run; the session stays usable
    async with websockets.connect(uri, additional_headers=ws_headers(emu, path)) as ws:
        await ws.send(json.dumps({"code": "import time; time.sleep(30)", "mode": "query"}))
        frame = json.loads(await ws.recv())
        assert frame["status"] == "continued"
        emu.drop_websockets()
    async with client(emu) as c:
        async with asyncio.timeout(10):
            console, _ = await run_loop(c, emu.config.generation, sess, "print('alive')")
        assert text(console) == "alive\n"


async def test_pty_and_drop(emu: Emulator, sess: str) -> None:
    path = f"/stream/session/{sess}/pty"
    uri = emu.url.replace("http", "ws") + path
    async with websockets.connect(uri, additional_headers=ws_headers(emu, path)) as ws:
        await ws.send(json.dumps({"type": "resize", "rows": 30, "cols": 100}))
        await ws.send(json.dumps({"type": "ping"}))
        cmd = base64.b64encode(b"stty size; echo pty-$((40+2))\n").decode()
        await ws.send(json.dumps({"type": "stdin", "chars": cmd}))
        buf = b""
        kinds = set()
        async with asyncio.timeout(10):
            while b"pty-42" not in buf or b"30 100" not in buf:
                msg = await ws.recv()
                kinds.add(type(msg))
                frame = json.loads(msg)
                assert frame["type"] == "out"
                buf += base64.b64decode(frame["data"])
        assert kinds == ({str} if emu.config.generation == "old" else {bytes})
        assert emu.drop_websockets() >= 1
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()


async def test_pty_streams_share_the_sessions_shell(emu: Emulator, sess: str) -> None:
    """Every pty stream of a session reaches its one shell (the kernel runner's terminal);
    the drop hook takes a session and stream kinds (here over its HTTP route)."""
    path = f"/stream/session/{sess}/pty"
    uri = emu.url.replace("http", "ws") + path

    async def read_until(ws: Any, needle: bytes) -> bytes:
        buf = b""
        async with asyncio.timeout(10):
            while needle not in buf:
                buf += base64.b64decode(json.loads(await ws.recv())["data"])
        return buf

    def stdin(text: bytes) -> str:
        return json.dumps({"type": "stdin", "chars": base64.b64encode(text).decode()})

    async with websockets.connect(uri, additional_headers=ws_headers(emu, path)) as first:
        await first.send(stdin(b"SHARED=yes-$((6*7))\n"))
        async with websockets.connect(uri, additional_headers=ws_headers(emu, path)) as second:
            await second.send(stdin(b"echo got-$SHARED\n"))
            await read_until(second, b"got-yes-42")
            await read_until(first, b"got-yes-42")  # both streams see the shell's output
        async with httpx.AsyncClient() as http:
            other = await http.post(
                f"{emu.url}/_emulator/drop-websockets", json={"session": "nope", "kinds": ["pty"]}
            )
            assert other.json() == {"dropped": 0}
            mine = await http.post(
                f"{emu.url}/_emulator/drop-websockets", json={"session": sess, "kinds": ["pty"]}
            )
            assert mine.json() == {"dropped": 1}
    async with websockets.connect(uri, additional_headers=ws_headers(emu, path)) as third:
        await third.send(stdin(b"echo still-$SHARED\n"))  # the shell outlived the drop
        await read_until(third, b"still-yes-42")


# -- subprocess mode ----------------------------------------------------------------------------


async def test_subprocess_kill_mid_run() -> None:
    proc = EmulatorProcess(generation="new", access_key=AK, secret_key=SK, scheduling_delay=0.1)
    await asyncio.to_thread(proc.start)
    try:
        assert proc.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(
            base_url=proc.url, auth=Signer(VERSION["new"]), timeout=30
        ) as c:
            assert (await c.get("/")).json()["version"] == "v9.20250722"
            assert (await create(c, "killme")).status_code == 201
            state = await asyncio.to_thread(proc.state)
            assert state["generation"] == "new" and state["sessions"][0]["status"] == "RUNNING"
            assert await asyncio.to_thread(proc.drop_websockets) == 0
            r = await c.post(
                "/session/killme",
                json={"mode": "query", "code": "import time; time.sleep(20)", "run_id": None},
            )
            assert r.json()["result"]["status"] == "continued"
            pending = asyncio.create_task(
                c.post(
                    "/session/killme",
                    json={"mode": "continue", "code": "", "run_id": r.json()["result"]["runId"]},
                )
            )
            await asyncio.sleep(0.3)
            proc.kill()
            with pytest.raises(httpx.TransportError):
                await pending
            with pytest.raises(httpx.ConnectError):
                await c.get("/")
    finally:
        proc.stop()
        proc.kill()
