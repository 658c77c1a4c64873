"""One HTTP client per Backend.AI profile: signed REST calls, websockets, error mapping.

:class:`BackendAIClient` wraps a single ``httpx.AsyncClient`` (base URL = the
manager endpoint, :class:`~.auth.BackendAIAuth` signing, TLS verification and
timeouts from the profile). Before the first signed call it negotiates the API
version with ``GET /`` (the lower of the server's and the client's).

Every failure becomes a :class:`~.errors.BackendAIError` with a clear message
(see :func:`~.errors.problem_error`): a 429 whose reset is near is waited out and
retried once; an unreachable manager is named by its endpoint, never a key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State

from runbridge import redaction
from runbridge.backends.backendai.auth import (
    CLIENT_API_VERSION,
    MIN_API_VERSION,
    BackendAIAuth,
    negotiate_api_version,
    parse_api_version,
    version_from_hello,
    ws_headers,
)
from runbridge.backends.backendai.errors import (
    DETAIL_LIMIT,
    BackendAIError,
    BackendAIRateLimited,
    BackendAIStreamUnavailable,
    BackendAIUnreachable,
    parse_problem,
    problem_error,
    problem_slug,
)
from runbridge.backends.backendai.profile import BackendAIProfile
from runbridge.backends.remote.connection import http_client, open_websocket, ws_url

log = logging.getLogger(__name__)

#: A rate-limit reset at most this far away is waited out (then the call is retried once).
MAX_RATE_LIMIT_WAIT_S = 10.0
#: Default HTTP timeout (seconds) when the profile sets none; one execute call blocks ~2 s.
DEFAULT_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10.0
#: The manager's default maximum websocket message size.
WS_MAX_SIZE = 16 * 1024 * 1024
#: How many characters of a version string the server announces are kept.
VERSION_LIMIT = 40

Sleep = Callable[[float], Awaitable[None]]
Files = Sequence[tuple[str, tuple[str, bytes, str]]]


class BackendAIClient:
    """Signed access to one Backend.AI manager (shared by all sessions of a profile)."""

    def __init__(
        self,
        config: BackendAIProfile,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT_S,
    ) -> None:
        self.config = config
        redaction.remember(config.access_key, config.secret_key)  # the log filter masks them
        self.endpoint = str(config.endpoint).rstrip("/")
        self._client_version = config.api_version or CLIENT_API_VERSION
        self.api_version = self._client_version
        self.manager_version: str | None = None
        self._auth = BackendAIAuth(config.access_key, config.secret_key, self._client_version)
        #: connecting: the profile's ``timeout``; waiting for an answer: at least a minute
        #: (one execute call blocks ~2 s, uploads take longer).
        self.connect_timeout = float(config.timeout) if config.timeout else CONNECT_TIMEOUT_S
        self.timeout = max(DEFAULT_TIMEOUT_S, self.connect_timeout)
        self._http = http_client(
            self.endpoint,
            auth=self._auth,
            verify=bool(config.verify_tls),
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            transport=transport,
        )
        self._sleep = sleep
        self._max_wait = max_rate_limit_wait
        self._negotiated = False
        self._negotiate_lock = asyncio.Lock()

    # -- plumbing ----------------------------------------------------------------
    @property
    def secrets(self) -> tuple[str, str]:
        return (self.config.secret_key, self.config.access_key)

    @property
    def where(self) -> str:
        """The manager, as errors and run messages name it."""
        return f"Backend.AI manager {self.endpoint}"

    def quote(self, text: str, limit: int = DETAIL_LIMIT) -> str:
        """At most ``limit`` characters of server (or library) text, the keys masked first."""
        return redaction.quote(text, self.secrets, limit)

    def _secrets_of(self, authorization: str | None) -> tuple[str, ...]:
        """The keys, and the ``ACCESS_KEY:SIGNATURE`` credential of the request answered.

        A signature is derived, but the body is not signed: echoed back, it could be
        replayed with another body on the same path within the manager's 15-minute window.
        """
        credential = (authorization or "").rpartition("credential=")[2].strip()
        return (*self.secrets, credential) if credential else self.secrets

    def _unreachable(self, exc: Exception, what: str) -> BackendAIUnreachable:
        if isinstance(exc, httpx.ConnectTimeout):
            why = f"did not accept a connection within {self.connect_timeout:g} s"
        elif isinstance(exc, httpx.TimeoutException | TimeoutError):
            why = f"did not answer within {self.timeout:g} s"
        else:
            detail = self.quote(str(exc)) or type(exc).__name__
            why = f"cannot be reached ({detail})"
        return BackendAIUnreachable(
            f"the Backend.AI manager at {self.endpoint} {why} while {what}; check the "
            "endpoint, the network and that the manager is running",
            endpoint=self.endpoint,
        )

    def _undecodable(self, exc: httpx.DecodingError, what: str) -> BackendAIError:
        """A body that claims an encoding (gzip, a charset) it does not have."""
        return BackendAIError(
            f"the Backend.AI manager at {self.endpoint} answered {what} with a body that "
            f"cannot be decoded ({self.quote(str(exc))}); is the endpoint a Backend.AI manager?",
            endpoint=self.endpoint,
        )

    def _path(self, path: str) -> str:
        return path.lstrip("/")

    # -- version negotiation -------------------------------------------------------
    async def negotiate(self, *, strict: bool = False) -> str:
        """Ask ``GET /`` for the server's API version; speak the lower of it and ours.

        An answer without a version leaves ours (as the SDK does); with ``strict`` (the
        profile check) it is an error saying what was answered.
        """
        try:
            response = await self._http.get("", auth=None)
        except httpx.TransportError as exc:
            raise self._unreachable(exc, "asking for its API version") from None
        except httpx.DecodingError as exc:
            raise self._undecodable(exc, "asking for its API version (GET /)") from None
        server, problem = self._read_hello(response)
        if problem is not None and strict:
            raise BackendAIError(
                f"the Backend.AI manager at {self.endpoint} answered GET / with {problem}: "
                "is the endpoint a Backend.AI manager?",
                endpoint=self.endpoint,
            )
        version = negotiate_api_version(server, self._client_version)
        if server is not None and parse_api_version(version) < parse_api_version(MIN_API_VERSION):
            log.warning(
                "the Backend.AI manager at %s speaks API %s, older than %s: some calls may fail",
                self.endpoint,
                version,
                MIN_API_VERSION,
            )
        self.api_version = version
        self._auth.api_version = version
        self._negotiated = True
        log.info(
            "Backend.AI manager %s: API %s (server %s, manager %s)",
            self.endpoint,
            version,
            server,
            self.manager_version,
        )
        return version

    def _read_hello(self, response: httpx.Response) -> tuple[str | None, str | None]:
        """The API version a ``GET /`` answer announces, else what is wrong with it."""
        if response.status_code >= 300:
            return None, f"HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return None, f"something that is not JSON (HTTP {response.status_code})"
        if not isinstance(body, Mapping):
            return None, "JSON that is not an object"
        manager = body.get("manager")
        if isinstance(manager, str):
            self.manager_version = self.quote(manager, VERSION_LIMIT)
        server = version_from_hello(body)
        if server is None:
            return None, 'no API version (a "version" of the form vN.YYYYMMDD)'
        return server, None

    async def ensure_negotiated(self) -> None:
        if self._negotiated:
            return
        async with self._negotiate_lock:
            if not self._negotiated:
                await self.negotiate()

    # -- REST ------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        session: str | None = None,
        json: Any = None,
        params: Mapping[str, str | Sequence[str]] | None = None,
        files: Files | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One signed call; an error answer raises the mapped :class:`BackendAIError`.

        ``what`` is how the error message names the operation ("creating session 'x'").
        A 429 whose reset is at most ``max_rate_limit_wait`` away is retried once.
        """
        await self.ensure_negotiated()
        attempt = 0
        while True:
            attempt += 1
            kwargs: dict[str, Any] = {}
            if json is not None:
                kwargs["json"] = json
            if params is not None:
                kwargs["params"] = params
            if files is not None:
                kwargs["files"] = list(files)
            if timeout is not None:
                kwargs["timeout"] = httpx.Timeout(timeout, connect=self.connect_timeout)
            try:
                response = await self._http.request(method, self._path(path), **kwargs)
            except httpx.TransportError as exc:
                raise self._unreachable(exc, what) from None
            except httpx.DecodingError as exc:
                raise self._undecodable(exc, what) from None
            if response.status_code < 400:
                return response
            error = self.error_for(response, what=what, session=session)
            if (
                isinstance(error, BackendAIRateLimited)
                and attempt == 1
                and error.retry_after is not None
                and error.retry_after <= self._max_wait
            ):
                log.info("rate limited; retrying in %.1f s", error.retry_after)
                await self._sleep(error.retry_after)
                continue
            raise error

    def error_for(
        self, response: httpx.Response, *, what: str, session: str | None = None
    ) -> BackendAIError:
        body = parse_problem(response.content)
        return problem_error(
            response.status_code,
            body,
            response.headers,
            endpoint=self.endpoint,
            what=what,
            session=session,
            secrets=self._secrets_of(response.request.headers.get("Authorization")),
        )

    async def call_json(
        self,
        method: str,
        path: str,
        *,
        what: str,
        session: str | None = None,
        json: Any = None,
        params: Mapping[str, str | Sequence[str]] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """:meth:`request` returning the JSON object answered (``{}`` for an empty body)."""
        response = await self.request(
            method,
            path,
            what=what,
            session=session,
            json=json,
            params=params,
            timeout=timeout,
        )
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise BackendAIError(
                f"the Backend.AI manager at {self.endpoint} answered {what} with something "
                f"that is not JSON (HTTP {response.status_code})",
                endpoint=self.endpoint,
            ) from None
        return body if isinstance(body, dict) else {"result": body}

    # -- websockets ------------------------------------------------------------------
    async def ws_connect(
        self, path: str, *, what: str, session: str | None = None
    ) -> ClientConnection:
        """Open a signed websocket to ``path``.

        Raises :class:`BackendAIStreamUnavailable` when the manager has no such route
        (404 ``url-not-found``, 405, or a refused upgrade), else the mapped error. A
        refused upgrade answered 429 is waited out and retried once, as in :meth:`request`.
        """
        await self.ensure_negotiated()
        try:
            return await self._ws_connect_once(path, what=what, session=session)
        except BackendAIRateLimited as error:
            if error.retry_after is None or error.retry_after > self._max_wait:
                raise
            log.info("rate limited; retrying in %.1f s", error.retry_after)
            await self._sleep(error.retry_after)
        return await self._ws_connect_once(path, what=what, session=session)

    async def _ws_connect_once(
        self, path: str, *, what: str, session: str | None
    ) -> ClientConnection:
        url = ws_url(self.endpoint, path)
        headers = ws_headers(
            url,
            api_version=self.api_version,
            access_key=self.config.access_key,
            secret_key=self.config.secret_key,
        )
        try:
            return await open_websocket(
                url,
                headers=headers,
                verify_tls=self.config.verify_tls,
                open_timeout=self.connect_timeout * 3,
                max_size=WS_MAX_SIZE,
                use_proxy=False,
                connection=_FramesBeforeCloseReply,
            )
        except InvalidStatus as exc:
            response = exc.response
            body = parse_problem(bytes(response.body or b""))
            slug = problem_slug(body)
            if (response.status_code == 404 and slug in ("url-not-found", "")) or (
                response.status_code == 405 or slug == "method-not-allowed"
            ):
                raise BackendAIStreamUnavailable(
                    f"the Backend.AI manager at {self.endpoint} has no stream {path!r}",
                    endpoint=self.endpoint,
                ) from None
            error = problem_error(
                response.status_code,
                body,
                {k: v for k, v in response.headers.raw_items()},
                endpoint=self.endpoint,
                what=what,
                session=session,
                secrets=self._secrets_of(headers.get("Authorization")),
            )
            if type(error) is BackendAIError and response.status_code < 500:
                # e.g. a proxy that refuses websocket upgrades (400, 426): not a server error
                raise BackendAIStreamUnavailable(
                    f"{error.message} (websocket {path!r} refused)", endpoint=self.endpoint
                ) from None
            raise error from None
        except InvalidURI as exc:  # a redirect to a page that is no websocket (http://...)
            raise BackendAIStreamUnavailable(
                f"the Backend.AI manager at {self.endpoint} redirected the websocket {path!r} "
                f"to {self.quote(exc.uri.split('?')[0])}",
                endpoint=self.endpoint,
            ) from None
        except InvalidHandshake as exc:
            raise BackendAIStreamUnavailable(
                f"the Backend.AI manager at {self.endpoint} refused the websocket {path!r} "
                f"({self.quote(str(exc))})",
                endpoint=self.endpoint,
            ) from None
        except (OSError, TimeoutError) as exc:
            raise self._unreachable(exc, what) from None

    async def aclose(self) -> None:
        await self._http.aclose()


class _FramesBeforeCloseReply(ClientConnection):
    """A websocket that hands the frames it reads to their reader before answering a close.

    The manager ends an execute stream with the run's last result and a close frame,
    often in one TCP segment. websockets writes the close reply while it parses that
    segment, before the reader sees the result, so the run's end waited for a loopback
    write (about 0.1 ms, with the manager woken to handle it). Here a close reply
    written while reading goes out two loop steps later: after the reader has taken the
    result and the run's reply is out. The manager waits seconds for it.
    """

    _reading = False

    def data_received(self, data: bytes) -> None:
        self._reading = True
        try:
            super().data_received(data)
        finally:
            self._reading = False

    def send_data(self) -> None:
        if self._reading and self.protocol.state is State.CLOSING:
            self.loop.call_soon(self.loop.call_soon, self._send_close_reply)
            return
        super().send_data()

    def _send_close_reply(self) -> None:
        try:
            super().send_data()
        except Exception as exc:  # the socket is gone: the manager times the close out
            log.debug("websocket close reply not sent: %s", exc)
