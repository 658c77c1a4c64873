"""A Backend.AI session's apps (service ports), forwarded as ``backend.ai app SESSION APP`` does.

* :func:`list_apps`: ``GET /stream/session/{name}/apps`` (signed), a JSON list of
  ``{name, protocol, ports, ...}``.
* :class:`TcpProxyForward`: a local asyncio TCP listener on ``127.0.0.1``. Each
  connection it accepts opens one signed websocket
  ``/stream/session/{name}/tcpproxy?app=APP[&port=N]`` and relays raw bytes both ways
  as binary frames (the manager pipes them to the app's port in the container). The
  client's end of data closes the websocket; the websocket's close ends the TCP
  connection (after what was read is written). A websocket that cannot be opened, or
  that the manager closes with an error code before any byte came back (the app's port
  refused it), is answered to the TCP client as a plain ``HTTP/1.1 503`` text naming
  why (the SDK 23.9 forwarder writes its 503 only for a websocket ERROR message, and
  closes these connections without a byte). On Linux a connection from another local
  user (:func:`runbridge.backends.loopback_peer.peer_uid`) is answered ``HTTP/1.1 403``
  and closed before any websocket is opened: the forward is its user's alone. ``close``
  stops listening and ends every connection.

The newer app-proxy flow (``start-service`` + a wsproxy coordinator, manager 25.13 on)
is not used: the ``tcpproxy`` stream serves 23.09 through 26.x managers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from typing import Any
from urllib.parse import quote, urlencode

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from runbridge.backends.apps import LOOPBACK, ServiceApp
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.errors import BackendAIError
from runbridge.backends.loopback_peer import peer_uid
from runbridge.errors import BackendError, InvalidParams
from runbridge.errors import quote as quoted

log = logging.getLogger(__name__)

#: How much a connection reads from its TCP client at once (one binary frame at most).
CHUNK = 64 * 1024
#: How long a refused client is given to read its answer and close.
ANSWER_LINGER_S = 5.0
#: How many characters of an app's name or protocol the manager lists are kept.
NAME_LIMIT = 80


async def list_apps(
    client: BackendAIClient, session: str, *, ref: str | None = None
) -> list[ServiceApp]:
    """The service ports of ``session`` (addressed by ``ref``, its id when attached, else
    its name), in the manager's order."""
    answer = await client.call_json(
        "GET",
        f"/stream/session/{quote(ref or session, safe='')}/apps",
        what=f"listing the apps of session {session!r}",
        session=session,
    )
    body = answer.get("result")  # (call_json's wrapping of a JSON list)
    if not isinstance(body, list):
        raise BackendAIError(
            f"{client.where} answered the apps of session {session!r} with something that "
            "is not a JSON list",
            session=session,
        )
    apps: list[ServiceApp] = []
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        ports = item.get("ports") or item.get("container_ports") or []
        apps.append(
            ServiceApp(
                client.quote(item["name"], NAME_LIMIT),
                client.quote(str(item.get("protocol") or "tcp"), NAME_LIMIT),
                tuple(p for p in ports if isinstance(p, int) and not isinstance(p, bool)),
            )
        )
    return apps


def pick_app(apps: list[ServiceApp], name: str, port: int | None, session: str) -> ServiceApp:
    """The app called ``name`` (with ``port`` among its ports), else ``InvalidParams``."""
    for app in apps:
        if app.name == name:
            if port is not None and port not in app.ports:
                have = ", ".join(str(p) for p in app.ports) or "none"
                raise InvalidParams(
                    f"app {quoted(name)} of session {quoted(session)} has no port {port} "
                    f"(its ports: {have})",
                    field="port",
                    session=session,
                )
            return app
    names = ", ".join(a.name for a in apps) or "none"
    raise InvalidParams(
        f"session {quoted(session)} has no app {quoted(name)} (its apps: {names})",
        field="app",
        session=session,
        apps=[a.name for a in apps],
    )


def plain_answer(status: str, text: str) -> bytes:
    """A plain-text HTTP answer that closes the connection."""
    body = f"{text}\n".encode()
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def unavailable_answer(reason: str) -> bytes:
    """The plain HTTP 503 a TCP client gets when its websocket fails."""
    return plain_answer("503 Service Unavailable", f"runbridge could not reach the app: {reason}")


class TcpProxyForward:
    """One app forwarded to ``127.0.0.1:local_port`` (implements :class:`AppForward`)."""

    def __init__(
        self,
        client: BackendAIClient,
        session: str,
        app: ServiceApp,
        port: int | None,
        *,
        ref: str | None = None,
    ) -> None:
        self.client = client
        self.session = session
        self.app = app.name
        self.protocol = app.protocol
        self.port = port
        self.local_port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._closed = False
        query: dict[str, Any] = {"app": app.name}
        if port is not None:
            query["port"] = port
        self._path = f"/stream/session/{quote(ref or session, safe='')}/tcpproxy?{urlencode(query)}"

    async def start(self, local_port: int | None) -> None:
        """Listen on ``127.0.0.1:local_port`` (a free port when None)."""
        try:
            self._server = await asyncio.start_server(self._accepted, LOOPBACK, local_port or 0)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BackendError(
                    f"cannot forward app {self.app!r} of session {self.session!r}: port "
                    f"{local_port} on {LOOPBACK} is in use; pick another or leave it out",
                    session=self.session,
                ) from None
            raise BackendError(
                f"cannot forward app {self.app!r} of session {self.session!r} to "
                f"{LOOPBACK}:{local_port}: {exc.strerror or exc}",
                session=self.session,
            ) from None
        self.local_port = int(self._server.sockets[0].getsockname()[1])

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closed:
            writer.close()
            return
        task = asyncio.create_task(self._serve(reader, writer), name=f"app {self.app}: connection")
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not await self._own_user(writer):
                refusal = (
                    f"runbridge forwards app {self.app!r} of session {self.session!r} "
                    "to the user who opened it only"
                )
                await _answer(reader, writer, plain_answer("403 Forbidden", refusal))
                return
            try:
                ws = await self.client.ws_connect(
                    self._path,
                    what=f"forwarding app {self.app!r} of session {self.session!r}",
                    session=self.session,
                )
            except BackendAIError as exc:
                log.info("app %s of session %r: %s", self.app, self.session, exc.message)
                await _answer(reader, writer, unavailable_answer(exc.message))
                return
            try:
                await _relay(reader, writer, ws)
            finally:
                with contextlib.suppress(Exception):
                    await ws.close()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("app %s of session %r: connection failed", self.app, self.session)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _own_user(self, writer: asyncio.StreamWriter) -> bool:
        """Whether the connection comes from this daemon's user (or no one can say)."""
        sock = writer.get_extra_info("socket")
        # (the kernel's table of every TCP socket is read off the event loop)
        uid = await asyncio.to_thread(peer_uid, sock) if sock is not None else None
        if uid is None or uid == os.geteuid():
            return True
        log.warning(
            "app %s of session %r: refused a connection from uid %d", self.app, self.session, uid
        )
        return False

    async def close(self) -> None:
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write ``data``, end the writing side, and read what the client sent until it closes
    (at most :data:`ANSWER_LINGER_S`): closing with its request unread would reset the
    connection, and the client could lose the answer."""
    with contextlib.suppress(OSError):
        writer.write(data)
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ANSWER_LINGER_S):
                while await reader.read(CHUNK):
                    pass


async def _relay(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: ClientConnection
) -> None:
    """Copy bytes both ways until either side ends; then end the other."""

    async def upstream() -> None:  # TCP client -> websocket
        while data := await reader.read(CHUNK):
            await ws.send(data)
        await ws.close()  # the client is done sending: the manager ends the app's side

    relayed = False

    async def downstream() -> None:  # websocket -> TCP client
        nonlocal relayed
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                relayed = True
                writer.write(message if isinstance(message, bytes) else message.encode())
                await writer.drain()
        code = ws.close_code
        if not relayed and code is not None and code not in (1000, 1001):
            reason = ws.close_reason or "no reason given"
            writer.write(unavailable_answer(f"the manager closed the stream ({code}: {reason})"))
            await writer.drain()

    up = asyncio.create_task(upstream())
    down = asyncio.create_task(downstream())
    try:
        done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        if down in done:
            up.cancel()
        else:
            # the client half-closed: what the app still sends goes to it until the close
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(down), 10)
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
