"""The forwarded apps of the open sessions, by id (``openApp`` / ``closeApp``).

A forward belongs to the daemon (every connection of the session host may use and close
it) and to its session: closing the session, or the daemon, closes its forwards first.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from runbridge.backends.apps import AppForward, app_url
from runbridge.errors import InvalidParams, quote


@dataclass
class OpenApp:
    app_id: str
    session: str
    forward: AppForward

    def to_wire(self) -> dict[str, Any]:
        forward = self.forward
        return {
            "appId": self.app_id,
            "session": self.session,
            "app": forward.app,
            "protocol": forward.protocol,
            "localPort": forward.local_port,
            "url": app_url(forward.protocol, forward.local_port),
        }


class AppForwards:
    """The open forwards, by ``appId``."""

    def __init__(self) -> None:
        self._open: dict[str, OpenApp] = {}

    def add(self, session: str, forward: AppForward) -> OpenApp:
        opened = OpenApp(uuid.uuid4().hex[:12], session, forward)
        self._open[opened.app_id] = opened
        return opened

    async def close(self, app_id: str) -> None:
        opened = self._open.pop(app_id, None)
        if opened is None:
            known = ", ".join(sorted(self._open)) or "none open"
            raise InvalidParams(
                f"no forwarded app with id {quote(app_id)} (open: {known})", field="appId"
            )
        await opened.forward.close()

    def listing(self, session: str | None) -> list[OpenApp]:
        """The open forwards of ``session`` (None: of every session), oldest first."""
        return [o for o in self._open.values() if session is None or o.session == session]

    async def close_session(self, session: str) -> None:
        """Close every forward of ``session`` (it is closing)."""
        ids = [i for i, o in self._open.items() if o.session == session]
        forwards = [self._open.pop(i).forward for i in ids]
        await asyncio.gather(*(f.close() for f in forwards), return_exceptions=True)
