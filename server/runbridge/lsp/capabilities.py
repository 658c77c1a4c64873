"""What ``initialize`` answers about runbridge: ``capabilities.experimental.runbridge``."""

from __future__ import annotations

from typing import Any

from runbridge import PROTOCOL_VERSION, __version__, logs
from runbridge.config import BACKEND_TYPES, Settings

#: The session a run without a session name goes to.
DEFAULT_SESSION = "default"


def experimental_capabilities(settings: Settings) -> dict[str, Any]:
    log_file = logs.log_file()
    return {
        "runbridge": {
            "protocolVersion": PROTOCOL_VERSION,
            "version": __version__,
            "backends": list(BACKEND_TYPES),
            "profiles": profiles_wire(settings),
            "defaultProfile": settings.default_profile,
            "defaultSession": DEFAULT_SESSION,
            "logFile": None if log_file is None else str(log_file),
        }
    }


def profiles_wire(settings: Settings) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "type": p.type,
            "image": p.image,
            "available": p.type in BACKEND_TYPES,
        }
        for p in settings.profiles.values()
    ]
