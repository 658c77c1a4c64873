"""Language features from a live session: completion and inspection, never starting one.

A session is asked only when it is open and ``idle`` or ``busy``; any other session
(not open, ``starting``, ``dead``) gets the empty answer at once, so nothing here opens
a session or starts a kernel. The backends keep the time budget (100 ms while a run
is busy, 1 s while idle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbridge.model import (
    NO_INSPECTION,
    Completions,
    Inspection,
    SessionState,
    no_completions,
)

if TYPE_CHECKING:
    from runbridge.backends.base import BackendSession
    from runbridge.sessions.manager import SessionManager

#: The states in which a session is asked.
LIVE = frozenset({SessionState.IDLE, SessionState.BUSY})


def live_backend(manager: SessionManager, name: str) -> BackendSession | None:
    """Session ``name``'s backend session when it is open and running, else None."""
    if not manager.is_open(name):
        return None
    session = manager.get(name)
    if not session.ready.done() or session.info.state not in LIVE:
        return None
    return session.backend


async def complete(manager: SessionManager, name: str, code: str, cursor: int) -> Completions:
    """Session ``name``'s completions at ``cursor`` (a code-point offset into ``code``)."""
    backend = live_backend(manager, name)
    if backend is None:
        return no_completions(cursor)
    return await backend.complete(code, cursor)


async def inspect(
    manager: SessionManager, name: str, code: str, cursor: int, detail: int = 0
) -> Inspection:
    """What session ``name`` knows of the name at ``cursor``."""
    backend = live_backend(manager, name)
    if backend is None:
        return NO_INSPECTION
    return await backend.inspect(code, cursor, detail)
