"""Apps: a session's service ports (Jupyter, a web terminal, ...) forwarded to this machine.

Only Backend.AI sessions have them (``backendai/apps.py``); the other backends answer
:func:`no_apps`. A forward listens on ``127.0.0.1`` and lasts until it is closed (the
session manager closes it on ``closeApp``, when its session closes, and at daemon exit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from runbridge.errors import Unsupported, quote

#: The only address forwards listen on: an app is reached without a password.
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServiceApp:
    """One service port of a session, as the manager lists it."""

    name: str
    protocol: str
    ports: tuple[int, ...]

    def to_wire(self) -> dict[str, Any]:
        ports = f" · port {', '.join(map(str, self.ports))}" if self.ports else ""
        return {
            "name": self.name,
            "protocol": self.protocol,
            "ports": list(self.ports),
            "description": f"{self.protocol}{ports}",
        }


def app_url(protocol: str, port: int) -> str:
    """Where a forward of an app of ``protocol`` is reached."""
    if protocol == "http":
        return f"http://{LOOPBACK}:{port}/"
    return f"tcp://{LOOPBACK}:{port}"


class AppForward(Protocol):
    """A listening forward of one app (a backend's; closed by the session manager)."""

    app: str
    protocol: str
    local_port: int

    async def close(self) -> None:
        """Stop listening and close every connection of the forward."""
        ...


def no_apps(session: str, backend: str) -> Unsupported:
    """What ``listApps`` and ``openApp`` answer on a backend without service ports."""
    return Unsupported(
        f"apps (service ports) are a Backend.AI feature: session {quote(session)} runs on "
        f"the {backend} backend, which has none",
        session=session,
    )
