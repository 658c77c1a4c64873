"""Completion and inspection requests to a kernel, and their replies.

A :class:`KernelRequests` sends ``complete_request`` / ``inspect_request`` through the
kernel's transport and matches each reply to its request by ``parent_header.msg_id``.
While no run executes they go on the shell channel; while a run is busy, shell would
queue them behind it, so they go on the control channel (ipykernel 6 and later answer
there, in their own thread). Only ``*_reply`` messages on shell or control are taken:
the ``status: busy`` / ``idle`` that a kernel publishes on IOPub for a control request
is never the kernel's execution state, and is left to the run core (which ignores it,
its parent not being a run's).

A request that gets no reply within its budget (100 ms while busy, 1 s while idle)
gets the empty answer; its reply, when it comes, is dropped. Until it comes (or
:data:`LATE_S` passed), no other request is sent on that channel: the kernel answers
them one at a time, so they would only queue behind it (a fresh kernel's first
completion loads jedi, which can take seconds), and on control they would delay an
interrupt sent as a message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Protocol

from runbridge.backends.kernel.transport import Message
from runbridge.model import (
    NO_INSPECTION,
    CompletionMatch,
    Completions,
    Inspection,
    no_completions,
)

log = logging.getLogger(__name__)

#: How long an answer may take while the kernel is idle (shell) or busy (control).
IDLE_BUDGET_S = 1.0
BUSY_BUDGET_S = 0.1
#: How long a request that got no reply keeps its channel from being asked again.
LATE_S = 30.0
#: The most matches taken from one reply.
MAX_MATCHES = 500


class RequestSender(Protocol):
    async def send_request(
        self, channel: str, msg_type: str, msg_id: str, content: dict[str, Any]
    ) -> None:
        """Send a ``msg_type`` request with this ``msg_id`` on ``channel`` (``shell`` or
        ``control``)."""


class KernelRequests:
    """The completion and inspection requests in flight to one kernel."""

    idle_budget_s = IDLE_BUDGET_S
    busy_budget_s = BUSY_BUDGET_S

    def __init__(self, sender: RequestSender) -> None:
        self._sender = sender
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        #: Per channel: (msg_id, when) of a request that got no reply in its budget.
        self._late: dict[str, tuple[str, float]] = {}

    def feed(self, msg: Message) -> bool:
        """Take ``msg`` if it answers one of our requests (True); else leave it (False)."""
        if msg.channel not in ("shell", "control") or not (self._pending or self._late):
            return False
        parent = msg.parent_id or ""
        if not msg.msg_type.endswith("_reply"):
            return False
        for channel, (late_id, _) in list(self._late.items()):
            if late_id == parent:
                del self._late[channel]
                return True
        future = self._pending.get(parent)
        if future is None:
            return False
        if not future.done():
            future.set_result(msg.content)
        return True

    async def ask(
        self, msg_type: str, content: dict[str, Any], busy: bool
    ) -> dict[str, Any] | None:
        """The reply's content, or None (no reply within the budget, or it could not be
        sent)."""
        channel, budget = ("control", self.busy_budget_s) if busy else ("shell", self.idle_budget_s)
        loop = asyncio.get_running_loop()
        late = self._late.get(channel)
        if late is not None:
            if loop.time() - late[1] < LATE_S:
                return None  # the kernel still works on an earlier one
            del self._late[channel]
        msg_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[msg_id] = future
        sent = False
        try:
            async with asyncio.timeout(budget):
                await self._sender.send_request(channel, msg_type, msg_id, content)
                sent = True
                return await future
        except TimeoutError:
            log.info("%s on %s: no reply within %g s", msg_type, channel, budget)
            if sent:
                self._late[channel] = (msg_id, loop.time())
            return None
        except Exception as exc:  # a transport that cannot send now: the empty answer
            log.info("%s on %s could not be sent: %s", msg_type, channel, exc)
            return None
        finally:
            self._pending.pop(msg_id, None)

    async def complete(self, code: str, cursor: int, busy: bool) -> Completions:
        reply = await self.ask("complete_request", {"code": code, "cursor_pos": cursor}, busy)
        return completions_of(reply, cursor)

    async def inspect(self, code: str, cursor: int, detail: int, busy: bool) -> Inspection:
        content = {"code": code, "cursor_pos": cursor, "detail_level": detail}
        return inspection_of(await self.ask("inspect_request", content, busy))

    def cancel_all(self) -> None:
        """The kernel is gone or restarting: every request in flight gets the empty answer."""
        for future in self._pending.values():
            if not future.done():
                future.set_result({})
        self._late.clear()


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def completions_of(reply: dict[str, Any] | None, cursor: int) -> Completions:
    """A ``complete_reply``'s content as :class:`Completions` (empty when it failed)."""
    if not reply or reply.get("status") != "ok":
        return no_completions(cursor)
    start = _int(reply.get("cursor_start"), cursor)
    end = _int(reply.get("cursor_end"), cursor)
    raw = reply.get("matches")
    names = [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else []
    metadata = reply.get("metadata")
    typed: dict[str, dict[str, Any]] = {}
    if isinstance(metadata, dict):
        entries = metadata.get("_jupyter_types_experimental")
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("text"), str):
                    typed.setdefault(entry["text"], entry)
    matches: list[CompletionMatch] = []
    seen: set[str] = set()
    for name in names[:MAX_MATCHES]:
        if name in seen:
            continue
        seen.add(name)
        entry = typed.get(name, {})
        kind = entry.get("type")
        signature = entry.get("signature")
        matches.append(
            CompletionMatch(
                name,
                kind if isinstance(kind, str) and kind != "<unknown>" else None,
                signature if isinstance(signature, str) else "",
            )
        )
    return Completions(start, end, matches)


def inspection_of(reply: dict[str, Any] | None) -> Inspection:
    """An ``inspect_reply``'s content as an :class:`Inspection`."""
    if not reply or reply.get("status") != "ok" or not reply.get("found"):
        return NO_INSPECTION
    data = reply.get("data")
    text = data.get("text/plain") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        return NO_INSPECTION
    return Inspection(True, text)
