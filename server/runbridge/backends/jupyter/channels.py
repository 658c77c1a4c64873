"""The kernel channels websocket: framing, routing and reconnects.

``/api/kernels/{id}/channels?session_id=…`` carries the kernel's shell, iopub,
stdin and control messages in one websocket. Two framings exist:

* ``v1.kernel.websocket.jupyter.org`` (offered first; Jupyter Server ≥ 1.13,
  Kernel Gateway, Enterprise Gateway): every message is a binary frame, a
  little-endian uint64 count ``n``, ``n`` uint64 offsets, then the channel name,
  header, parent header, metadata, content and buffers;
* the legacy protocol (chosen when the server picks no subprotocol, e.g. Jupyter
  Server in front of a gateway): a JSON text frame with a ``channel`` key, or, for
  messages with buffers, a binary frame of big-endian uint32 offsets.

:class:`KernelChannels` keeps one such websocket per session. The ``session_id``
is stable for the session's lifetime: when the socket drops, it reconnects with
the same id and the server replays what it buffered meanwhile, so no output is
lost. If the kernel is gone (404) or the server stays unreachable, ``on_lost``
is called once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from runbridge.backends.jupyter.errors import (
    JupyterAuthError,
    JupyterError,
    JupyterNotFound,
)

if TYPE_CHECKING:
    from runbridge.backends.jupyter.client import JupyterClient

log = logging.getLogger(__name__)

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
#: The message protocol version put in our headers.
PROTOCOL_VERSION = "5.3"
#: How long a dropped channels websocket is retried before the session is given up.
RECONNECT_TIMEOUT_S = 30.0
RECONNECT_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


# -- messages -------------------------------------------------------------------------
@dataclass
class KernelMessage:
    channel: str
    header: dict[str, Any]
    parent_header: dict[str, Any]
    metadata: dict[str, Any]
    content: dict[str, Any]
    buffers: list[bytes] = field(default_factory=list)

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @property
    def parent_id(self) -> str | None:
        value = self.parent_header.get("msg_id") if self.parent_header else None
        return str(value) if value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _loads(blob: bytes) -> dict[str, Any]:
    if not blob:
        return {}
    return _dict(json.loads(blob))


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def encode_v1(
    channel: str, header: dict[str, Any], parent: dict[str, Any], content: dict[str, Any]
) -> bytes:
    blobs = [channel.encode(), _dumps(header), _dumps(parent), b"{}", _dumps(content)]
    count = len(blobs) + 1
    offsets = [8 * (1 + count)]
    for blob in blobs:
        offsets.append(offsets[-1] + len(blob))
    return struct.pack(f"<{count + 1}Q", count, *offsets) + b"".join(blobs)


def decode_v1(frame: bytes) -> KernelMessage:
    (count,) = struct.unpack_from("<Q", frame, 0)
    if count < 6 or 8 * (count + 1) > len(frame):
        raise ValueError(f"bad v1 frame ({count} offsets)")
    offsets = struct.unpack_from(f"<{count}Q", frame, 8)
    parts = [frame[offsets[i] : offsets[i + 1]] for i in range(count - 1)]
    return KernelMessage(
        channel=parts[0].decode(),
        header=_loads(parts[1]),
        parent_header=_loads(parts[2]),
        metadata=_loads(parts[3]),
        content=_loads(parts[4]),
        buffers=[bytes(b) for b in parts[5:]],
    )


def encode_legacy(
    channel: str, header: dict[str, Any], parent: dict[str, Any], content: dict[str, Any]
) -> str:
    return json.dumps(
        {
            "channel": channel,
            "header": header,
            "parent_header": parent,
            "metadata": {},
            "content": content,
            "buffers": [],
        },
        default=str,
    )


def decode_legacy(frame: str | bytes) -> KernelMessage:
    buffers: list[bytes] = []
    if isinstance(frame, bytes):  # a message with buffers: uint32 BE count + offsets
        (count,) = struct.unpack_from(">I", frame, 0)
        offsets = [*struct.unpack_from(f">{count}I", frame, 4), len(frame)]
        body: Any = json.loads(frame[offsets[0] : offsets[1]])
        buffers = [frame[offsets[i] : offsets[i + 1]] for i in range(1, count)]
    else:
        body = json.loads(frame)
    body = _dict(body)
    return KernelMessage(
        channel=str(body.get("channel") or ""),
        header=_dict(body.get("header")),
        parent_header=_dict(body.get("parent_header")),
        metadata=_dict(body.get("metadata")),
        content=_dict(body.get("content")),
        buffers=buffers,
    )


def new_header(msg_type: str, session_id: str, username: str) -> dict[str, Any]:
    return {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "session": session_id,
        "username": username,
        "date": datetime.now(UTC).isoformat(),
        "version": PROTOCOL_VERSION,
    }


# -- the connection -----------------------------------------------------------------
class KernelChannels:
    """One kernel's channels websocket, reconnected with the same ``session_id`` when it drops.

    ``on_message`` gets every message from the kernel (in order, across reconnects);
    ``on_lost`` is called once with a reason when the kernel is gone or the server
    cannot be reached again within ``reconnect_timeout``.
    """

    def __init__(
        self,
        client: JupyterClient,
        kernel_id: str,
        session_id: str,
        on_message: Callable[[KernelMessage], None],
        on_lost: Callable[[str], None],
        *,
        username: str = "runbridge",
        reconnect_timeout: float = RECONNECT_TIMEOUT_S,
    ) -> None:
        self.client = client
        self.kernel_id = kernel_id
        self.session_id = session_id
        self.username = username
        self._on_message = on_message
        self._on_lost = on_lost
        self.reconnect_timeout = reconnect_timeout
        #: "v1" or "legacy", known once connected.
        self.protocol: str | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        #: Messages sent while reconnecting, flushed when the socket is back.
        self._pending: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        self._connected = asyncio.Event()
        self._closing = False
        self.lost: str | None = None
        #: How many times the socket was re-established (tests, logs).
        self.reconnects = 0

    @property
    def path(self) -> str:
        return f"/api/kernels/{self.kernel_id}/channels?session_id={self.session_id}"

    async def connect(self) -> None:
        """Open the websocket (raises the mapped error when it cannot) and start reading."""
        await self._open()
        self._reader = asyncio.create_task(self._read_loop(), name=f"channels-{self.kernel_id}")

    async def _open(self) -> None:
        ws = await self.client.ws_connect(
            self.path,
            what=f"connecting to kernel {self.kernel_id}",
            subprotocols=[V1_PROTOCOL],
        )
        self.protocol = "v1" if ws.subprotocol == V1_PROTOCOL else "legacy"
        self._ws = ws
        pending, self._pending = self._pending, []
        try:
            for item in pending:
                await ws.send(self._encode(*item))
        except ConnectionClosed:
            self._pending = pending  # sent again after the next reconnect
        self._connected.set()

    def _encode(
        self, channel: str, header: dict[str, Any], parent: dict[str, Any], content: dict[str, Any]
    ) -> bytes | str:
        if self.protocol == "v1":
            return encode_v1(channel, header, parent, content)
        return encode_legacy(channel, header, parent, content)

    async def send(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        parent: dict[str, Any] | None = None,
        *,
        msg_id: str | None = None,
    ) -> str:
        """Send a message; returns its ``msg_id``. While reconnecting, it is queued.

        Callers that route replies pick ``msg_id`` first, so that no reply can arrive
        before they know the id.
        """
        if self.lost is not None:
            raise JupyterError(self.lost)
        header = new_header(msg_type, self.session_id, self.username)
        if msg_id is not None:
            header["msg_id"] = msg_id
        item = (channel, header, parent or {}, content)
        ws = self._ws
        if ws is None or not self._connected.is_set():
            self._pending.append(item)
        else:
            try:
                await ws.send(self._encode(*item))
            except ConnectionClosed:
                self._pending.append(item)
        return str(header["msg_id"])

    async def _read_loop(self) -> None:
        while not self._closing:
            ws = self._ws
            if ws is not None:
                try:
                    async for frame in ws:
                        self._dispatch(frame)
                except ConnectionClosed:
                    pass
            if self._closing:
                return
            self._connected.clear()
            self._ws = None
            reason = await self._reconnect()
            if reason is not None:
                self.lost = reason
                self._on_lost(reason)
                return

    def _dispatch(self, frame: str | bytes) -> None:
        try:
            if self.protocol == "v1" and isinstance(frame, bytes):
                msg = decode_v1(frame)
            else:
                msg = decode_legacy(frame)
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            log.warning("kernel %s: unreadable message dropped (%s)", self.kernel_id, exc)
            return
        try:
            self._on_message(msg)
        except Exception:
            log.exception("error handling a kernel message")

    async def _reconnect(self) -> str | None:
        """Reconnect with the same session_id; None when back, else why it cannot be."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reconnect_timeout
        attempt = 0
        last = ""
        log.info("kernel %s: channels websocket dropped; reconnecting", self.kernel_id)
        while not self._closing:
            delay = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)]
            attempt += 1
            await asyncio.sleep(delay)
            if self._closing:
                return None
            try:
                await self._open()
            except JupyterNotFound:
                return (
                    f"kernel {self.kernel_id} no longer exists on the {self.client.where} "
                    "(it was shut down, culled or the server restarted)"
                )
            except JupyterAuthError as exc:
                return exc.message
            except JupyterError as exc:
                last = exc.message
                if loop.time() >= deadline:
                    return (
                        f"the connection to kernel {self.kernel_id} was lost and could not be "
                        f"re-established within {self.reconnect_timeout:g} s ({last})"
                    )
                continue
            self.reconnects += 1
            log.info("kernel %s: reconnected (%s)", self.kernel_id, self.protocol)
            return None
        return None

    async def drop(self) -> None:
        """Close the socket without closing the channels (tests: simulates a network drop)."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.transport.abort()

    async def reconnect_now(self) -> None:
        """Start a fresh socket (same session_id), e.g. after a kernel restart."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def close(self) -> None:
        self._closing = True
        self._connected.set()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
