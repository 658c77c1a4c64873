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
gets the empty answer; a reply that arrives later is dropped.
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

    def feed(self, msg: Message) -> bool:
        """Take ``msg`` if it answers one of our requests (True); else leave it (False)."""
        if not self._pending or msg.channel not in ("shell", "control"):
            return False
        future = self._pending.get(msg.parent_id or "")
        if future is None or not msg.msg_type.endswith("_reply"):
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
        msg_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        try:
            async with asyncio.timeout(budget):
                await self._sender.send_request(channel, msg_type, msg_id, content)
                return await future
        except TimeoutError:
            log.info("%s on %s: no reply within %g s", msg_type, channel, budget)
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
