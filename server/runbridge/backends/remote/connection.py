"""Connections to a remote server: the one httpx client of a profile, and websockets.

Both remote backends talk to their server through one ``httpx.AsyncClient`` per
profile (:func:`http_client`: the endpoint as base URL, redirects answered, never
followed) and open websockets next to it (:func:`ws_url`, :func:`open_websocket`:
a ping every :data:`WS_PING_INTERVAL_S`, no compression, the profile's TLS check).
What each does with a failure (which error, which message) is its own.

:class:`QuickAckConnection` is the websocket connection class of the ``jupyter``
backend: it works around the ~40 ms Nagle / delayed-ACK stall of servers that do not
set ``TCP_NODELAY``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

#: Every websocket is pinged this often (and dropped when a pong takes as long).
WS_PING_INTERVAL_S = 30.0
#: How long closing a websocket waits for the server's close frame.
WS_CLOSE_TIMEOUT_S = 1.0


def http_client(
    endpoint: str,
    *,
    verify: ssl.SSLContext | bool,
    timeout: float,
    connect_timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.AsyncClient:
    """The client of one profile: relative paths resolve under ``endpoint`` (its base
    path kept), ``User-Agent: runbridge``, a redirect is an answer (the caller names
    it), ``timeout`` to wait for an answer and ``connect_timeout`` to connect."""
    return httpx.AsyncClient(
        base_url=endpoint.rstrip("/") + "/",
        auth=auth,
        headers={"User-Agent": "runbridge", **(headers or {})},
        verify=verify,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        transport=transport,
        follow_redirects=False,
    )


def ws_url(endpoint: str, path: str) -> str:
    """The websocket URL of ``path`` (with its query) under the http(s) ``endpoint``."""
    base = endpoint
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + "/" + path.lstrip("/")


def ssl_context(verify: bool) -> ssl.SSLContext:
    """The system's default TLS context; with ``verify`` false, one that checks nothing
    (the profile's ``verify_tls = false``, for a self-signed certificate)."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def open_websocket(
    url: str,
    *,
    headers: Mapping[str, str],
    verify_tls: bool,
    open_timeout: float,
    max_size: int,
    connection: type[ClientConnection],
    subprotocols: Sequence[str] | None = None,
    use_proxy: bool = True,
) -> connect:
    """Open (await it) a websocket to ``url`` made by ``connection``, pinged every
    :data:`WS_PING_INTERVAL_S`, uncompressed, messages up to ``max_size`` bytes;
    ``use_proxy`` false ignores the environment's proxy settings."""
    return connect(
        url,
        additional_headers=dict(headers),
        subprotocols=[Subprotocol(s) for s in subprotocols] if subprotocols else None,
        open_timeout=open_timeout,
        ping_interval=WS_PING_INTERVAL_S,
        ping_timeout=WS_PING_INTERVAL_S,
        close_timeout=WS_CLOSE_TIMEOUT_S,
        max_size=max_size,
        proxy=True if use_proxy else None,
        compression=None,
        ssl=ssl_context(verify_tls) if url.startswith("wss://") else None,
        create_connection=connection,
    )


# -- TCP latency --------------------------------------------------------------------
#
# Jupyter Server (tornado) does not set TCP_NODELAY on websocket streams, so the
# server's small frames sit in its Nagle buffer until our ACK for the previous
# frame arrives, and Linux delays that ACK by up to 40 ms: every trivial run takes
# ~48 ms instead of ~4 ms (reference §2.10). Setting TCP_NODELAY on our side does
# not help. What does: TCP_QUICKACK on our socket makes the kernel ACK at once;
# Linux clears it again after some segments, so it is re-armed after every read,
# from the protocol's data_received (the hook asyncio calls for each read). Where
# the option does not exist (macOS, Windows) or setsockopt fails, this is a no-op
# and runs just pay the server's delay.
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class QuickAckConnection(ClientConnection):
    """A websocket client connection that re-arms ``TCP_QUICKACK`` after each read."""

    _quickack_sock: Any = None
    _quickack_opt: int = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if _TCP_QUICKACK is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        self._quickack_sock = sock
        self._quickack_opt = _TCP_QUICKACK
        self._rearm_quickack()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._quickack_sock is not None:
            self._rearm_quickack()

    def _rearm_quickack(self) -> None:
        try:
            self._quickack_sock.setsockopt(socket.IPPROTO_TCP, self._quickack_opt, 1)
        except (OSError, ValueError):  # closed, or not supported here: stop trying
            self._quickack_sock = None
