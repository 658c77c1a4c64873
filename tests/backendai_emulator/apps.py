"""Service ports (apps) of the emulator's sessions, and the ``tcpproxy`` stream to them.

Each running session lists two apps (``GET /stream/session/{name}/apps``, the manager's
shape ``[{name, protocol, ports}]``): ``jupyter`` (http, container port 8081) and ``ttyd``
(tcp, 7681). Both are served by one real TCP service the emulator starts for the session
on the first ``tcpproxy`` connection: a tiny HTTP server on 127.0.0.1 whose page names the
session and the app (``<h1>SESSION:APP</h1>``), standing in for the container's port.

``GET /stream/session/{name}/tcpproxy?app=APP[&port=N]`` (signed like every stream call)
checks the app (unknown: 404 ``app-not-found``, the manager's ``AppNotFound``) and the
port (not one of the app's: 400 ``invalid-api-params``), accepts the websocket, then opens
a TCP connection to the service and pipes bytes both ways as binary frames (the manager's
``TCPProxy``); an app in ``refusing`` (a test hook) gets the websocket closed with 1013, as
the manager closes it when the app's port refuses the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

#: The apps every running session lists.
APPS: list[dict[str, Any]] = [
    {"name": "jupyter", "protocol": "http", "ports": [8081]},
    {"name": "ttyd", "protocol": "tcp", "ports": [7681]},
]


def page(session: str, app: str) -> bytes:
    return f"<html><body><h1>{session}:{app}</h1></body></html>\n".encode()


@dataclass
class AppService:
    """The TCP service standing in for one session's apps."""

    session: str
    server: asyncio.Server | None = None
    port: int = 0
    connections: int = 0
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 with keep-alive: each ``GET /APP...`` answers that app's page."""
        self.connections += 1
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                parts = line.split()
                target = parts[1] if len(parts) > 1 else "/"
                app = target.strip("/").split("/")[0] or "jupyter"
                body = page(self.session, app)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)


class AppProxies:
    """The apps routes of the emulator, and each session's service."""

    def __init__(self) -> None:
        self.services: dict[str, AppService] = {}
        #: Test hook: apps whose service refuses connections (the manager then closes the
        #: websocket with 1013 "try again later", as its ``TCPProxy`` does).
        self.refusing: set[str] = set()

    def listing(self) -> list[dict[str, Any]]:
        return [dict(app, ports=list(app["ports"])) for app in APPS]

    async def service(self, session_id: str, session_name: str) -> AppService:
        service = self.services.get(session_id)
        if service is None:
            service = self.services[session_id] = AppService(session_name)
            await service.start()
        return service

    async def close_session(self, session_id: str) -> None:
        service = self.services.pop(session_id, None)
        if service is not None:
            await service.close()

    async def close(self) -> None:
        for session_id in list(self.services):
            await self.close_session(session_id)

    async def proxy(
        self,
        request: web.Request,
        session_id: str,
        session_name: str,
        problem: Any,
        opened: Any,
        closed: Any,
    ) -> web.WebSocketResponse:
        """The ``tcpproxy`` stream; ``problem(status, slug, msg)`` makes an error answer;
        ``opened(ws)`` / ``closed(ws)`` tell the emulator (its drop hook)."""
        name = request.query.get("app") or request.query.get("service")
        if not name:
            raise problem(400, "invalid-api-params", "app is missing")
        app = next((a for a in APPS if a["name"] == name), None)
        if app is None:
            raise problem(404, "app-not-found", f"{session_name}:{name}")
        port = request.query.get("port")
        if port is not None:
            if not port.isdigit() or not 1024 <= int(port) <= 65535:
                raise problem(400, "invalid-api-params", f"invalid port: {port}")
            if int(port) not in app["ports"]:
                raise problem(
                    400,
                    "invalid-api-params",
                    f"Service {name} does not open the port number {port}.",
                )
        service = await self.service(session_id, session_name)
        ws = web.WebSocketResponse(autoping=False, max_msg_size=16 << 20)
        await ws.prepare(request)
        if name in self.refusing:  # the manager's TCPProxy: the app's port refused
            await ws.close(code=1013, message=b"the app refused the connection")
            return ws
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        opened(ws)

        async def downstream() -> None:  # the service -> the client
            while data := await reader.read(65536):
                await ws.send_bytes(data)
            await ws.close()

        down = asyncio.create_task(downstream())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    writer.write(msg.data)
                    await writer.drain()
                elif msg.type == WSMsgType.TEXT:
                    writer.write(msg.data.encode())
                    await writer.drain()
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            down.cancel()
            with contextlib.suppress(BaseException):
                await down
            writer.close()
            closed(ws)
            with contextlib.suppress(Exception):
                await ws.close()
        return ws
