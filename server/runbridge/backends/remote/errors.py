"""The errors both remote backends have, as bases of their own.

    BackendError (runbridge.errors)
    └── RemoteError           a failure answered by (or on the way to) a server; its
        │                     HTTP ``status`` (when there was one) is in ``data`` too
        ├── RemoteAuthError    the server refused the credentials
        ├── RemoteNotFound     the server has no such thing (404)
        └── RemoteUnreachable  no HTTP answer: refused, timed out, TLS failure

Each backend's tree subclasses these (``JupyterAuthError(JupyterError, RemoteAuthError)``),
so the ``kind`` an editor sees stays the backend's own class name, and its JSON-RPC code
that of :class:`~runbridge.errors.BackendError` (or of another base it names).
"""

from __future__ import annotations

from typing import Any

from runbridge.errors import BackendError


class RemoteError(BackendError):
    def __init__(self, message: str, *, status: int | None = None, **data: Any) -> None:
        if status is not None:
            data["status"] = status
        super().__init__(message, **data)
        self.status = status


class RemoteAuthError(RemoteError):
    pass


class RemoteNotFound(RemoteError):
    pass


class RemoteUnreachable(RemoteError):
    pass
