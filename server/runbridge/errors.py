"""Errors raised by runbridge's session and backend layers.

Every error the editor can see derives from :class:`RunbridgeError` and carries a
stable JSON-RPC error ``code`` (in the -32000..-32099 server range) and a ``kind``
name. The LSP front (``runbridge.lsp``) is the only place that turns them into
JSON-RPC errors. Messages never contain secrets or tracebacks.

    RunbridgeError
    ├── InvalidParams          a request field is missing or has the wrong type
    ├── ConfigError            bad settings or an unknown profile
    ├── SessionNotFound        no session by that name
    ├── SessionConflict        the name exists with a different image or profile
    ├── TerminalNotFound       no terminal by that id
    ├── FileError              a missing file, or a path outside the work folder
    └── BackendError           the backend could not do it
        ├── KernelSpecNotFound unknown kernelspec (``image``)
        ├── BackendUnavailable a backend type that this build does not provide
        └── Unsupported        the server cannot do that; the session is unchanged
"""

from __future__ import annotations

from typing import Any

#: How much of a value sent by the editor (or a server) an error message quotes.
QUOTE_CHARS = 80


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text``, or its first ``limit`` characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` of a string, or of its first ``limit`` characters and its length.

    Error messages name what was sent, but a 50 MB name must not come back as a
    50 MB error: every quote of outside text in a message goes through here.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


class RunbridgeError(Exception):
    """Root of runbridge's errors; never raised directly."""

    code = -32000

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    @property
    def kind(self) -> str:
        return type(self).__name__


class InvalidParams(RunbridgeError):
    code = -32602  # JSON-RPC "Invalid params"


class ConfigError(RunbridgeError):
    code = -32010


class SessionNotFound(RunbridgeError):
    code = -32011


class SessionConflict(RunbridgeError):
    code = -32012


class TerminalNotFound(RunbridgeError):
    code = -32013


class FileError(RunbridgeError):
    code = -32014


class BackendError(RunbridgeError):
    code = -32020


class KernelSpecNotFound(BackendError):
    code = -32021


class BackendUnavailable(BackendError):
    code = -32022


class Unsupported(BackendError):
    code = -32023
