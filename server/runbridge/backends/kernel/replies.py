"""Requests to a kernel that are answered by one reply: waited for by ``msg_id``.

The run core feeds every message here first (:meth:`Replies.resolve`): a message whose
``parent_header.msg_id`` is a pending request's, on the channel that request was sent
on, is its reply. The run's own messages and the kernel's other messages are not
touched. ``status`` on IOPub with such a parent (ipykernel publishes busy and idle for
control requests) is not a reply and not the kernel's execution state either.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from runbridge.backends.kernel.transport import KernelTransport, Message


class Replies:
    """Requests waiting for their reply."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}

    def resolve(self, msg: Message) -> bool:
        """True when ``msg`` is the reply of a pending request (it is taken)."""
        if not self._pending:
            return False
        entry = self._pending.get(msg.parent_id or "")
        if entry is None or entry[0] != msg.channel:
            return False
        future = entry[1]
        if not future.done():
            future.set_result(msg.content)
        return True

    async def request(
        self,
        transport: KernelTransport,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        timeout: float,
        msg_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Send a request on ``channel`` (with ``msg_id``, else a new one); its reply's
        content, or None when none came within ``timeout`` seconds."""
        msg_id = msg_id or uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (channel, future)
        try:
            await transport.send_request(channel, msg_type, content, msg_id)
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(future, timeout)
            return None
        finally:
            self._pending.pop(msg_id, None)
