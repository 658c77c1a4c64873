"""A user's server on a JupyterHub, found or started through the Hub's REST API.

A ``jupyter`` profile with ``hub_url`` (:mod:`.hub_profile`) names a hub, a user and a
server instead of a server URL. :class:`HubServer` turns that into the server's URL,
once per profile, before the first session opens:

1. the user: the profile's ``user``, else the token's owner (``GET /hub/api/user``);
2. the server: ``GET /hub/api/users/USER``, its ``servers[NAME]``:
   ready → use it; a spawn pending → follow it; a stop pending → wait for it;
   absent (stopped) → ``POST /hub/api/users/USER/server`` (or ``/servers/NAME``);
3. following a spawn: ``GET …/progress`` (``text/event-stream``, ``data: {json}``
   lines), each event's message and percentage to ``on_status``, until an event with
   ``ready`` (its ``url``) or ``failed`` (its ``message`` quoted in the error);
4. the server's base URL is the hub's origin + the server's ``url``; the profile's
   :class:`~.client.JupyterClient` is pointed at it (same token, ``Authorization:
   token`` header) and everything else is the ``jupyter`` backend.

The whole start is bounded by ``spawn_timeout``. A start that runbridge asked for and
then abandons (timeout, or the open cancelled) is stopped again (``DELETE``). Before
a later session opens on the remembered server, ``GET /api`` on it checks it still
runs; a 404, 424 (JupyterHub's "server not running"), 502 or 503 finds it again.

Every error is a :class:`HubError` naming the hub URL, the profile, the user and
server, and (for a refused token) where the token came from, never the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

import httpx

from runbridge import redaction
from runbridge.backends.base import StatusCallback
from runbridge.backends.jupyter.client import (
    JupyterClient,
    _is_tls_error,
    _os_detail,
    _tls_detail,
)
from runbridge.backends.jupyter.errors import DETAIL_LIMIT, JupyterError, server_detail
from runbridge.backends.jupyter.hub_profile import HubProfile
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.backends.remote.connection import http_client, ssl_context
from runbridge.backends.remote.errors import RemoteAuthError, RemoteNotFound, RemoteUnreachable

__all__ = ["HubAuthError", "HubError", "HubNotFound", "HubServer", "HubUnreachable"]

log = logging.getLogger(__name__)

#: Answers of a user's server that mean it is no longer running (424: JupyterHub's own
#: "server not running"; 503 with use_legacy_stopped_server_status_code, or the proxy's
#: when the server process is gone; 502: a proxy in front of the hub).
STOPPED_STATUSES = frozenset({404, 424, 502, 503})
#: Pause before asking the hub again about a server it is stopping, or one whose
#: progress stream ended without a verdict.
POLL_S = 0.25
#: How long abandoning a start may wait for the hub's answer to the ``DELETE``.
STOP_TIMEOUT_S = 15.0


class HubError(JupyterError):
    pass


class HubAuthError(HubError, RemoteAuthError):
    pass


class HubNotFound(HubError, RemoteNotFound):
    pass


class HubUnreachable(HubError, RemoteUnreachable):
    pass


class HubSpawnError(HubError):
    """The hub could not start the server (its spawner failed, or it took too long)."""


def server_path(user: str, server_name: str) -> str:
    """The REST path of a user's server, relative to the hub's public URL."""
    base = f"hub/api/users/{url_quote(user, safe='')}"
    if server_name:
        return f"{base}/servers/{url_quote(server_name, safe='')}"
    return f"{base}/server"


class HubApi:
    """Authenticated calls to one hub's REST API; every failure a :class:`HubError`."""

    def __init__(
        self,
        config: JupyterProfile,
        hub: HubProfile,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.hub = hub
        self.endpoint = hub.url
        https = self.endpoint.startswith("https")
        self._http = http_client(
            self.endpoint,
            headers={"Authorization": f"token {config.token}"},
            verify=ssl_context(config.verify_tls) if https else True,
            timeout=config.read_timeout,
            connect_timeout=config.connect_timeout,
            transport=transport,
        )

    @property
    def where(self) -> str:
        return f"JupyterHub {self.endpoint}/ (profile {self.config.name!r})"

    def quote(self, text: str, limit: int = DETAIL_LIMIT) -> str:
        return redaction.quote(text, [self.config.token], limit)

    def _data(self, **extra: Any) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "profile": self.config.name, **extra}

    # -- errors ----------------------------------------------------------------------
    def unreachable(self, exc: BaseException, what: str) -> HubUnreachable:
        if isinstance(exc, httpx.ConnectTimeout):
            why = f"did not accept a connection within {self.config.connect_timeout:g} s"
        elif isinstance(exc, httpx.TimeoutException | TimeoutError):
            why = f"did not answer within {self.config.read_timeout:g} s"
        elif _is_tls_error(exc):
            hint = (
                "; for a self-signed certificate set verify_tls = false in the profile"
                if self.config.verify_tls
                else ""
            )
            return HubUnreachable(
                f"the TLS connection to {self.where} failed while {what} "
                f"({self.quote(_tls_detail(exc))}){hint}",
                **self._data(),
            )
        else:
            why = f"cannot be reached ({self.quote(_os_detail(exc)) or type(exc).__name__})"
        return HubUnreachable(
            f"{self.where} {why} while {what}; check hub_url and that the hub is running",
            **self._data(),
        )

    def error_for(
        self, status: int, content: bytes, what: str, *, user: str | None, server: str = ""
    ) -> HubError:
        detail = server_detail(content, self.config.token)
        suffix = f": {detail}" if detail else ""
        owner = f"user {user!r}" if user is not None else "the token's owner"
        scopes = (
            f"servers!user={user} and access:servers!user={user}"
            if user is not None
            else "servers and access:servers for the user"
        )
        data = self._data(user=user, server=server, status=status)
        if status in (401, 403):
            if "invalid credentials" in detail.lower() or not detail:
                hint = f"check the token ({self.config.token_source})"
            else:
                hint = f"check the token's scopes ({self.config.token_source}): it needs {scopes}"
            return HubAuthError(
                f"{self.where} refused {what} (HTTP {status}, not authorised{suffix}); {hint}",
                **data,
            )
        if status == 404:
            return HubNotFound(
                f"{self.where} has no {owner}, or the token may not see it, while {what} "
                f"(HTTP 404{suffix}); check user in the profile and that the token "
                f"({self.config.token_source}) has {scopes}",
                **data,
            )
        return HubError(f"{self.where}: {what} failed with HTTP {status}{suffix}", **data)

    # -- calls -----------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        user: str | None,
        server: str = "",
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One call to ``path`` (relative to the hub's public URL). An answer of 300 or
        more raises, unless its status is in ``ok``."""
        try:
            response = await self._http.request(method, path)
        except httpx.TransportError as exc:
            raise self.unreachable(exc, what) from None
        status = response.status_code
        if status < 300 or status in ok:
            return response
        if status < 400:
            location = response.headers.get("location", "").split("?")[0]
            raise HubError(
                f"{self.where} redirected {what} (HTTP {status}) to "
                f"{self.quote(location) or 'another page'}: check hub_url (its base path)",
                **self._data(status=status),
            )
        raise self.error_for(status, response.content, what, user=user, server=server)

    async def get_json(self, path: str, *, what: str, user: str | None) -> dict[str, Any]:
        response = await self.request("GET", path, what=what, user=user)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise HubError(
                f"{self.where} answered {what} with something that is not a JSON object "
                f"(HTTP {response.status_code}); is hub_url a JupyterHub?",
                **self._data(),
            )
        return body

    async def raw_get(self, url: str) -> httpx.Response:
        """A GET of an absolute URL with the token, its answer as it is."""
        return await self._http.get(url)

    @contextlib.asynccontextmanager
    async def progress(
        self, user: str, server: str, *, what: str
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]] | None]:
        """The spawn's progress events, or None when the hub says it is not starting
        (HTTP 400: it finished, or failed and forgot it, in between)."""
        path = server_path(user, server) + "/progress"
        try:
            async with self._http.stream(
                "GET", path, headers={"Accept": "text/event-stream"}
            ) as response:
                if response.status_code == 400:
                    yield None
                    return
                if response.status_code >= 300:
                    content = await response.aread()
                    raise self.error_for(
                        response.status_code, content, what, user=user, server=server
                    )
                yield _events(response.aiter_lines())
        except httpx.TransportError as exc:
            raise self.unreachable(exc, what) from None

    async def aclose(self) -> None:
        await self._http.aclose()


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of an event stream's ``data:`` lines (keep-alive blank lines and
    anything else skipped)."""
    async for line in lines:
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


class HubServer:
    """The profile's server on the hub: found or started once, remembered, found again
    when it stopped meanwhile. Shared by the profile's sessions."""

    def __init__(
        self,
        client: JupyterClient,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        hub = client.config.hub
        assert hub is not None
        self.client = client
        self.hub = hub
        self.api = HubApi(client.config, hub, transport=transport)
        #: The server's base URL once found (None: not yet, or found stopped).
        self.url: str | None = None
        self._user = hub.user
        self._lock = asyncio.Lock()

    # -- naming ------------------------------------------------------------------------
    def _server(self, user: str) -> str:
        name = self.hub.server_name
        return f"server {name!r} of user {user!r}" if name else f"the server of user {user!r}"

    # -- what the sessions use -----------------------------------------------------------
    async def ensure(self, on_status: StatusCallback | None) -> str:
        """The server's base URL: remembered and still answering, else found or started
        (progress to ``on_status``). The client is pointed at it."""
        async with self._lock:
            if self.url is not None and await self._still_running():
                return self.url
            self.url = None
            url = await self._resolve(on_status or _ignore)
            self.client.rebase(url)
            self.url = url
            return url

    async def _still_running(self) -> bool:
        """``GET /api`` on the remembered server: False when the hub answers in its place
        (a stopped server's route is gone from the proxy: the hub redirects to
        ``/hub/user/…``, or answers 424) or the proxy cannot reach it."""
        url = f"{self.url}/api"
        try:
            response = await self.api.raw_get(url)
        except httpx.TransportError as exc:
            raise self.api.unreachable(exc, f"checking that {url} still runs") from None
        status = response.status_code
        location = urlsplit(response.headers.get("location", "")).path
        if status in STOPPED_STATUSES or (300 <= status < 400 and "/hub/" in location):
            log.info("%s: %s no longer runs (HTTP %s)", self.api.where, self.url, status)
            return False
        return True

    async def user(self) -> str:
        """The profile's ``user``, else the token's owner."""
        if self._user is not None:
            return self._user
        model = await self.api.get_json(
            "hub/api/user", what="asking whose token it is (GET /hub/api/user)", user=None
        )
        name = model.get("name")
        if model.get("kind") not in (None, "user") or not isinstance(name, str) or not name:
            kind = self.api.quote(str(model.get("kind")), 40)
            raise HubError(
                f"{self.api.where}: the token ({self.api.config.token_source}) belongs to a "
                f"{kind}, not a user: set user in the profile to the user whose server to use",
                **self.api._data(),
            )
        self._user = name
        return name

    async def server_model(self, user: str) -> dict[str, Any] | None:
        """The server as the hub reports it; None when it is not running nor pending."""
        model = await self.api.get_json(
            f"hub/api/users/{url_quote(user, safe='')}",
            what=f"looking up {self._server(user)} (GET /hub/api/users/{user})",
            user=user,
        )
        servers = model.get("servers")
        if not isinstance(servers, dict):
            raise HubAuthError(
                f"{self.api.where} does not show the token the servers of user {user!r}; "
                f"check the token's scopes ({self.api.config.token_source}): it needs "
                f"servers!user={user} and access:servers!user={user}",
                **self.api._data(user=user, server=self.hub.server_name),
            )
        found = servers.get(self.hub.server_name)
        if not isinstance(found, dict) or found.get("stopped") is True:
            return None
        return found

    # -- finding or starting -------------------------------------------------------------
    async def _resolve(self, on_status: StatusCallback) -> str:
        user = await self.user()
        started = False
        try:
            async with asyncio.timeout(self.hub.spawn_timeout):
                while True:
                    model = await self.server_model(user)
                    if model is not None and model.get("ready"):
                        return self._base_url(model.get("url"), user)
                    if model is not None and model.get("pending") == "stop":
                        on_status(f"JupyterHub is stopping {self._server(user)}")
                        await asyncio.sleep(POLL_S)
                        continue
                    if model is None:
                        if started:
                            raise HubSpawnError(
                                f"{self.api.where}: {self._server(user)} stopped while it was "
                                "starting; see the hub's log",
                                **self.api._data(user=user, server=self.hub.server_name),
                            )
                        started = True
                        if await self._start(user, on_status) == 201:
                            continue  # ready: the model has its url
                    url = await self._follow(user, on_status)
                    if url is not None:
                        return url
                    await asyncio.sleep(POLL_S)
        except TimeoutError:
            stopped = await self._abandon(user) if started else False
            after = "; runbridge asked the hub to stop it" if stopped else ""
            raise HubSpawnError(
                f"{self.api.where}: {self._server(user)} did not start within "
                f"{self.hub.spawn_timeout:g} s (spawn_timeout in the profile){after}",
                **self.api._data(user=user, server=self.hub.server_name),
            ) from None
        except asyncio.CancelledError:
            if started:
                await self._abandon(user)
            raise

    async def _start(self, user: str, on_status: StatusCallback) -> int:
        """``POST`` the start: 201 (ready) or 202 (starting); 400 (already running or
        pending) counts as 202: the model is read again."""
        path = server_path(user, self.hub.server_name)
        what = f"starting {self._server(user)} (POST /{path})"
        on_status(f"asking JupyterHub to start {self._server(user)}")
        try:
            response = await self.api.request(
                "POST", path, what=what, user=user, server=self.hub.server_name, ok=(400,)
            )
        except HubError as exc:
            if exc.status is None or exc.status < 500:
                raise
            # the hub hides the spawner's error behind 500; its progress still has it
            try:
                await self._follow(user, _ignore)
            except HubSpawnError as failed:
                raise failed from None
            except HubError:
                pass
            raise
        return 201 if response.status_code == 201 else 202

    async def _follow(self, user: str, on_status: StatusCallback) -> str | None:
        """Follow the spawn's progress: the server's URL once ready; None when the hub
        has no spawn to report (read the model again)."""
        server = self.hub.server_name
        what = f"following the start of {self._server(user)} (GET …/progress)"
        async with self.api.progress(user, server, what=what) as events:
            if events is None:
                return None
            async for event in events:
                message = event.get("message")
                if event.get("failed"):
                    text = message if isinstance(message, str) else "Spawn failed"
                    raise self._spawn_failed(user, text)
                if isinstance(message, str) and message.strip():
                    on_status(self._status_text(message, event.get("progress")))
                if event.get("ready"):
                    return self._base_url(event.get("url"), user)
        return None

    async def _abandon(self, user: str) -> bool:
        """Ask the hub to stop the start runbridge asked for (a ``DELETE``); whether the
        hub took the request."""
        path = server_path(user, self.hub.server_name)
        what = f"stopping {self._server(user)}, whose start was abandoned (DELETE /{path})"
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.shield(
                    self.api.request(
                        "DELETE", path, what=what, user=user, server=self.hub.server_name
                    )
                )
        except (HubError, TimeoutError, asyncio.CancelledError) as exc:
            log.warning("%s: %s", self.api.where, getattr(exc, "message", None) or repr(exc))
            return False
        log.info("%s: asked the hub to stop %s", self.api.where, self._server(user))
        return True

    # -- helpers -------------------------------------------------------------------------
    def _spawn_failed(self, user: str, message: str) -> HubSpawnError:
        return HubSpawnError(
            f"{self.api.where} could not start {self._server(user)}: "
            f"{self.api.quote(message.strip())}",
            **self.api._data(user=user, server=self.hub.server_name),
        )

    @staticmethod
    def _status_text(message: str, progress: object) -> str:
        text = " ".join(message.split())[:DETAIL_LIMIT]
        if isinstance(progress, int | float) and not isinstance(progress, bool):
            return f"{text} ({int(progress)}%)"
        return text

    def _base_url(self, url: object, user: str) -> str:
        """The server's base URL: the hub's origin + the server's ``url`` (a path), or
        that ``url`` when the hub gives a full one (subdomains)."""
        if not isinstance(url, str) or not url.strip():
            raise HubError(
                f"{self.api.where} reports {self._server(user)} ready without its url",
                **self.api._data(user=user, server=self.hub.server_name),
            )
        parts = urlsplit(url.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            return url.strip().rstrip("/")
        hub = urlsplit(self.hub.url)
        return f"{hub.scheme}://{hub.netloc}/{parts.path.strip('/')}"

    # -- checkProfile --------------------------------------------------------------------
    async def check(self, check_server: Callable[[], Awaitable[str]]) -> str:
        """Whether the token works, and whether the server runs (then its own check)."""
        user = await self.user()
        model = await self.server_model(user)
        head = f"{self.api.where} accepts the token (user {user!r})"
        if model is None:
            return f"{head}; {self._server(user)} is not running (opening a session starts it)"
        if not model.get("ready"):
            return f"{head}; {self._server(user)} is starting"
        await self._point_at(model, user)
        return f"{head}; {self._server(user)} is running: {await check_server()}"

    async def find_running(self) -> bool:
        """Whether the user's server runs and is ready (then the client points at it);
        nothing is started."""
        user = await self.user()
        model = await self.server_model(user)
        if model is None or not model.get("ready"):
            return False
        await self._point_at(model, user)
        return True

    async def _point_at(self, model: dict[str, Any], user: str) -> None:
        async with self._lock:
            url = self._base_url(model.get("url"), user)
            if self.url != url:
                self.client.rebase(url)
                self.url = url

    async def aclose(self) -> None:
        await self.api.aclose()


def _ignore(_status: str) -> None:
    return None
