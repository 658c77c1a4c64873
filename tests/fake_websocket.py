"""A websocket's client side, faked for driving a terminal pump in-process."""

from __future__ import annotations

import asyncio


class FakeWebSocket:
    """Serves ``frames`` (one per loop step), then waits until closed by either side:
    :meth:`close` (ours) or :meth:`hang_up` (the server's, optionally failing the read
    with ``error``). Records what is sent and how often it was closed."""

    def __init__(self, frames: list[str | bytes] | None = None) -> None:
        self.frames = list(frames or [])
        self.sent: list[str] = []
        self.closed = asyncio.Event()
        self.close_calls = 0
        self._error: BaseException | None = None

    def __aiter__(self) -> FakeWebSocket:
        return self

    async def __anext__(self) -> str | bytes:
        if self.frames:
            await asyncio.sleep(0)
            return self.frames.pop(0)
        await self.closed.wait()
        if self._error is not None:
            raise self._error
        raise StopAsyncIteration

    def hang_up(self, error: BaseException | None = None) -> None:
        self._error = error
        self.closed.set()

    async def send(self, frame: str) -> None:
        self.sent.append(frame)

    async def close(self) -> None:
        self.close_calls += 1
        self.closed.set()
