"""One HTTP client per Jupyter profile: token-authenticated REST, websockets, error mapping.

:class:`JupyterClient` wraps one ``httpx.AsyncClient`` (base URL = the server URL,
``Authorization: token …`` on every request, TLS verification and connect/read
timeouts from the profile) and opens websockets with the same header. Every
failure becomes a :class:`~.errors.JupyterError` naming the profile and the URL
(never the token). :meth:`JupyterClient.features` probes once which optional APIs
the server has (sessions, contents, terminals): Jupyter Server has them all, a
Kernel Gateway or Enterprise Gateway only kernels and kernelspecs.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from runbridge import redaction
from runbridge.backends.jupyter.errors import (
    DETAIL_LIMIT,
    JupyterError,
    JupyterTimeout,
    JupyterUnreachable,
    http_error,
)
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.backends.remote.connection import (
    QuickAckConnection,
    http_client,
    open_websocket,
    ssl_context,
    ws_url,
)

__all__ = ["JupyterClient", "ServerFeatures"]

log = logging.getLogger(__name__)

#: Largest websocket message accepted (one big image/png display_data is several MB;
#: the server's own limit for bodies is 512 MiB).
WS_MAX_SIZE = 1024 * 1024 * 1024
#: How many characters of a version string the server announces are kept.
VERSION_LIMIT = 40


@dataclass(frozen=True)
class ServerFeatures:
    """What the server offers besides kernels (probed once per client)."""

    #: "jupyter-server", "kernel-gateway" (Kernel or Enterprise Gateway) or "unknown".
    kind: str
    sessions_api: bool
    contents_api: bool
    terminals_api: bool
    version: str | None = None
    gateway_version: str | None = None


class JupyterClient:
    """Authenticated access to one Jupyter server (shared by all sessions of a profile)."""

    def __init__(
        self, config: JupyterProfile, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        redaction.remember(config.token)  # the log filter masks it too
        self.profile_name = config.name
        #: The server URL, without the token (safe to show).
        self.endpoint = config.url.rstrip("/")
        self.connect_timeout = config.connect_timeout
        self.read_timeout = config.read_timeout
        self._http = http_client(
            self.endpoint,
            headers=self.ws_headers(),
            verify=ssl_context(config.verify_tls) if self.endpoint.startswith("https") else True,
            timeout=self.read_timeout,
            connect_timeout=self.connect_timeout,
            transport=transport,
        )
        self._features: ServerFeatures | None = None
        self._features_lock = asyncio.Lock()

    def rebase(self, url: str) -> None:
        """Point the client at another server URL (a JupyterHub user's server, found or
        started after the profile was read); what was probed of the old one is forgotten."""
        endpoint = url.rstrip("/")
        if endpoint != self.endpoint:
            self.endpoint = endpoint
            self._http.base_url = httpx.URL(endpoint + "/")
        self._features = None

    # -- naming ------------------------------------------------------------------
    @property
    def where(self) -> str:
        """How messages name the server: ``Jupyter server http://host:8888 (profile 'x')``."""
        return f"Jupyter server {self.endpoint} (profile {self.profile_name!r})"

    def quote(self, text: str, limit: int = DETAIL_LIMIT) -> str:
        """At most ``limit`` characters of server (or library) text, the token masked first."""
        return redaction.quote(text, [self.config.token], limit)

    def unreachable(
        self, exc: BaseException, what: str, read_timeout: float | None = None
    ) -> JupyterUnreachable:
        """The error for a call that got no HTTP answer (``read_timeout``: the call's own,
        when it replaced the profile's)."""
        if isinstance(exc, httpx.ConnectTimeout):
            tls = " (or complete the TLS handshake)" if self.endpoint.startswith("https") else ""
            why = f"did not accept a connection{tls} within {self.connect_timeout:g} s"
        elif isinstance(exc, httpx.TimeoutException | TimeoutError):
            waited = self.read_timeout if read_timeout is None else read_timeout
            return JupyterTimeout(
                f"the {self.where} did not answer within {waited:g} s while {what}; check the "
                "url and that the server is running",
                endpoint=self.endpoint,
                profile=self.profile_name,
            )
        elif _is_tls_error(exc):
            detail = self.quote(_tls_detail(exc))
            hint = (
                "; for a self-signed certificate set verify_tls = false in the profile"
                if self.config.verify_tls
                else ""
            )
            return JupyterUnreachable(
                f"the TLS connection to {self.where} failed while {what} ({detail}){hint}",
                endpoint=self.endpoint,
                profile=self.profile_name,
            )
        else:
            detail = self.quote(_os_detail(exc)) or type(exc).__name__
            why = f"cannot be reached ({detail})"
        return JupyterUnreachable(
            f"the {self.where} {why} while {what}; check the url and that the server is running",
            endpoint=self.endpoint,
            profile=self.profile_name,
        )

    def undecodable(self, exc: httpx.DecodingError, what: str) -> JupyterError:
        """A body that claims an encoding (gzip, a charset) it does not have."""
        return JupyterError(
            f"the {self.where} answered {what} with a body that cannot be decoded "
            f"({self.quote(str(exc))}); is the url a Jupyter server?",
            endpoint=self.endpoint,
            profile=self.profile_name,
        )

    def error_for(self, status: int, content: bytes, what: str) -> JupyterError:
        return http_error(
            status,
            content,
            where=f"the {self.where}",
            what=what,
            token=self.config.token,
            token_source=self.config.token_source,
            username=self.config.username,
            endpoint=self.endpoint,
            profile=self.profile_name,
        )

    # -- REST ----------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One authenticated call to ``path`` (``/api/...``, relative to the server URL).

        An answer of 400 or more raises the mapped :class:`JupyterError`, a transport
        failure :class:`JupyterUnreachable`; ``what`` names the operation in messages
        ("starting a kernel"). ``timeout`` replaces the read timeout of this call.
        """
        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["json"] = json
        if params is not None:
            kwargs["params"] = params
        if content is not None:
            kwargs["content"] = content
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout, connect=self.connect_timeout)
        try:
            response = await self._http.request(method, path.lstrip("/"), **kwargs)
        except httpx.TransportError as exc:
            raise self.unreachable(exc, what, timeout) from None
        except httpx.DecodingError as exc:
            raise self.undecodable(exc, what) from None
        except httpx.InvalidURL as exc:
            raise JupyterError(
                f"{what}: invalid URL for {self.where} ({self.quote(str(exc))})",
                endpoint=self.endpoint,
                profile=self.profile_name,
            ) from None
        if response.status_code < 300:
            return response
        if response.status_code < 400:
            location = response.headers.get("location", "")
            raise self.redirected(response.status_code, location, what)
        raise self.error_for(response.status_code, response.content, what)

    def redirected(self, status: int | None, location: str, what: str) -> JupyterError:
        """A redirect (to a login page, another base path): its target without the query."""
        code = f" (HTTP {status})" if status is not None else ""
        return JupyterError(
            f"the {self.where} redirected {what}{code} to "
            f"{self.quote(location.split('?')[0]) or 'another page'}: the url (its base "
            "path) or the token is probably wrong",
            status=status,
            endpoint=self.endpoint,
            profile=self.profile_name,
        )

    async def get_json(self, path: str, *, what: str, params: dict[str, str] | None = None) -> Any:
        response = await self.request("GET", path, what=what, params=params)
        return self.parse_json(response, what)

    def parse_json(self, response: httpx.Response, what: str) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise JupyterError(
                f"the {self.where} answered {what} with something that is not JSON "
                f"(HTTP {response.status_code}); is the url a Jupyter server?",
                endpoint=self.endpoint,
                profile=self.profile_name,
            ) from None

    async def _status(self, path: str, params: dict[str, str] | None = None) -> int:
        """The status code of a GET (probing; transport errors are raised mapped).

        401 and the 403 of Jupyter Server raise the auth error: ``GET /api`` answers
        without a token, so this is where a wrong token shows.
        """
        what = f"checking which APIs it offers (GET {path})"
        try:
            response = await self._http.get(path.lstrip("/"), params=params)
        except httpx.TransportError as exc:
            raise self.unreachable(exc, what) from None
        except httpx.DecodingError as exc:
            raise self.undecodable(exc, what) from None
        status = response.status_code
        # (Kernel Gateway answers 403 to listing sessions unless list_kernels is on)
        if status == 401 or (status == 403 and path != "/api/sessions"):
            raise self.error_for(status, response.content, what)
        return status

    async def features(self) -> ServerFeatures:
        """Which optional APIs the server has (probed on first use, then remembered)."""
        if self._features is not None:
            return self._features
        async with self._features_lock:
            if self._features is None:
                self._features = await self._probe()
            return self._features

    async def _probe(self) -> ServerFeatures:
        body = await self.get_json("/api", what="asking for its version (GET /api)")
        version = body.get("version") if isinstance(body, Mapping) else None
        if not isinstance(version, str) or not version.strip():
            raise JupyterError(
                f"the {self.where} answered GET /api without a version (a JSON object with "
                'a "version" string): is the url a Jupyter server?',
                endpoint=self.endpoint,
                profile=self.profile_name,
            )
        sessions, contents, terminals = await asyncio.gather(
            self._status("/api/sessions"),
            self._status("/api/contents", {"content": "0"}),
            self._status("/api/terminals"),
        )
        gateway = body.get("gateway_version")
        if isinstance(gateway, str) or contents == 404:
            kind = "kernel-gateway"
        elif contents == 200:
            kind = "jupyter-server"
        else:
            kind = "unknown"
        features = ServerFeatures(
            kind=kind,
            sessions_api=sessions == 200 and contents == 200,
            contents_api=contents == 200,
            terminals_api=terminals == 200,
            version=self.quote(version.strip(), VERSION_LIMIT),
            gateway_version=self.quote(gateway, VERSION_LIMIT)
            if isinstance(gateway, str)
            else None,
        )
        log.info("%s: %s", self.where, features)
        return features

    # -- websockets ------------------------------------------------------------------
    def ws_headers(self) -> dict[str, str]:
        if not self.config.token:
            return {}
        return {"Authorization": f"token {self.config.token}"}

    async def ws_connect(
        self, path: str, *, what: str, subprotocols: list[str] | None = None
    ) -> ClientConnection:
        """Open a websocket to ``path`` (with query string) on the server.

        The connection re-arms ``TCP_QUICKACK`` after every read where the OS has it
        (see :class:`~runbridge.backends.remote.connection.QuickAckConnection`): stock
        Jupyter servers do not set ``TCP_NODELAY``, and without it every small reply
        waits ~40 ms.
        """
        try:
            return await open_websocket(
                ws_url(self.endpoint, path),
                headers=self.ws_headers(),
                subprotocols=subprotocols,
                verify_tls=self.config.verify_tls,
                # the server answers the upgrade once the kernel is ready (kernel_info)
                open_timeout=max(self.connect_timeout, self.read_timeout),
                max_size=WS_MAX_SIZE,
                connection=QuickAckConnection,
            )
        except InvalidStatus as exc:
            response = exc.response
            raise self.error_for(response.status_code, bytes(response.body or b""), what) from None
        except InvalidURI as exc:  # a redirect to a page that is no websocket (http://...)
            cause = exc.__context__
            status = cause.response.status_code if isinstance(cause, InvalidStatus) else None
            raise self.redirected(status, exc.uri, what) from None
        except InvalidHandshake as exc:
            raise JupyterError(
                f"the {self.where} refused the websocket while {what} ({self.quote(str(exc))})",
                endpoint=self.endpoint,
                profile=self.profile_name,
            ) from None
        except (OSError, TimeoutError) as exc:
            raise self.unreachable(exc, what) from None

    async def aclose(self) -> None:
        await self._http.aclose()


def quote_path(path: str) -> str:
    """A contents-API path, URL-quoted segment by segment."""
    return quote(path.strip("/"), safe="/")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_tls_error(exc: BaseException) -> bool:
    for item in _chain(exc):
        if isinstance(item, ssl.SSLError):
            return True
        text = str(item)
        if "CERTIFICATE_VERIFY_FAILED" in text or ("SSL" in text and "handshake" in text.lower()):
            return True
    return False


def _tls_detail(exc: BaseException) -> str:
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError) and item.verify_message:
            return f"certificate verify failed: {item.verify_message}"
        if isinstance(item, ssl.SSLError):
            return item.reason or str(item)
    return str(exc) or type(exc).__name__


def _os_detail(exc: BaseException) -> str:
    for item in _chain(exc):
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, OSError) and item.strerror:
            return item.strerror
    return str(exc)
