"""A terminal whose shell runs on a server, pumped over a websocket.

Both remote backends open a shell on their server and talk to it through one
websocket; only the frames differ (JSON arrays on Jupyter, JSON objects with base64
on Backend.AI). :class:`WebSocketTerminal` is the pump, given the protocol's
:class:`TerminalFrames`:

* ``start`` queues a resize to the editor's size, then starts a reader, a writer
  and, given a ``keepalive`` (frame, seconds), a task queueing that frame every so
  many seconds;
* the writer sends queued frames (the resize, input, resizes, pings) in order, one
  at a time; input and resizes after the terminal ended are dropped;
* the reader hands each frame to :meth:`TerminalFrames.read`: text goes to
  ``on_output`` as it is, bytes are decoded as UTF-8 incrementally (a character
  split across frames is never mangled; undecodable bytes become U+FFFD);
* the stream ends when the server says the shell is gone, when the socket closes,
  or when reading fails (logged): the bytes still held are decoded, the other
  tasks stopped, the socket closed, ``on_end`` awaited (e.g. delete the PTY on the
  server), then ``on_exit(None)`` called once: no websocket protocol reports the
  shell's exit status;
* ``close`` stops the tasks, awaits ``on_end``, closes the socket and calls
  ``on_exit(None)`` (once, whichever comes first);
* given a ``reconnect`` coroutine, a socket that *drops* (closed with no close frame
  from the server: a lost connection, not the shell's end) is replaced by the one it
  returns (:class:`Reconnected`): the terminal's size is sent again, its line shown,
  and the reader goes on; input typed meanwhile is dropped. When it returns text
  instead (the session is gone, or it gave up), that text is shown and the terminal
  ends.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import enum
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from runbridge.backends.base import TerminalExit, TerminalOutput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconnected:
    """A new socket for a terminal whose socket dropped, and a line to show about it."""

    ws: Any
    line: str = ""


#: Gives a terminal whose socket dropped a new one, or the text that ends it.
Reconnect = Callable[[], Awaitable[Reconnected | str]]


class Frame(enum.Enum):
    #: The server said the shell is gone.
    EXIT = "exit"


class TerminalFrames(Protocol):
    """One terminal protocol's frames."""

    def stdin(self, data: str) -> str:
        """The frame carrying what the user typed."""
        ...

    def resize(self, rows: int, cols: int) -> str:
        """The frame giving the terminal's size."""
        ...

    def read(self, frame: str | bytes) -> str | bytes | Literal[Frame.EXIT] | None:
        """What a server frame holds: text to show, output bytes (UTF-8), the shell's
        end, or None (a frame of no interest, or not one of the protocol's)."""
        ...


class WebSocketTerminal:
    """One open terminal; implements :class:`runbridge.backends.base.Terminal`."""

    def __init__(
        self,
        ws: Any,
        frames: TerminalFrames,
        on_output: TerminalOutput,
        on_exit: TerminalExit,
        *,
        label: str,
        on_end: Callable[[], Awaitable[None]] | None = None,
        keepalive: tuple[str, float] | None = None,
        reconnect: Reconnect | None = None,
    ) -> None:
        self._ws = ws
        self._frames = frames
        self._on_output = on_output
        self._on_exit = on_exit
        #: How logs and task names call it ("Jupyter terminal 1").
        self.label = label
        self._on_end = on_end
        self._keepalive_every = keepalive
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._exited = False
        self._ended = False
        self._reconnect = reconnect
        self._size = (24, 80)

    @property
    def exited(self) -> bool:
        """True once ``on_exit`` has been called."""
        return self._exited

    def start(self, rows: int, cols: int) -> None:
        self._size = (rows, cols)
        self._outbox.put_nowait(self._frames.resize(rows, cols))
        self._tasks = [
            asyncio.create_task(self._read(), name=f"{self.label}: read"),
            asyncio.create_task(self._write(), name=f"{self.label}: write"),
        ]
        if self._keepalive_every is not None:
            frame, interval = self._keepalive_every
            self._tasks.append(
                asyncio.create_task(self._keepalive(frame, interval), name=f"{self.label}: ping")
            )

    # -- Terminal ----------------------------------------------------------------
    def write(self, data: str) -> None:
        if not self._exited and data:
            self._outbox.put_nowait(self._frames.stdin(data))

    def resize(self, rows: int, cols: int) -> None:
        if not self._exited:
            self._size = (rows, cols)
            self._outbox.put_nowait(self._frames.resize(rows, cols))

    async def close(self) -> None:
        """End the shell (``on_end``) and close the socket."""
        self._stop_tasks()
        await self._end()
        with contextlib.suppress(Exception):
            await self._ws.close()
        await self._exit()

    # -- internals -----------------------------------------------------------------
    async def _read(self) -> None:
        while not await self._pump() and self._reconnect is not None:
            replacement = await self._reconnect()
            if isinstance(replacement, str):
                self._on_output(replacement)
                break
            self._ws = replacement.ws
            self._outbox.put_nowait(self._frames.resize(*self._size))
            if replacement.line:
                self._on_output(replacement.line)
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._on_output(tail)
        self._stop_tasks()
        with contextlib.suppress(Exception):
            await self._ws.close()
        await self._end()
        await self._exit()

    async def _pump(self) -> bool:
        """Read the socket's frames; True when the stream ended (the shell, the server),
        False when the socket dropped (no close frame came)."""
        try:
            async for frame in self._ws:
                item = self._frames.read(frame)
                if item is Frame.EXIT:
                    return True
                if isinstance(item, bytes):
                    item = self._decoder.decode(item)
                if item:
                    self._on_output(item)
        except ConnectionClosedError as exc:
            return exc.rcvd is not None
        except ConnectionClosed:
            return True
        except Exception:
            log.exception("%s: stream failed", self.label)
            return self._reconnect is None
        return True

    async def _write(self) -> None:
        while True:
            frame = await self._outbox.get()
            try:
                await self._ws.send(frame)
            except ConnectionClosed:
                if self._reconnect is None:
                    return
                # dropped: the reader replaces the socket; this frame (input typed
                # meanwhile, a resize, a ping) is lost

    async def _keepalive(self, frame: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._outbox.put_nowait(frame)

    def _stop_tasks(self) -> None:
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    async def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self._on_end is not None:
            await self._on_end()

    async def _exit(self) -> None:
        if self._exited:
            return
        self._exited = True
        result: Any = self._on_exit(None)
        if inspect.isawaitable(result):
            await result
