"""A light JSON-RPC client of the session host, for the ``runbridge`` commands.

It speaks the same protocol as an editor over the host's socket
(:mod:`runbridge.host_socket`): ``initialize``, requests with ids, the host's
notifications handed to handlers, the host's requests (``runbridge/input``,
``window/workDoneProgress/create``) answered by handlers (``null`` for a method
without one), and ``shutdown`` then ``exit`` to leave (the sessions stay in the
host). Standard library only: a command must not wait for pygls to import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runbridge import PROTOCOL_VERSION, __version__, host_socket
from runbridge.private_folders import UnsafeFolder

log = logging.getLogger(__name__)

#: A request cancelled by ``$/cancelRequest`` is answered with this code.
REQUEST_CANCELLED = -32800

NotificationHandler = Callable[[Any], None]
RequestHandler = Callable[[Any], Awaitable[Any]]


class HostError(Exception):
    """The host answered a request with an error (or the connection ended first)."""

    def __init__(self, message: str, code: int = 0, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data


class HostClient:
    """One connection to the host; build it with :meth:`open`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer_pid: int | None = None,
    ) -> None:
        #: The host's process id (None where the system does not say).
        self.peer_pid = peer_pid
        self._reader = reader
        self._writer = writer
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.notifications: dict[str, NotificationHandler] = {}
        self.requests: dict[str, RequestHandler] = {}
        #: Set when the host closed the connection.
        self.closed = asyncio.Event()
        self._reading = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def open(cls, sock: socket.socket) -> HostClient:
        pid = _peer_pid(sock)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 26)
        return cls(reader, writer, pid)

    # -- sending ------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
        self._writer.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))

    def send_request(self, method: str, params: Any = None) -> tuple[int, asyncio.Future[Any]]:
        """Send a request; its id and the future of its result (a :class:`HostError`
        when the host answers with an error)."""
        self._next_id += 1
        msg_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.closed.is_set():
            future.set_exception(HostError("the runbridge host closed the connection"))
            return msg_id, future
        self._pending[msg_id] = future
        self._send({"id": msg_id, "method": method, "params": {} if params is None else params})
        return msg_id, future

    async def request(self, method: str, params: Any = None) -> Any:
        _, future = self.send_request(method, params)
        await self._writer.drain()
        return await future

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"method": method, "params": {} if params is None else params})

    def cancel(self, msg_id: int) -> None:
        """``$/cancelRequest`` for request ``msg_id``."""
        self.notify("$/cancelRequest", {"id": msg_id})

    # -- the lifecycle ------------------------------------------------------------
    async def initialize(self, options: dict[str, Any] | None = None) -> Any:
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "clientInfo": {"name": "runbridge-cli", "version": __version__},
            "capabilities": {"experimental": {"runbridgeProtocol": PROTOCOL_VERSION}},
        }
        if options:
            params["initializationOptions"] = options
        result = await self.request("initialize", params)
        self.notify("initialized", {})
        return result

    async def close(self) -> None:
        """``shutdown``, then ``exit`` once it is answered; the sessions stay in the host."""
        if not self.closed.is_set():
            with contextlib.suppress(HostError, ConnectionError, OSError):
                async with asyncio.timeout(10):
                    await self.request("shutdown")
                    self.notify("exit")
                    await self._writer.drain()
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._reading.cancel()
        with contextlib.suppress(BaseException):
            await self._reading

    # -- reading ------------------------------------------------------------------
    async def _read_message(self) -> dict[str, Any] | None:
        length = -1
        while True:
            line = await self._reader.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                if length >= 0:
                    break
                continue
            name, _, value = line.decode("ascii", "replace").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        message = json.loads(await self._reader.readexactly(length))
        return message if isinstance(message, dict) else {}

    async def _read_loop(self) -> None:
        failure: Exception = HostError("the runbridge host closed the connection")
        try:
            while (message := await self._read_message()) is not None:
                try:
                    self._dispatch(message)
                except Exception as exc:  # a handler failed (stdout closed, a full disk)
                    failure = exc
                    break
        except (ConnectionError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
            log.debug("reading from the host ended: %s", exc)
        finally:
            self.closed.set()
            for future in self._pending.values():  # what waits on the host fails with it
                if not future.done():
                    future.set_exception(failure)
            self._pending.clear()

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:  # a response
            future = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
            if future is None or future.done():
                return
            error = message.get("error")
            if isinstance(error, dict):
                future.set_exception(
                    HostError(
                        str(error.get("message", "error")),
                        int(error.get("code", 0)),
                        error.get("data"),
                    )
                )
            else:
                future.set_result(message.get("result"))
        elif "id" in message:  # a request of the host
            task = asyncio.ensure_future(self._answer(message["id"], method, message.get("params")))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            handler = self.notifications.get(method)
            if handler is not None:
                handler(message.get("params"))

    async def _answer(self, msg_id: Any, method: str, params: Any) -> None:
        handler = self.requests.get(method)
        result = None
        if handler is not None:
            try:
                result = await handler(params)
            except Exception:
                log.exception("answering the host's %s", method)
        if not self.closed.is_set():
            self._send({"id": msg_id, "result": result})
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.drain()


async def connect(start: bool = True) -> HostClient | None:
    """A connection to this user's host, initialized; started when none runs and
    ``start``, else None. Raises :class:`HostError` when it cannot be reached."""
    path = host_socket.socket_path()
    sock = await asyncio.to_thread(_socket, path, start)
    if sock is None:
        return None
    client = await HostClient.open(sock)
    try:
        # no initializationOptions: the host's settings are its own, shared by every client
        await client.initialize()
    except BaseException:
        await client.close()
        raise
    return client


def _peer_pid(sock: socket.socket) -> int | None:
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    pid, _uid, _gid = struct.unpack("3i", creds)
    return int(pid) or None


def _socket(path: Path, start: bool) -> socket.socket | None:
    try:
        if start:
            return host_socket.connect_or_start(path)
        return host_socket.connect(path)
    except host_socket.HostUnavailable as exc:
        raise HostError(str(exc)) from None
    except (UnsafeFolder, OSError) as exc:  # connect(): an unsafe folder or socket
        raise HostError(f"cannot reach the runbridge host: {exc}") from None
