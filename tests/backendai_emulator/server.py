"""A Backend.AI manager emulator (aiohttp) for runbridge's tests.

Two wire generations (reference Appendix B):

* ``old`` - behaves like a 24.09-era manager (<= 25.5): execute body reads ``runId`` and
  requires the key, bad execute params -> 400 ``invalid-api-params``, PTY output in TEXT frames,
  list-files path from a JSON body, restart -> 204, problem JSON without ``error_code``,
  quota -> 412, destroy -> ``{"stats": {...}}`` container stats, query ``exitCode`` 0 after an
  exception, hello ``v8.20240915``.
* ``new`` - behaves like a 26.x manager: execute reads only ``run_id``, bad params -> 500
  ``invalid-session-data``, PTY output in BINARY frames, list-files path from ``?path=``,
  restart -> 501, problem JSON with ``error_code``, quota -> 400, destroy ->
  ``{"stats": {"status": ...}}``, ``exitCode`` 1 after an exception, hello ``v9.20250722``.

Limits (reference §4, §5, §6): upload <= 20 files per request, each < 1 MiB (1,048,576 bytes
is refused); download <= 5 files, each archive <= 1 MiB; websocket messages <= 16 MiB; date
skew +-15 min; rate limit per access key in a rolling window (default 1000 / 900 s,
configurable).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import posixpath
import re
import secrets
import shutil
import stat
import tarfile
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from . import graphql, signing
from .apps import AppProxies
from .kernels import Run, SessionRuntime
from .terminal import Shells

OLD_VERSIONS = [
    "v4.20181215", "v4.20190115", "v4.20190315", "v4.20190615", "v5.20191215", "v6.20200815",
    "v6.20210815", "v6.20220315", "v6.20220615", "v6.20230315", "v7.20230615", "v8.20240315",
    "v8.20240915",
]  # fmt: skip
NEW_VERSIONS = [
    "v4.20181215", "v4.20190115", "v4.20190315", "v4.20190615", "v5.20191215", "v6.20200815",
    "v6.20220315", "v6.20220615", "v6.20221201", "v6.20230315", "v7.20230615", "v8.20240315",
    "v8.20240915", "v9.20250722",
]  # fmt: skip
MANAGER_VERSION = {"old": "24.09.0", "new": "26.8.0"}
NAME_RE = re.compile(r"^(?=.{4,64}$)\w[\w.-]*\w$", re.ASCII)
TERMINAL = {"TERMINATED", "CANCELLED", "ERROR"}
HOME = "/home/work"

_RequestKey = getattr(web, "RequestKey", None)  # aiohttp >= 3.13; plain strings before


def _rkey(name: str) -> Any:
    return _RequestKey(name, object) if _RequestKey is not None else name


API_VERSION = _rkey("api_version")
ACCESS_KEY = _rkey("access_key")
RATELIMIT_HEADERS = _rkey("ratelimit_headers")

TITLES = {
    "invalid-auth-params": "Missing or invalid authorization parameters.",
    "auth-failed": "Credential/authorization error.",
    "generic-bad-request": "Bad request.",
    "invalid-api-params": "Missing or invalid API parameters.",
    "object-not-found": "No such session.",
    "session-already-exists": "The session already exists but you requested different parameters.",
    "quota-exceeded": "You have reached your resource limit.",
    "rate-limit-exceeded": "Rate limit exceeded.",
    "invalid-kernel-status": "Invalid kernel status.",
    "invalid-session-data": "Invalid session data.",
    "not-implemented": "This API is not implemented.",
    "url-not-found": "Unknown URL path.",
    "method-not-allowed": "Method not allowed.",
    "internal-server-error": "Something went wrong during processing the request.",
}
ERROR_CODES = {
    "invalid-auth-params": "api_parsing_invalid-parameters",
    "auth-failed": "user_authorization_unauthorized",
    "generic-bad-request": "api_generic_bad-request",
    "invalid-api-params": "api_parsing_invalid-parameters",
    "object-not-found": "session_read_not-found",
    "session-already-exists": "session_create_already-exists",
    "quota-exceeded": "session_create_quota-exceeded",
    "rate-limit-exceeded": "api_generic_rate-limit-exceeded",
    "invalid-kernel-status": "kernel_generic_invalid-state",
    "invalid-session-data": "session_generic_invalid-parameters",
    "not-implemented": "api_generic_not-implemented",
    "url-not-found": "api_generic_not-found",
    "method-not-allowed": "api_generic_bad-request",
    "internal-server-error": "api_generic_internal-error",
}


class Problem(Exception):
    def __init__(
        self,
        status: int,
        slug: str,
        msg: str | None = None,
        *,
        title: str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(msg or slug)
        self.status, self.slug, self.msg, self.data = status, slug, msg, data
        self.title = title or TITLES.get(slug, slug)


@dataclass
class EmulatorConfig:
    generation: str = "new"
    access_key: str = "AKIAIOSFODNN7EXAMPLE"
    secret_key: str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    extra_keypairs: dict[str, str] = field(default_factory=dict)
    rate_limit: int = 1000
    rate_window: float = 900.0
    max_sessions: int = 8
    scheduling_delay: float = 0.3  # seconds spent in PENDING + PREPARING besides the kernel start
    flush_timeout: float = 2.0  # REST execute
    stream_flush_timeout: float = 0.2  # stream_execute
    max_upload_files: int = 20
    max_upload_size: int = 1 << 20  # a file must be strictly smaller
    max_download_files: int = 5
    max_archive_size: int = 1 << 20
    batch_exec_timeout: float | None = None
    image_pattern: str = r"python"  # images served by a local python kernel; others -> 404
    clock_offset: float = 0.0  # seconds added to the server clock (for skew tests)
    #: False: ``/stream/session/{name}/execute`` answers 404 ``url-not-found`` (a manager or
    #: proxy without the route), so clients fall back to the REST execute loop.
    stream_execute: bool = True
    #: In-process tests: a new session stays PREPARING until this event is set (a cluster
    #: pulling an image), so a client's view of that status can be checked for sure.
    preparing_gate: asyncio.Event | None = None
    #: The keypair's vfolders (session ``config.mounts``); another name -> 404 as the
    #: manager's ``prepare_vfolder_mounts`` answers.
    vfolders: list[str] = field(default_factory=lambda: ["data", "models", "scratch"])
    #: The scaling groups the keypair may use (the first is the default).
    scaling_groups: list[str] = field(default_factory=lambda: ["default", "gpu"])
    #: The resource slots the manager knows; another -> 400 "Unknown requested resource slot".
    resource_slots: list[str] = field(
        default_factory=lambda: ["cpu", "mem", "cuda.shares", "cuda.device"]
    )

    @property
    def old(self) -> bool:
        return self.generation == "old"


@dataclass
class Session:
    id: str
    name: str
    image: str
    access_key: str
    workdir: Path
    config: dict[str, Any]
    tag: str | None
    type: str
    runtime: SessionRuntime
    status: str = "PENDING"
    status_info: str | None = None
    history: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    terminated_at: float | None = None
    running: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    num_queries: int = 0
    task: asyncio.Task[None] | None = None
    #: What the creation asked for, as the manager read it: resources, cluster, scaling
    #: group, vfolder mount paths, bootstrap script (and its exit code once run).
    options: dict[str, Any] = field(default_factory=dict)

    def set_status(self, status: str) -> None:
        self.status = status
        self.history[status] = datetime.now(UTC).isoformat()


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtpe]?)(?:i?b)?", re.IGNORECASE)


def _slots(resources: dict[str, Any]) -> dict[str, str]:
    """Requested resources as the manager reports slots: decimal strings, ``mem`` in
    bytes (``"4g"`` -> ``"4294967296"``); the image's defaults for cpu and mem."""
    slots = {"cpu": "1", "mem": "1073741824"}
    for slot, value in resources.items():
        text = str(value)
        match = _SIZE.fullmatch(text.strip())
        if slot == "mem" and match is not None:
            unit = 1024 ** " kmgtpe".index(match.group(2).lower() or " ")
            text = str(int(float(match.group(1)) * unit))
        slots[slot] = text
    return slots


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Emulator:
    """The emulator application. ``await emu.start()`` / ``await emu.stop()`` or ``async with``."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.config = config or EmulatorConfig()
        for k, v in overrides.items():
            setattr(self.config, k, v)
        self.host, self.port = host, port
        self.sessions: dict[str, Session] = {}
        self.hits: dict[str, deque[float]] = {}
        self.websockets: set[web.WebSocketResponse] = set()
        #: What each open stream websocket is: (session name or id in its path, stream kind).
        self.websocket_kinds: dict[web.WebSocketResponse, tuple[str, str]] = {}
        #: The apps (service ports) of the sessions and the services behind them.
        self.apps = AppProxies()
        #: Each session's one shell, shared by its pty streams.
        self.shells = Shells()
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests_log: deque[dict[str, Any]] = deque(maxlen=500)
        #: Every ``POST /session`` body received (with the API version it was sent with),
        #: refused ones included: ``{"apiVersion": ..., "body": {...}}``.
        self.creations: list[dict[str, Any]] = []
        self.root = Path(tempfile.mkdtemp(prefix="bai-emu-"))
        self.app = self._make_app()
        self.runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        port = int(self.runner.addresses[0][1])
        self.port = port
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def stop(self) -> None:
        for ws in list(self.websockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutdown")
        for sess in list(self.sessions.values()):
            if sess.status not in TERMINAL:
                await sess.runtime.shutdown()
        await self.apps.close()
        await self.shells.close()
        if self.runner is not None:
            await self.runner.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def keypairs(self) -> dict[str, str]:
        return {self.config.access_key: self.config.secret_key, **self.config.extra_keypairs}

    @property
    def versions(self) -> list[str]:
        return OLD_VERSIONS if self.config.old else NEW_VERSIONS

    def drop_websockets(self, session: str | None = None, kinds: list[str] | None = None) -> int:
        """Abort open websockets without a closing handshake (a dropped connection): every
        one, or those of ``session`` (its name or id) and of the stream ``kinds``
        (``execute``, ``pty``, ``tcpproxy``)."""
        n = 0
        for ws in list(self.websockets):
            where, kind = self.websocket_kinds.get(ws, ("", ""))
            if session is not None and where != session:
                s = self.sessions.get(where) or next(
                    (x for x in self.sessions.values() if x.name == where), None
                )
                if s is None or session not in (s.name, s.id):
                    continue
            if kinds is not None and kind not in kinds:
                continue
            req = getattr(ws, "_req", None)
            transport = req.transport if req is not None else None
            if transport is not None:
                transport.abort()
                n += 1
        return n

    # -- app ------------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._exception_mw, self._version_mw, self._auth_mw],
            client_max_size=64 << 20,
        )
        r = app.router
        self._auth_routes: set[Any] = set()
        r.add_get("/", self.hello)
        r.add_get("/_emulator/state", self.ctl_state)
        r.add_post("/_emulator/drop-websockets", self.ctl_drop_ws)
        r.add_post("/_emulator/config", self.ctl_config)
        r.add_get("/_emulator/creations", self.ctl_creations)
        auth = [
            ("GET", "/auth", self.auth_test), ("POST", "/auth", self.auth_test),
            ("GET", "/auth/test", self.auth_test), ("POST", "/auth/test", self.auth_test),
            ("POST", "/session", self.create), ("POST", "/session/_/create", self.create),
            ("GET", "/session/{name}", self.info), ("DELETE", "/session/{name}", self.destroy),
            ("PATCH", "/session/{name}", self.restart), ("POST", "/session/{name}", self.execute),
            ("POST", "/session/{name}/interrupt", self.interrupt),
            ("POST", "/session/{name}/rename", self.rename),
            ("POST", "/session/{name}/complete", self.complete),
            ("POST", "/session/{name}/upload", self.upload),
            ("POST", "/session/{name}/download", self.download),
            ("POST", "/session/{name}/download_single", self.download_single),
            ("GET", "/session/{name}/files", self.list_files),
            ("GET", "/session/{name}/logs", self.logs),
            ("GET", "/stream/session/{name}/execute", self.stream_execute),
            ("GET", "/stream/session/{name}/pty", self.stream_pty),
            ("GET", "/stream/session/{name}/apps", self.stream_apps),
            ("GET", "/stream/session/{name}/tcpproxy", self.stream_tcpproxy),
            ("POST", "/admin/gql", self.graphql),
        ]  # fmt: skip
        if self.config.old:  # pre-24.03 managers (and the 23.9 SDK) download with GET + JSON body
            auth.append(("GET", "/session/{name}/download", self.download))
        for method, path, handler in auth:
            self._auth_routes.add(r.add_route(method, path, handler))
        return app

    def problem_response(self, p: Problem, headers: dict[str, str] | None = None) -> web.Response:
        body: dict[str, Any] = {"type": f"https://api.backend.ai/probs/{p.slug}", "title": p.title}
        if not self.config.old:
            body["error_code"] = ERROR_CODES.get(p.slug, "api_generic_error")
        if p.msg:
            body["msg"] = p.msg
        if p.data is not None:
            body["data"] = p.data
        return web.json_response(
            body, status=p.status, content_type="application/problem+json", headers=headers
        )

    @web.middleware
    async def _exception_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests_log.append(
            {"method": request.method, "path": request.raw_path, "headers": dict(request.headers)}
        )
        try:
            return await handler(request)
        except Problem as p:
            headers = p.headers if isinstance(p, _RateLimited) else request.get(RATELIMIT_HEADERS)
            if headers is None:
                headers = {
                    "X-RateLimit-Limit": "1000",
                    "X-RateLimit-Remaining": "1000",
                    "X-RateLimit-Window": "900",
                }
            return self.problem_response(p, headers)
        except web.HTTPNotFound:
            return self.problem_response(Problem(404, "url-not-found", data=request.path))
        except web.HTTPMethodNotAllowed:
            return self.problem_response(Problem(405, "method-not-allowed"))
        except web.HTTPException as e:
            if e.status < 400:
                raise
            return self.problem_response(Problem(400, "generic-bad-request", e.reason))
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as e:  # pragma: no cover - emulator bug
            return self.problem_response(Problem(500, "internal-server-error", repr(e)))

    @web.middleware
    async def _version_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        override = request.headers.get("X-Method-Override")
        if override:
            request = request.clone(method=override.upper())
        version = request.headers.get("X-BackendAI-Version") or request.headers.get(
            "X-Sorna-Version"
        )
        if version is not None and version not in self.versions:
            raise Problem(400, "generic-bad-request", "Unsupported API version.")
        request[API_VERSION] = version or "v5.20191215"
        return await handler(request)

    def _clock(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.config.clock_offset, UTC)

    @web.middleware
    async def _auth_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.match_info.route not in self._auth_routes:
            resp = await handler(request)
            if not resp.prepared:
                resp.headers.update(
                    {
                        "X-RateLimit-Limit": "1000",
                        "X-RateLimit-Remaining": "1000",
                        "X-RateLimit-Window": "900",
                    }
                )
            return resp
        access_key = self._authenticate(request)
        request[ACCESS_KEY] = access_key
        headers = self._rate_limit(access_key)
        request[RATELIMIT_HEADERS] = headers
        resp = await handler(request)
        if not resp.prepared:
            resp.headers.update(headers)
        return resp

    def _authenticate(self, request: web.Request) -> str:
        authz = request.headers.get("Authorization")
        if not authz:
            raise Problem(401, "auth-failed", "Unauthorized access")
        raw_date = (
            request.headers.get("Date")
            or request.headers.get("X-BackendAI-Date")
            or request.headers.get("X-Sorna-Date")
        )
        if not raw_date:
            raise Problem(400, "invalid-auth-params", "Date/time sync error")
        try:
            date = signing.parse_date(raw_date)
            signing.check_date_window(date, self._clock())
            hash_name, access_key, sig = signing.parse_authorization(authz)
        except signing.AuthParamsError as e:
            raise Problem(400, "invalid-auth-params", str(e)) from None
        version_header = "x-backendai-version"
        version = request.headers.get("X-BackendAI-Version")
        if version is None and "X-Sorna-Version" in request.headers:
            version, version_header = request.headers["X-Sorna-Version"], "x-sorna-version"
        if version is None:
            raise Problem(400, "invalid-auth-params", "API version missing in request headers")
        secret = self.keypairs.get(access_key)
        if secret is None:
            raise Problem(401, "auth-failed", "Access key not found in HMAC")
        path, host = request.raw_path, request.host
        fwd = request.headers.get("X-Forwarded-URL")
        if fwd:  # no trusted proxies configured -> honoured (deprecated fallback)
            from urllib.parse import urlsplit

            parts = urlsplit(fwd)
            path, host = parts.path, parts.netloc
        to_sign = signing.string_to_sign(
            request.method,
            path,
            raw_date,
            host,
            request.content_type,
            version,
            hash_name,
            version_header,
        )
        expected = signing.signature(secret, date.strftime("%Y%m%d"), host, to_sign, hash_name)
        if not secrets.compare_digest(expected, sig):
            raise Problem(401, "auth-failed", "HMAC signature mismatch")
        return access_key

    def _rate_limit(self, access_key: str) -> dict[str, str]:
        cfg = self.config
        now = time.monotonic()
        hits = self.hits.setdefault(access_key, deque())
        while hits and hits[0] <= now - cfg.rate_window:
            hits.popleft()
        headers = {
            "X-RateLimit-Limit": str(cfg.rate_limit),
            "X-RateLimit-Window": str(int(cfg.rate_window)),
        }
        if len(hits) >= cfg.rate_limit:
            reset = max(0.0, hits[0] + cfg.rate_window - now)
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = f"{reset:.3f}"
            raise _RateLimited(headers)
        hits.append(now)
        headers["X-RateLimit-Remaining"] = str(cfg.rate_limit - len(hits))
        return headers

    # -- public / control routes ----------------------------------------------------------

    async def hello(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"version": self.versions[-1], "manager": MANAGER_VERSION[self.config.generation]}
        )

    async def ctl_state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "generation": self.config.generation,
                "sessions": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "status": s.status,
                        "image": s.image,
                        "workdir": str(s.workdir),
                    }
                    for s in self.sessions.values()
                ],
                "websockets": len(self.websockets),
            }
        )

    async def ctl_creations(self, request: web.Request) -> web.Response:
        return web.json_response({"creations": self.creations})

    async def ctl_drop_ws(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {}
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                body = await request.json()
        dropped = self.drop_websockets(body.get("session"), body.get("kinds"))
        return web.json_response({"dropped": dropped})

    async def ctl_config(self, request: web.Request) -> web.Response:
        body = await request.json()
        for k, v in body.items():
            if not hasattr(self.config, k):
                raise Problem(400, "invalid-api-params", f"unknown config key {k}")
            setattr(self.config, k, v)
        if "rate_limit" in body or "rate_window" in body:
            self.hits.clear()
        return web.json_response({"ok": True})

    async def graphql(self, request: web.Request) -> web.Response:
        """``compute_session_list`` only (:mod:`.graphql`)."""
        body = await self._json(request)
        sessions = list(self.sessions.values())
        return web.json_response(graphql.answer(body, sessions, request[ACCESS_KEY]))

    async def auth_test(self, request: web.Request) -> web.Response:
        echo = ""
        if request.method == "POST" or request.can_read_body:
            with contextlib.suppress(Exception):
                echo = (await request.json()).get("echo", "")
        return web.json_response({"authorized": "yes", "echo": echo})

    # -- helpers --------------------------------------------------------------------------

    async def _json(self, request: web.Request, *, required: bool = True) -> dict[str, Any]:
        if not request.can_read_body:
            if required:
                raise Problem(400, "invalid-api-params", "Malformed body")
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise Problem(400, "invalid-api-params", "Malformed body") from None
        if not isinstance(body, dict):
            raise Problem(400, "invalid-api-params", "Malformed body")
        return body

    def _live(self, access_key: str, name: str) -> Session | None:
        for s in self.sessions.values():
            if s.access_key == access_key and s.status not in TERMINAL and name in (s.name, s.id):
                return s
        return None

    def _session(self, request: web.Request) -> Session:
        name = request.match_info["name"]
        ak = request.query.get("owner_access_key") or request[ACCESS_KEY]
        s = self._live(ak, name)
        if s is None:
            try:
                uuid.UUID(name)
                s = self.sessions.get(name)
            except ValueError:
                pass
        if s is None or s.access_key != ak:
            raise Problem(404, "object-not-found", title="No such session.")
        return s

    def _running(self, request: web.Request) -> Session:
        s = self._session(request)
        if s.status != "RUNNING":
            raise Problem(409, "invalid-kernel-status", f"The session is {s.status}.")
        return s

    def _confine(self, sess: Session, rel: str) -> Path:
        rel = rel or "."
        if rel.startswith(HOME):
            rel = rel[len(HOME) :].lstrip("/") or "."
        base = sess.workdir.resolve()
        target = (base / rel).resolve()
        if target != base and base not in target.parents:
            raise Problem(400, "invalid-api-params", f"Not allowed to access files outside {HOME}")
        return target

    # -- sessions -------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.creations.append({"apiVersion": request[API_VERSION], "body": body})
        ak = (
            request.query.get("owner_access_key")
            or body.get("owner_access_key")
            or request[ACCESS_KEY]
        )
        name = body.get("name") or body.get("session_name") or body.get("clientSessionToken")
        image = body.get("image") or body.get("lang")
        if not name or not image:
            raise Problem(400, "invalid-api-params", "name and image are required")
        if not isinstance(name, str) or not NAME_RE.match(name) or name == "from-template":
            raise Problem(400, "invalid-api-params", f"Invalid session name: {name!r}")
        if not re.search(self.config.image_pattern, image):
            raise Problem(
                404,
                "object-not-found",
                f"Unknown image: {image}",
                title="No such environment image.",
            )
        reuse = body.get("reuseIfExists", body.get("reuse", True))
        reuse = reuse if isinstance(reuse, bool) else str(reuse).lower() in ("1", "true", "yes")
        existing = self._live(ak, name)
        if existing is not None and existing.status == "TERMINATING":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(existing.gone.wait(), 10)
            existing = self._live(ak, name)
        if existing is not None:
            if existing.image != image or not reuse:
                raise Problem(
                    400,
                    "session-already-exists",
                    "A session with the same name already exists"
                    + (" with a different image." if existing.image != image else "."),
                    data={"existingSessionId": existing.id},
                )
            return web.json_response(self._created(existing, created=False), status=201)
        live = [
            s for s in self.sessions.values() if s.access_key == ak and s.status not in TERMINAL
        ]
        if len(live) >= self.config.max_sessions:
            raise Problem(
                412 if self.config.old else 400,
                "quota-exceeded",
                f"You cannot create more than {self.config.max_sessions} concurrent sessions.",
            )
        cfg = body.get("config") or {}
        options = self._creation_options(body, cfg)
        sid = str(uuid.uuid4())
        workdir = self.root / sid / "work"
        workdir.mkdir(parents=True)
        for path in options["mounts"].values():  # vfolders under /home/work appear there
            if path.startswith(HOME + "/"):
                (workdir / path[len(HOME) + 1 :]).mkdir(parents=True, exist_ok=True)
        runtime = SessionRuntime(
            workdir,
            exit_code_on_error=0 if self.config.old else 1,
            exec_timeout=self.config.batch_exec_timeout,
        )
        sess = Session(
            sid,
            name,
            image,
            ak,
            workdir,
            cfg,
            body.get("tag"),
            body.get("type")
            or body.get("sessionType")
            or body.get("session_type")
            or "interactive",
            runtime,
            options=options,
        )
        sess.set_status("PENDING")
        self.sessions[sid] = sess
        sess.task = asyncio.create_task(self._schedule(sess))
        enqueue_only = body.get("enqueueOnly", body.get("enqueue_only", False))
        if not enqueue_only:
            wait = body.get("maxWaitSeconds", body.get("max_wait_seconds", 0)) or None
            try:
                await asyncio.wait_for(asyncio.shield(sess.running.wait()), wait)
            except TimeoutError:
                return web.json_response(self._created(sess, status="TIMEOUT"), status=201)
            if sess.status in TERMINAL and sess.status != "RUNNING":
                raise Problem(404, "object-not-found", title="No such session.")
        return web.json_response(self._created(sess), status=201)

    def _creation_options(self, body: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
        """The creation's options as the manager (23.09 ``enqueue_session``) checks them:
        the scaling group first, then the vfolders, then the resource slots."""
        sgroup = cfg.get("scalingGroup", cfg.get("scaling_group"))
        if sgroup is not None and sgroup not in self.config.scaling_groups:
            raise Problem(
                404,
                "object-not-found",
                f"The scaling group {sgroup} does not exist.",
                title="No such scaling group.",
            )
        mount_map = cfg.get("mount_map", cfg.get("mountMap")) or {}
        mounts: dict[str, str] = {}
        for name in cfg.get("mounts") or []:
            if name not in self.config.vfolders:
                raise Problem(
                    404,
                    "object-not-found",
                    f"VFolder {name} is not found or accessible.",
                    title="No such virtual folder.",
                )
            # no target: /home/work/NAME; relative: under /home/work; absolute: kept
            mounts[name] = posixpath.normpath(posixpath.join(HOME, mount_map.get(name) or name))
        resources = cfg.get("resources") or {}
        for slot in resources:
            if slot not in self.config.resource_slots:
                raise Problem(400, "invalid-api-params", f"Unknown requested resource slot: {slot}")
        size = body.get("clusterSize", body.get("cluster_size", cfg.get("clusterSize", 1)))
        return {
            "resources": resources,
            "clusterSize": size,
            "clusterMode": body.get("clusterMode", body.get("cluster_mode", "single-node")),
            "scalingGroup": sgroup or self.config.scaling_groups[0],
            "mounts": mounts,
            "bootstrapScript": body.get("bootstrap_script", body.get("bootstrapScript")),
            "bootstrapExit": None,
        }

    def _created(
        self, s: Session, *, created: bool = True, status: str | None = None
    ) -> dict[str, Any]:
        ports: list[dict[str, Any]] = []
        if s.status == "RUNNING":
            ports = self.apps.listing()
        body: dict[str, Any] = {
            "sessionId": s.id,
            "sessionName": s.name,
            "status": status or s.status,
            "servicePorts": ports,
            "created": created,
        }
        if not created:
            body["service_ports"] = ports
        return body

    async def _schedule(self, sess: Session) -> None:
        delay = self.config.scheduling_delay
        try:
            await asyncio.sleep(delay / 2)
            sess.set_status("SCHEDULED")
            sess.set_status("PREPARING")
            if self.config.preparing_gate is not None:
                await self.config.preparing_gate.wait()
            await asyncio.sleep(delay / 4)
            sess.set_status("CREATING")
            script = sess.options.get("bootstrapScript")
            if script:  # as the container's entrypoint does, once, in /home/work
                proc = await asyncio.create_subprocess_exec(
                    "bash", "-c", script, cwd=sess.workdir,
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                sess.options["bootstrapExit"] = await proc.wait()
            await sess.runtime.start()
            await asyncio.sleep(delay / 4)
            sess.set_status("RUNNING")
        except asyncio.CancelledError:
            sess.set_status("CANCELLED")
            await sess.runtime.shutdown()
            sess.gone.set()
            raise
        except Exception as e:
            sess.status_info = f"kernel start failed: {e!r}"
            sess.set_status("ERROR")
            await sess.runtime.shutdown()
            sess.gone.set()
        finally:
            sess.running.set()

    async def info(self, request: web.Request) -> web.Response:
        s = self._session(request)
        age = int((time.time() - s.created_at) * 1000)
        return web.json_response(
            {
                "age": age,
                "domainName": "default",
                "groupId": "2de2b969-1d04-48a6-af16-0bc8adb3c831",
                "userId": "f38dea23-50fa-42a0-b5ae-338f5f4693f4",
                "lang": s.image,
                "image": s.image,
                "architecture": "x86_64",
                "registry": "cr.backend.ai",
                "tag": s.tag,
                "containerId": s.id.replace("-", ""),
                "occupiedSlots": json.dumps(_slots(s.options.get("resources") or {})),
                "occupyingSlots": json.dumps(_slots(s.options.get("resources") or {})),
                "requestedSlots": json.dumps(_slots(s.options.get("resources") or {})),
                "occupiedShares": "{}",
                "environ": json.dumps(s.config.get("environ") or {}),
                "resourceOpts": json.dumps(s.config.get("resource_opts") or {}),
                "status": s.status,
                "statusInfo": str(s.status_info),
                "statusData": {},
                "creationTime": datetime.fromtimestamp(s.created_at, UTC).isoformat(),
                "terminationTime": (
                    datetime.fromtimestamp(s.terminated_at, UTC).isoformat()
                    if s.terminated_at
                    else None
                ),
                "numQueriesExecuted": s.num_queries,
                "lastStat": {},
                "idleChecks": {},
                "statusHistory": s.history,
                "type": s.type,
            }
        )

    async def destroy(self, request: web.Request) -> web.Response:
        s = self._session(request)
        if s.status in TERMINAL:
            return web.json_response({"stats": {}})
        was_pending = s.status in ("PENDING", "SCHEDULED")
        if was_pending and s.task and not s.task.done():
            s.task.cancel()
            with contextlib.suppress(BaseException):
                await s.task
            s.terminated_at = time.time()
            return web.json_response(
                {"stats": {"status": "cancelled"}} if not self.config.old else {"stats": {}}
            )
        s.set_status("TERMINATING")

        async def finish() -> None:
            if s.task and not s.task.done():
                s.task.cancel()
                with contextlib.suppress(BaseException):
                    await s.task
            await s.runtime.shutdown()
            await self._end_streams(s)
            s.terminated_at = time.time()
            s.set_status("TERMINATED")
            s.gone.set()

        self._tasks.add(t := asyncio.create_task(finish()))
        t.add_done_callback(self._tasks.discard)
        if self.config.old:
            stats = {
                "cpu_used": {"current": "1234", "capacity": None},
                "mem": {"current": "52428800", "capacity": "1073741824"},
            }
            return web.json_response({"stats": stats})
        return web.json_response({"stats": {"status": "terminated"}})

    async def _end_streams(self, s: Session) -> None:
        """A session that ends takes its shell and its apps' service with it."""
        await self.shells.close_session(s.id)
        await self.apps.close_session(s.id)

    async def restart(self, request: web.Request) -> web.Response:
        s = self._session(request)
        if not self.config.old:
            raise Problem(
                501,
                "not-implemented",
                "Session restart is no longer supported. "
                "Terminate the session and enqueue a new one instead.",
            )
        if s.status != "RUNNING":
            raise Problem(409, "invalid-kernel-status", f"The session is {s.status}.")
        s.set_status("RESTARTING")
        try:
            await s.runtime.restart()
        finally:
            s.set_status("RUNNING")
        return web.Response(status=204)

    async def rename(self, request: web.Request) -> web.Response:
        s = self._session(request)
        body = await self._json(request, required=False)
        new = body.get("name") or body.get("session_name") or body.get("clientSessionToken")
        if self.config.old and not new:
            new = request.query.get("name")  # older managers also read the query string
        if not new or not NAME_RE.match(new):
            raise Problem(400, "invalid-api-params", f"Invalid session name: {new!r}")
        if self._live(s.access_key, new) is not None:
            raise Problem(400, "session-already-exists", "A session with that name exists.")
        s.name = new
        return web.Response(status=204)

    async def interrupt(self, request: web.Request) -> web.Response:
        s = self._running(request)
        await s.runtime.interrupt()
        return web.Response(status=204)

    async def complete(self, request: web.Request) -> web.Response:
        self._running(request)
        await self._json(request, required=False)
        if self.config.old:
            return web.json_response({"result": {"status": "finished", "completions": []}})
        return web.json_response(
            {"result": {"status": "finished", "error": None, "suggestions": []}}
        )

    async def logs(self, request: web.Request) -> web.Response:
        self._session(request)
        return web.json_response({"result": {"logs": ""}})

    # -- execute --------------------------------------------------------------------------

    def _bad_params(self, msg: str) -> Problem:
        if self.config.old:
            return Problem(400, "invalid-api-params", msg)
        return Problem(500, "invalid-session-data", msg)

    async def execute(self, request: web.Request) -> web.Response:
        s = self._running(request)
        body = await self._json(request)
        mode = body.get("mode")
        if self.config.old:
            if "runId" not in body:
                raise Problem(400, "invalid-api-params", "runId is missing!")
            run_id = body.get("runId")
        else:
            run_id = body.get("run_id")
        code = body.get("code") or ""
        if mode == "complete":
            return await self.complete(request)
        if mode not in ("query", "batch", "continue", "input"):
            raise self._bad_params(f"Invalid execution mode: {mode!r}")
        rt = s.runtime
        rt.exec_timeout = self.config.batch_exec_timeout
        if mode in ("query", "batch"):
            s.num_queries += 1
            if run_id and run_id in rt.runs:
                raise self._bad_params("The run ID is already in use.")
            run = rt.start_run(mode, code, body.get("options"), run_id)
        else:
            if not run_id:
                raise self._bad_params(
                    "runId is missing!" if self.config.old else "run_id is missing!"
                )
            found = rt.runs.get(run_id)
            if found is None:
                raise self._bad_params(f"Unknown run ID: {run_id}")
            run = found
            if mode == "input":
                if not run.waiting_input:
                    raise self._bad_params("The run is not waiting for input.")
                run.inputs.put_nowait(code)
        result = await run.next_result(self.config.flush_timeout)
        if run.finished:
            rt.forget(run)
        return web.json_response({"result": result})

    # -- files ----------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        s = self._running(request)
        if request.content_type != "multipart/form-data":
            raise Problem(400, "invalid-api-params", "Multipart form data required")
        reader = await request.multipart()
        count = 0
        staged: list[tuple[Path, bytes]] = []
        while (part := await reader.next()) is not None:
            if not hasattr(part, "read_chunk") or part.headers.get("Content-Type", "").startswith(
                "multipart/"
            ):
                raise Problem(400, "invalid-api-params", "Nested multipart is not allowed.")
            count += 1
            if count > self.config.max_upload_files:
                raise Problem(400, "invalid-api-params", "Too many files")
            data = bytearray()
            while chunk := await part.read_chunk(65536):  # type: ignore[union-attr]
                data += chunk
                if len(data) >= self.config.max_upload_size:
                    raise Problem(400, "invalid-api-params", "Too large file")
            filename = part.filename or f"upload-{secrets.token_hex(8)}"
            try:
                target = self._confine(s, filename)
            except Problem:
                raise Problem(
                    400, "invalid-api-params", f"Not allowed to upload files outside {HOME}"
                ) from None
            staged.append((target, bytes(data)))
        for target, data in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return web.Response(status=204)

    def _tar(self, s: Session, rel: str) -> bytes:
        target = self._confine(s, rel)
        if not target.exists():
            raise Problem(400, "invalid-api-params", "The file is not found.")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(target, arcname=target.name)
        data = buf.getvalue()
        if len(data) > self.config.max_archive_size:
            raise Problem(500, "internal-server-error", "Too large archive file exceeding 1 MiB")
        return data

    async def download(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import MultipartWriter

        s = self._running(request)
        files = request.query.getall("files", [])
        if not files:
            with contextlib.suppress(Exception):
                files = (await request.json()).get("files", [])
        if not files:
            raise Problem(400, "invalid-api-params", "No files specified")
        if len(files) > self.config.max_download_files:
            raise Problem(400, "invalid-api-params", "Too many files")
        with MultipartWriter("mixed") as mp:
            for f in files:
                part = mp.append(self._tar(s, f), {"Content-Type": "application/x-tar"})
                part.headers["Content-Encoding"] = "identity"
                part.set_content_disposition("attachment", filename=Path(f).name + ".tar")
        return web.Response(body=mp, status=200)

    async def download_single(self, request: web.Request) -> web.Response:
        s = self._running(request)
        rel = request.query.get("file")
        if not rel:
            raise Problem(400, "invalid-api-params", "No file specified")
        target = self._confine(s, rel)
        if not target.is_file():
            raise Problem(400, "invalid-api-params", "The file is not found.")
        data = target.read_bytes()
        if len(data) > self.config.max_archive_size:
            raise Problem(500, "internal-server-error", "Too large archive file exceeding 1 MiB")
        return web.Response(body=data, content_type="application/octet-stream")

    async def list_files(self, request: web.Request) -> web.Response:
        s = self._running(request)
        if self.config.old:
            body = await self._json(request)
            path = body.get("path", ".")
        else:
            path = request.query.get("path", ".")
        target = self._confine(s, path)
        entries, errors = [], ""
        try:
            for child in sorted(target.iterdir()):
                st = child.lstat()
                entries.append(
                    {
                        "mode": stat.filemode(st.st_mode),
                        "size": st.st_size,
                        "ctime": st.st_ctime,
                        "mtime": st.st_mtime,
                        "atime": st.st_atime,
                        "filename": child.name,
                    }
                )
        except OSError as e:
            errors = f"{type(e).__name__}: {e}"
        return web.json_response({"files": json.dumps(entries), "errors": errors, "abspath": path})

    # -- streaming ------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 << 20, autoping=True, heartbeat=None)
        await ws.prepare(request)
        self.websockets.add(ws)
        self.websocket_kinds[ws] = (request.match_info["name"], request.path.rsplit("/", 1)[-1])
        return ws

    async def stream_apps(self, request: web.Request) -> web.Response:
        self._running(request)
        return web.json_response(self.apps.listing())

    async def stream_tcpproxy(self, request: web.Request) -> web.WebSocketResponse:
        s = self._running(request)

        def opened(ws: web.WebSocketResponse) -> None:
            self.websockets.add(ws)
            self.websocket_kinds[ws] = (request.match_info["name"], "tcpproxy")

        def closed(ws: web.WebSocketResponse) -> None:
            self.websockets.discard(ws)
            self.websocket_kinds.pop(ws, None)

        return await self.apps.proxy(request, s.id, s.name, Problem, opened, closed)

    async def stream_execute(self, request: web.Request) -> web.WebSocketResponse:
        if not self.config.stream_execute:
            raise Problem(404, "url-not-found", data=request.path)
        s = self._running(request)
        ws = await self._ws(request)
        run: Run | None = None
        try:
            msg = await ws.receive()
            if msg.type != WSMsgType.TEXT:
                return ws
            try:
                params = json.loads(msg.data)
            except ValueError:
                await ws.send_json({"status": "error", "msg": "Invalid JSON"})
                return ws
            mode = params.get("mode", "query")
            if mode not in ("query", "batch"):
                await ws.send_json({"status": "error", "msg": "Invalid stream mode"})
                return ws
            s.num_queries += 1
            s.runtime.exec_timeout = self.config.batch_exec_timeout
            run = s.runtime.start_run(
                mode, params.get("code") or "", params.get("options"), secrets.token_hex(8)
            )
            while True:
                result = await run.next_result(self.config.stream_flush_timeout)
                if ws.closed:
                    break
                await ws.send_json(
                    {k: result[k] for k in ("status", "console", "exitCode", "options", "files")}
                )
                if result["status"] == "finished":
                    break
                if result["status"] == "waiting-input":
                    inp = await ws.receive()
                    if inp.type != WSMsgType.TEXT:
                        break
                    run.inputs.put_nowait(inp.data)
            if run.finished:
                s.runtime.forget(run)
                run = None
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if run is not None and not run.finished:  # client went away mid-run
                await s.runtime.interrupt()
                s.runtime.forget(run)
            self.websockets.discard(ws)
            self.websocket_kinds.pop(ws, None)
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    async def stream_pty(self, request: web.Request) -> web.WebSocketResponse:
        """A stream attached to the session's one shell (``terminal.py``): a second stream,
        or one opened after a drop, reaches the same shell, as on a real manager."""
        s = self._running(request)
        ws = await self._ws(request)
        binary = not self.config.old
        shell = await self.shells.get(s.id, s.workdir, dict(s.runtime.env))
        out_q: asyncio.Queue[bytes | None] = asyncio.Queue()
        shell.listeners.add(out_q.put_nowait)

        async def pump_out() -> None:
            while (data := await out_q.get()) is not None:
                frame = json.dumps({"type": "out", "data": base64.b64encode(data).decode()})
                if binary:
                    await ws.send_bytes(frame.encode())
                else:
                    await ws.send_str(frame)
            await ws.close()  # the shell exited

        out_task = asyncio.create_task(pump_out())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue  # binary frames are ignored
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                kind = data.get("type")
                if kind == "stdin":
                    shell.write(base64.b64decode(data.get("chars", "")))
                elif kind == "resize":
                    shell.resize(int(data["rows"]), int(data["cols"]))
                elif kind == "ping":
                    pass
                elif kind == "restart":
                    if not self.config.old:
                        err = json.dumps(
                            {"type": "error", "data": "Session restart is not supported."}
                        )
                        await (ws.send_bytes(err.encode()) if binary else ws.send_str(err))
                        break
                    with contextlib.suppress(Exception):
                        await s.runtime.restart()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            shell.listeners.discard(out_q.put_nowait)
            out_task.cancel()
            self.websockets.discard(ws)
            self.websocket_kinds.pop(ws, None)
            with contextlib.suppress(Exception):
                await ws.close()
        return ws


class _RateLimited(Problem):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(
            429, "rate-limit-exceeded", "Rate limit exceeded; retry after the window moves."
        )
        self.headers = headers
