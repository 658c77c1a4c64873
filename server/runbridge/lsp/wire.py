"""The wire: LSP base-protocol frames in and out, and the checks made before pygls.

Both transports (the daemon's stdio and the shared daemon's Unix socket) use
this module, so a peer gets the same answers on either:

- :class:`FrameReader` reads ``Content-Length`` frames. A framing error (a
  length that is not a byte count, a header line without a colon or longer than
  :data:`MAX_HEADER_LINE`, a header block without ``Content-Length``) is logged
  and the reader skips to the next ``Content-Length:`` header line; valid JSON
  can never hold one (a raw line break cannot appear in a JSON string), so the
  stream recovers at the next well-formed message. A message over
  :data:`MAX_MESSAGE_BYTES` is skipped the same way and refused with -32600.
- :func:`check` is what JSON-RPC 2.0 and LSP require of a message: an object
  with ``"jsonrpc": "2.0"``, an integer or string id, a string method. Not JSON
  is answered -32700, anything else that is not a request -32600, both with
  ``id: null`` when the id cannot be trusted; nothing of it reaches pygls.
- :class:`FrameWriter` frames the daemon's messages; those written in one loop
  iteration go out in one system call. It blocks like a pipe: a peer that stops
  reading holds the daemon (and, through the kernel's flow control, the code
  that prints), never the daemon's memory. On a socket, a peer that reads
  nothing for ``stall_s`` seconds is disconnected.
- :func:`serve` is the read loop of one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import logging
import os
import re
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from runbridge.errors import quote

log = logging.getLogger(__name__)

#: The largest message the daemon reads (code cells are the largest: far below this).
MAX_MESSAGE_BYTES: Final = 64 << 20
#: The longest header line, and the most header lines in one frame.
MAX_HEADER_LINE: Final = 8192
MAX_HEADER_LINES: Final = 32
#: Ids and method names longer than this are refused (they are echoed in replies).
MAX_ID_CHARS: Final = 256
MAX_METHOD_CHARS: Final = 256
_READ_CHUNK = 1 << 20
#: Queued output past this is written at once instead of at the end of the loop iteration.
FLUSH_NOW_BYTES: Final = 4 << 20
#: Where reading resumes after a framing error: a Content-Length header line.
_RESYNC = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]{1,12}[ \t]*\r?\n", re.IGNORECASE)
#: Bytes kept while scanning for it, so a header split between two reads is found.
_RESYNC_TAIL = 64

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603


class FramingError(Exception):
    """The stream is not LSP base-protocol frames at this point."""


@dataclass(frozen=True)
class Oversized:
    """A frame whose body is over :data:`MAX_MESSAGE_BYTES` (it was skipped)."""

    length: int


class FrameReader:
    """Message bodies from a byte stream, recovering from framing errors."""

    def __init__(
        self, stream: asyncio.StreamReader, on_error: Callable[[str], None], first: bytes = b""
    ) -> None:
        """``first``: bytes already read from ``stream``."""
        self._stream = stream
        self._on_error = on_error
        self._buf = bytearray(first)
        self._pos = 0
        #: After a framing error or an oversized frame: skip to the next header first.
        self._skip_body = False
        #: Where the header block being read began in the buffer.
        self._block_start = 0

    async def next(self) -> bytes | Oversized | None:
        """The next body, an :class:`Oversized` frame, or None at the end of the stream.

        An oversized frame is reported at once; its body is skipped on the next call.
        """
        while True:
            if self._skip_body and not await self._resync():
                return None
            self._skip_body = False
            try:
                length = await self._headers()
            except FramingError as exc:
                self._on_error(str(exc))
                # look again from just after where the bad block began: a header line
                # glued to junk ("junk}Content-Length: 52") is found, not skipped
                self._pos = min(self._block_start + 1, len(self._buf))
                self._skip_body = True
                continue
            if length is None:
                return None
            if length > MAX_MESSAGE_BYTES:
                self._skip_body = True
                return Oversized(length)
            return await self._exactly(length)

    # -- buffer ------------------------------------------------------------------
    async def _fill(self) -> bool:
        chunk = await self._stream.read(_READ_CHUNK)
        if not chunk:
            return False
        drop = min(self._pos, self._block_start)  # keep the header block being read
        if drop:
            del self._buf[:drop]
            self._pos -= drop
            self._block_start -= drop
        self._buf += chunk
        return True

    async def _line(self) -> bytes | None:
        """One header line with its line break; None at the end of the stream."""
        while True:
            end = self._buf.find(b"\n", self._pos)
            if end >= 0:
                if end + 1 - self._pos > MAX_HEADER_LINE:
                    raise FramingError(f"a header line longer than {MAX_HEADER_LINE} bytes")
                line = bytes(self._buf[self._pos : end + 1])
                self._pos = end + 1
                return line
            if len(self._buf) - self._pos > MAX_HEADER_LINE:
                raise FramingError(f"a header line longer than {MAX_HEADER_LINE} bytes")
            if not await self._fill():
                return None

    async def _exactly(self, n: int) -> bytes | None:
        while len(self._buf) - self._pos < n:
            if not await self._fill():
                return None
        with memoryview(self._buf) as view:
            body = bytes(view[self._pos : self._pos + n])
        self._pos += n
        if self._pos == len(self._buf) or n >= _READ_CHUNK:
            # a large body leaves a large buffer behind: give its memory back
            self._buf = bytearray(self._buf[self._pos :])
            self._pos = self._block_start = 0
        return body

    async def _headers(self) -> int | None:
        """The Content-Length of the next frame (its header block read), None at the end."""
        length: int | None = None
        count = 0
        while True:
            if count == 0:
                self._block_start = self._pos
            line = await self._line()
            if line is None:
                return None
            if line in (b"\r\n", b"\n"):
                if count == 0:
                    continue  # blank lines between frames: harmless
                break
            count += 1
            if count > MAX_HEADER_LINES:
                raise FramingError(f"a header block of more than {MAX_HEADER_LINES} lines")
            name, colon, value = line.partition(b":")
            if not colon:
                raise FramingError(f"a header line without a colon: {_shown(line)}")
            if name.strip().lower() == b"content-length":
                text = value.strip()
                if not (text.isdigit() and len(text) <= 12):
                    raise FramingError(f"Content-Length {_shown(text)} is not a byte count")
                length = int(text)
        if length is None:
            raise FramingError("a header block without Content-Length")
        return length

    async def _resync(self) -> bool:
        """Skip to the next Content-Length header line; False at the end of the stream."""
        while True:
            found = _RESYNC.search(self._buf, self._pos)
            if found is not None:
                self._pos = self._block_start = found.start()
                return True
            # keep only a tail that could be the start of a header split between reads
            self._pos = self._block_start = max(self._pos, len(self._buf) - _RESYNC_TAIL)
            if not await self._fill():
                return False


def _shown(data: bytes) -> str:
    return quote(data.decode("utf-8", "replace").rstrip("\r\n"), 60)


# -- checks -----------------------------------------------------------------------------


class Refused(Exception):
    """A message answered with an error by the wire itself, before pygls sees it."""

    def __init__(self, code: int, message: str, msg_id: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.msg_id = msg_id


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(body: bytes) -> Any:
    """A message body as JSON; :class:`Refused` (-32700) when it is not UTF-8 JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(PARSE_ERROR, f"the message is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise Refused(PARSE_ERROR, "the message is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise Refused(PARSE_ERROR, f"the message is not valid JSON: {quote(str(exc))}") from None


def valid_id(value: Any) -> bool:
    """An id LSP allows: an integer (64-bit) or a string (at most 256 characters)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and len(value) <= MAX_ID_CHARS


@dataclass(frozen=True)
class Checked:
    """A message that is a request, a notification or a response."""

    kind: str  # "request", "notification", "response"
    data: dict[str, Any]
    msg_id: int | str | None
    method: str


def check(message: Any) -> Checked:
    """What JSON-RPC 2.0 and LSP require of ``message``, or :class:`Refused` (-32600)."""
    if isinstance(message, list):
        raise Refused(INVALID_REQUEST, "batches (JSON arrays) are not supported: send objects")
    if not isinstance(message, dict):
        kind = "null" if message is None else type(message).__name__
        raise Refused(INVALID_REQUEST, f"a message must be a JSON object, not {kind}")
    has_id = "id" in message
    msg_id = message.get("id")
    if has_id and not valid_id(msg_id):
        raise Refused(
            INVALID_REQUEST,
            "'id' must be an integer or a string of at most "
            f"{MAX_ID_CHARS} characters, not {_type_of(msg_id)}",
        )
    good_id = msg_id if has_id else None
    if message.get("jsonrpc") != "2.0":
        raise Refused(INVALID_REQUEST, "'jsonrpc' must be \"2.0\"", good_id)
    if "method" in message:
        method = message["method"]
        if not isinstance(method, str):
            raise Refused(
                INVALID_REQUEST, f"'method' must be a string, not {_type_of(method)}", good_id
            )
        if len(method) > MAX_METHOD_CHARS:
            raise Refused(-32601, f"method not found: {quote(method)}", good_id)
        return Checked("request" if has_id else "notification", message, good_id, method)
    if has_id and ("result" in message or "error" in message):
        return Checked("response", message, good_id, "")
    raise Refused(
        INVALID_REQUEST,
        "a message needs a 'method' (or an 'id' and a 'result' or 'error')",
        good_id,
    )


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, int | float):
        return f"the number {quote(str(value), 30)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


# -- writing ----------------------------------------------------------------------------


def framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


class FrameWriter:
    """pygls' writer on a file descriptor; see the module docstring.

    ``stall_s`` None: writes block (stdio: the editor owns the pipe, as ever).
    Else the descriptor is non-blocking and a peer that takes no byte for
    ``stall_s`` seconds is given up: ``on_stall`` is called and later messages are
    dropped. A peer that is gone (broken pipe, reset) is given up the same way,
    quietly. Never raises: the code that writes (a run's output) must go on.
    """

    def __init__(
        self,
        fd: int,
        *,
        stall_s: float | None = None,
        on_stall: Callable[[], None] | None = None,
        label: str = "editor",
    ) -> None:
        self._fd = fd
        self._stall_s = stall_s
        self._on_stall = on_stall
        self._label = label
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._scheduled = False
        self.broken = False
        if stall_s is not None:
            os.set_blocking(fd, False)

    def write(self, data: bytes) -> None:
        if self.broken:
            return
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_NOW_BYTES:
            # a task that never yields (a kernel flooding its output) would starve the
            # scheduled flush and pile up messages: write now, blocking like a pipe
            self.flush()
            return
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (last words at exit): write now
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write everything queued, now."""
        self._scheduled = False
        self._pending_bytes = 0
        if not self._pending or self.broken:
            self._pending.clear()
            return
        data = b"".join(self._pending)
        self._pending.clear()
        try:
            self._write_all(data)
        except OSError as exc:  # the peer is gone
            self._give_up(f"the {self._label} connection is gone ({exc.strerror or exc})")

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        last_progress = time.monotonic()
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                written = 0
            if written:
                view = view[written:]
                last_progress = time.monotonic()
                continue
            assert self._stall_s is not None  # blocking descriptors do not get here
            waited = time.monotonic() - last_progress
            if waited >= self._stall_s:
                self._give_up(
                    f"the {self._label} read nothing for {self._stall_s:g} s while the daemon "
                    f"had {len(view)} bytes for it: disconnecting it"
                )
                if self._on_stall is not None:
                    self._on_stall()
                return
            poller = select.poll()
            poller.register(self._fd, select.POLLOUT)
            poller.poll(max(1, int(min(1.0, self._stall_s - waited) * 1000)))

    def _give_up(self, why: str) -> None:
        if not self.broken:
            self.broken = True
            log.warning("%s", why)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.flush()
        self.broken = True
        with contextlib.suppress(OSError):
            os.close(self._fd)


# -- the read loop ------------------------------------------------------------------------


def error_reply(msg_id: int | str | None, code: int, message: str) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}},
        ensure_ascii=False,
    )


@runtime_checkable
class Receiver(Protocol):
    """Where checked messages go (the LSP protocol object of one connection)."""

    def send_json(self, text: str) -> None: ...

    def receive(self, checked: Checked) -> None: ...


async def serve(
    proto: Receiver, stream: asyncio.StreamReader, label: str, first: bytes = b""
) -> None:
    """Read ``stream`` until it ends, handing each checked message to ``proto``
    (``first``: bytes already read from it)."""

    def framing_error(why: str) -> None:
        log.warning("framing error on the %s: %s; skipped to the next message", label, why)

    reader = FrameReader(stream, framing_error, first)
    while True:
        body = await reader.next()
        if body is None:
            return
        if isinstance(body, Oversized):
            log.warning(
                "a message of %d bytes on the %s was skipped: over the %d-byte limit",
                body.length,
                label,
                MAX_MESSAGE_BYTES,
            )
            proto.send_json(
                error_reply(
                    None,
                    INVALID_REQUEST,
                    f"a message of {body.length} bytes is over the daemon's limit of "
                    f"{MAX_MESSAGE_BYTES} bytes; it was skipped",
                )
            )
            continue
        try:
            checked = check(parse(body))
        except Refused as refused:
            log.warning("refused a message on the %s: %s", label, refused.message)
            proto.send_json(error_reply(refused.msg_id, refused.code, refused.message))
        else:
            proto.receive(checked)
        if len(body) >= _READ_CHUNK:
            _give_memory_back_soon()


_trim_timer: asyncio.TimerHandle | None = None


def _give_memory_back_soon() -> None:
    """After large messages: return the freed memory to the system once they are handled.

    glibc keeps freed blocks below its (rising) mmap threshold in the heap, so without
    this a few large messages would leave the daemon's RSS high for good.
    """
    global _trim_timer
    if _malloc_trim is None:
        return
    if _trim_timer is not None:
        _trim_timer.cancel()  # 0.2 s after the last one
    _trim_timer = asyncio.get_running_loop().call_later(0.2, _trim)


def _trim() -> None:
    global _trim_timer
    _trim_timer = None
    # a refused large message can stay referenced from an exception's traceback cycle
    # until the cyclic collector runs: collect first, then give the pages back
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_malloc_trim = _find_malloc_trim()
