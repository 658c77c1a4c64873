"""Jupyter server answers as runbridge errors.

Every message names the profile and the server URL and says what to check. Server
text is quoted only through :func:`runbridge.redaction.quote`: masked (no run of 6
characters of the token survives), then cut to :data:`DETAIL_LIMIT` characters.

    RemoteError (runbridge.backends.remote.errors)
    └── JupyterError             any failure answered by (or reaching) the server
        ├── JupyterAuthError     401 / 403: the token is wrong or missing
        ├── JupyterNotFound      404: wrong URL (base path), or an unknown kernel
        ├── JupyterUnreachable   no HTTP answer: refused, timed out, TLS failure
        │   └── JupyterTimeout   connected, but no answer in time
        └── JupyterKernelGone    the session's kernel no longer exists on the server

``JupyterAuthError``, ``JupyterNotFound`` and ``JupyterUnreachable`` are also the shared
``RemoteAuthError``, ``RemoteNotFound`` and ``RemoteUnreachable``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from runbridge.backends.remote.errors import (
    RemoteAuthError,
    RemoteError,
    RemoteNotFound,
    RemoteUnreachable,
)
from runbridge.redaction import quote

#: How many characters of a server's error text a message quotes.
DETAIL_LIMIT = 300
#: Enterprise Gateway's refusal of the user a kernel would run as (``KERNEL_USERNAME``,
#: else the user the gateway runs as): 403 "User 'root' is not authorized to start
#: kernel 'python3'. ...".
_USER_REFUSED = re.compile(r"User '[^']*' is not (in the set of users )?authorized to start kernel")


class JupyterError(RemoteError):
    pass


class JupyterAuthError(JupyterError, RemoteAuthError):
    pass


class JupyterNotFound(JupyterError, RemoteNotFound):
    pass


class JupyterUnreachable(JupyterError, RemoteUnreachable):
    pass


class JupyterTimeout(JupyterUnreachable):
    pass


class JupyterKernelGone(JupyterError):
    pass


def server_detail(content: bytes, token: str) -> str:
    """The ``message`` (or ``reason``) of a Jupyter error body, else its first characters.

    Masked before it is cut: a body echoing the ``Authorization`` header shows no run
    of the token wherever the cut falls.
    """
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        # bounded work on a huge body: 4 bytes per character is the most UTF-8 takes
        text = content[: 4 * (2 * DETAIL_LIMIT + len(token))].decode("utf-8", "replace")
        if text.lstrip().startswith("<"):  # an HTML error page
            return ""
        return quote(" ".join(text.split()), [token], DETAIL_LIMIT)
    if isinstance(body, dict):
        for key in ("message", "reason", "short_message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return quote(value.strip(), [token], DETAIL_LIMIT)
    return ""


def http_error(
    status: int,
    content: bytes,
    *,
    where: str,
    what: str,
    token: str,
    token_source: str,
    username: str | None = None,
    **data: Any,
) -> JupyterError:
    """The error for an HTTP error answer to ``what`` (e.g. "starting a kernel").

    ``username`` is the profile's (sent as ``KERNEL_USERNAME``): a gateway's refusal of
    the user names it, and the key to set, rather than the token.
    """
    detail = server_detail(content, token)
    suffix = f": {detail}" if detail else ""
    if status == 403 and _USER_REFUSED.search(detail):
        if username:
            hint = (
                f"the profile's username {username!r} (sent as KERNEL_USERNAME) is not a user "
                "the gateway allows to start kernels (its EG_AUTHORIZED_USERS / "
                "EG_UNAUTHORIZED_USERS): set username to one it allows"
            )
        else:
            hint = (
                "the profile has no username, so the gateway took the user it runs as: set "
                "username in the profile (sent as KERNEL_USERNAME) to a user it allows"
            )
        return JupyterAuthError(
            f"{where} refused {what} (HTTP 403{suffix}); {hint}", status=status, **data
        )
    if status in (401, 403):
        if token_source == "none":
            hint = "the server needs a token: set token_env (or token) in the profile"
        else:
            hint = f"check the token ({token_source})"
        return JupyterAuthError(
            f"{where} refused {what} (HTTP {status}, not authorised{suffix}); {hint}",
            status=status,
            **data,
        )
    if status == 404:
        return JupyterNotFound(
            f"{where} has no such resource while {what} (HTTP 404{suffix}); check the URL "
            "(including its base path, e.g. /user/NAME/ on JupyterHub)",
            status=status,
            **data,
        )
    return JupyterError(f"{where}: {what} failed with HTTP {status}{suffix}", status=status, **data)
