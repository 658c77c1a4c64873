"""Completion and inspection requests to a kernel, and their replies.

A :class:`KernelRequests` sends ``complete_request`` / ``inspect_request`` through the
kernel's transport and waits for each reply through the core's
:class:`~runbridge.backends.kernel.replies.Replies` (by ``parent_header.msg_id``).
While no run executes they go on the shell channel; while a run is busy, shell would
queue them behind it, so they go on the control channel (ipykernel 6 and later answer
there, in their own thread). Only messages on the request's channel are taken: the
``status: busy`` / ``idle`` that a kernel publishes on IOPub for a control request is
never the kernel's execution state, and is left to the run core (which ignores it, its
parent not being a run's).

A request that gets no reply within its budget (80 ms while busy, 1 s while idle)
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
from typing import Any

from runbridge.backends.kernel.replies import Replies
from runbridge.backends.kernel.transport import KernelTransport, Message
from runbridge.model import (
    NO_INSPECTION,
    CompletionMatch,
    Completions,
    Inspection,
    no_completions,
)

log = logging.getLogger(__name__)

#: How long the kernel may take to answer while it is idle (shell) or busy (control);
#: while busy, 80 ms leaves the daemon room to reply to the editor within 100 ms.
IDLE_BUDGET_S = 1.0
BUSY_BUDGET_S = 0.08
#: How long a request that got no reply keeps its channel from being asked again.
LATE_S = 30.0
#: The most matches taken from one reply.
MAX_MATCHES = 500


class KernelRequests:
    """The completion and inspection requests of one kernel (their replies are waited
    for through the core's :class:`~runbridge.backends.kernel.replies.Replies`)."""

    idle_budget_s = IDLE_BUDGET_S
    busy_budget_s = BUSY_BUDGET_S

    def __init__(self, transport: KernelTransport, replies: Replies) -> None:
        self._transport = transport
        self._replies = replies
        #: Per channel: (msg_id, when) of a request that got no reply in its budget.
        self._late: dict[str, tuple[str, float]] = {}

    def feed(self, msg: Message) -> bool:
        """Take ``msg`` if it is the late reply of one of our requests (True)."""
        if not self._late or msg.channel not in self._late:
            return False
        late_id, _ = self._late[msg.channel]
        if msg.parent_id != late_id or not msg.msg_type.endswith("_reply"):
            return False
        del self._late[msg.channel]
        return True

    async def ask(
        self, msg_type: str, content: dict[str, Any], busy: bool
    ) -> dict[str, Any] | None:
        """The reply's content, or None (no reply within the budget, the channel still
        busy with an earlier request, or the request could not be sent)."""
        channel, budget = ("control", self.busy_budget_s) if busy else ("shell", self.idle_budget_s)
        now = asyncio.get_running_loop().time()
        late = self._late.get(channel)
        if late is not None:
            if now - late[1] < LATE_S:
                return None  # the kernel still works on an earlier one
            del self._late[channel]
        msg_id = uuid.uuid4().hex
        try:
            reply = await self._replies.request(
                self._transport, channel, msg_type, content, budget, msg_id
            )
        except Exception as exc:  # a transport that cannot send now: the empty answer
            log.info("%s on %s could not be sent: %s", msg_type, channel, exc)
            return None
        if reply is None:
            log.info("%s on %s: no reply within %g s", msg_type, channel, budget)
            self._late[channel] = (msg_id, asyncio.get_running_loop().time())
        return reply

    async def complete(self, code: str, cursor: int, busy: bool) -> Completions:
        reply = await self.ask("complete_request", {"code": code, "cursor_pos": cursor}, busy)
        return completions_of(reply, cursor)

    async def inspect(self, code: str, cursor: int, detail: int, busy: bool) -> Inspection:
        content = {"code": code, "cursor_pos": cursor, "detail_level": detail}
        return inspection_of(await self.ask("inspect_request", content, busy))

    def forget(self) -> None:
        """The kernel is gone or restarting: no reply is awaited any more."""
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
