"""Backend.AI problem-JSON answers as runbridge errors.

The manager answers failures with RFC 7807-style JSON
(``{"type": "https://api.backend.ai/probs/<slug>", "title": ..., "msg": ...}``,
reference §6). :func:`problem_error` turns one into a :class:`BackendAIError`
subclass with a message a user can act on. Messages name the endpoint and the
session, never a key: server text is quoted only through
:func:`runbridge.redaction.quote` (masked, then cut to :data:`DETAIL_LIMIT`).

    RemoteError (runbridge.backends.remote.errors)
    └── BackendAIError             any failure answered by (or reaching) the manager
        ├── BackendAIAuthError     401 auth-failed, 400 invalid-auth-params, password-expired
        ├── BackendAIForbidden     403
        ├── BackendAISessionNotFound   404 object-not-found for a session
        ├── BackendAISessionExists     400 session-already-exists
        ├── BackendAIQuotaExceeded     quota-exceeded (400, 412 on 24.03)
        ├── BackendAIRateLimited       429 rate-limit-exceeded (``retry_after`` seconds)
        ├── BackendAINotImplemented    501 (restart on newer managers)
        ├── BackendAIUnavailable       503 (frozen, no capacity)
        ├── BackendAIUnreachable       no HTTP answer at all (connect error, timeout)
        ├── BackendAIUploadRefused     an upload the manager would refuse (checked before sending)
        └── BackendAIStreamUnavailable no websocket route (the REST loop is used instead)

``BackendAIAuthError``, ``BackendAISessionNotFound`` and ``BackendAIUnreachable`` are
also the shared ``RemoteAuthError``, ``RemoteNotFound`` and ``RemoteUnreachable``;
``BackendAINotImplemented`` is also an :class:`~runbridge.errors.Unsupported` (its code).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from runbridge.backends.remote.errors import (
    RemoteAuthError,
    RemoteError,
    RemoteNotFound,
    RemoteUnreachable,
)
from runbridge.errors import Unsupported
from runbridge.redaction import quote

PROBLEM_PREFIX = "https://api.backend.ai/probs/"
#: How many characters of a manager's error text a message quotes.
DETAIL_LIMIT = 500
#: How many characters of a problem type (its slug) an error keeps.
SLUG_LIMIT = 100
#: How much of a non-JSON body :func:`parse_problem` keeps for :func:`problem_error`
#: to mask and cut (bounded work on a huge body).
_CONTENT_KEEP = 16 * 1024


class BackendAIError(RemoteError):
    """A failure reported by (or on the way to) a Backend.AI manager; ``problem`` is the
    slug of the manager's problem JSON (in ``data`` after ``status``)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        problem: str | None = None,
        **data: Any,
    ) -> None:
        super().__init__(message, status=status, **data)
        if problem is not None:
            self.data["problem"] = problem
        self.problem = problem


class BackendAIAuthError(BackendAIError, RemoteAuthError):
    pass


class BackendAIForbidden(BackendAIError):
    pass


class BackendAISessionNotFound(BackendAIError, RemoteNotFound):
    pass


class BackendAISessionExists(BackendAIError):
    pass


class BackendAIQuotaExceeded(BackendAIError):
    pass


class BackendAIRateLimited(BackendAIError):
    def __init__(self, message: str, *, retry_after: float | None = None, **data: Any) -> None:
        super().__init__(message, **data)
        self.retry_after = retry_after


class BackendAINotImplemented(BackendAIError, Unsupported):
    pass


class BackendAIUnavailable(BackendAIError):
    pass


class BackendAIUnreachable(BackendAIError, RemoteUnreachable):
    pass


class BackendAIUploadRefused(BackendAIError):
    pass


class BackendAIStreamUnavailable(BackendAIError):
    """The manager has no websocket route for this stream (the REST API is used instead)."""


def problem_slug(body: Mapping[str, Any]) -> str:
    """``auth-failed`` from ``https://api.backend.ai/probs/auth-failed`` (or "")."""
    kind = body.get("type")
    if not isinstance(kind, str):
        return ""
    return kind.rsplit("/", 1)[-1] if kind.startswith(("http://", "https://")) else kind


def parse_problem(content: bytes) -> dict[str, Any]:
    """The problem JSON of an error answer; a non-JSON body becomes ``{"content": text}``.

    Nothing here is cut to what a message shows: :func:`problem_error` masks the
    secrets first and cuts after, so a cut never leaves the start of a key.
    """
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {"content": content[:_CONTENT_KEEP].decode("utf-8", "replace").strip()}
    return body if isinstance(body, dict) else {"content": str(body)[:_CONTENT_KEEP]}


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait before retrying, from ``Retry-After`` or ``X-RateLimit-Reset``.

    ``Retry-After`` is seconds or an HTTP date. The (deprecated) ``X-RateLimit-Reset``
    is read as a Unix time when it is large, else as seconds from now. None when
    neither header says anything usable.
    """
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
    value = lowered.get("x-ratelimit-reset")
    if value:
        try:
            reset = float(value)
        except ValueError:
            return None
        if reset > 1_000_000_000:  # a Unix time (seconds, or milliseconds)
            if reset > 1_000_000_000_000:
                reset /= 1000.0
            return max(0.0, reset - now)
        return max(0.0, reset)
    return None


def _detail(body: Mapping[str, Any]) -> str:
    """``title: msg`` (or whichever of them is present)."""
    title = body.get("title")
    msg = body.get("msg")
    parts = [str(p) for p in (title, msg) if p and str(p) != "None"]
    if not parts and body.get("content"):
        parts.append(str(body["content"]))
    agent = body.get("agent-details")
    if isinstance(agent, Mapping):
        extra = agent.get("exception") or agent.get("title")
        if extra:
            parts.append(f"agent: {extra}")
    return ": ".join(parts) if parts else "no details"


def problem_error(
    status: int,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    endpoint: str,
    what: str,
    session: str | None = None,
    secrets: Iterable[str] = (),
) -> BackendAIError:
    """The runbridge error for one failed manager answer.

    ``what`` says what was being done ("creating session 'x'"); ``endpoint`` is
    the manager URL (never with credentials).
    """
    secrets = list(secrets)
    slug = quote(problem_slug(body), secrets, SLUG_LIMIT)  # sent as data.problem
    detail = quote(_detail(body), secrets, DETAIL_LIMIT)
    data: dict[str, Any] = {"status": status, "problem": slug or None, "endpoint": endpoint}
    if session is not None:
        data["session"] = session
    where = f"Backend.AI manager {endpoint}"
    if slug in ("auth-failed", "invalid-auth-params", "password-expired") or status == 401:
        hint = (
            "check access_key and secret_key (profile or BACKEND_ACCESS_KEY / "
            "BACKEND_SECRET_KEY) and that this machine's clock is right (±15 min)"
        )
        if slug == "password-expired":
            hint = "the account's password has expired; renew it in the Backend.AI web UI"
        elif slug == "invalid-auth-params" and "sync" in detail.lower():
            return BackendAIAuthError(
                f"{where} refused the request's date while {what} ({detail}): this machine's "
                "clock differs from the manager's by more than 15 minutes; set the clock "
                "right (e.g. enable NTP) and retry",
                **data,
            )
        return BackendAIAuthError(
            f"{where} rejected the credentials while {what} ({detail}); {hint}", **data
        )
    if status == 403 or slug in ("insufficient-privilege", "generic-forbidden", "forbidden"):
        return BackendAIForbidden(f"{where} refused {what}: not allowed ({detail})", **data)
    if slug == "session-already-exists":
        return BackendAISessionExists(
            f"{what}: a session with that name already exists on {where} with a different "
            f"image or settings ({detail}); close it or pick another name",
            **data,
        )
    if slug == "quota-exceeded" or (status == 412 and "quota" in detail.lower()):
        return BackendAIQuotaExceeded(
            f"{where}: quota exceeded while {what} ({detail}); close other sessions or "
            "request fewer resources",
            **data,
        )
    if status == 429 or slug in ("rate-limit-exceeded", "too-many-requests"):
        wait = retry_after(headers)
        when = (
            f"retry in {wait:.0f} s"
            if wait is not None
            else "the limit counts requests over a rolling 15-minute window; retry later"
        )
        return BackendAIRateLimited(
            f"{where}: too many requests for this access key while {what}; {when}",
            retry_after=wait,
            **data,
        )
    if status == 404 and slug in ("object-not-found", "session-not-found", ""):
        if "image" in detail.lower():
            return BackendAIError(
                f"{where} does not know the image asked for while {what} ({detail}); check "
                "the session's image name (e.g. 'python:3.9-ubuntu20.04' or an alias)",
                **data,
            )
        if "virtual folder" in detail.lower() or "vfolder" in detail.lower():
            return BackendAIError(
                f"{where} does not know a vfolder asked for while {what} ({detail}); check "
                "the session options' mounts (vfolders this keypair can use)",
                **data,
            )
        if "scaling group" in detail.lower() or "resource group" in detail.lower():
            return BackendAIError(
                f"{where} does not know the scaling group asked for while {what} ({detail}); "
                "check the session options' scalingGroup (one this keypair may use)",
                **data,
            )
        if session is not None:
            return BackendAISessionNotFound(
                f"session {session!r} does not exist (any more) on {where} ({detail}); "
                "it may have been terminated (e.g. by the idle timeout); open it again",
                **data,
            )
    if status == 501 or slug == "not-implemented":
        return BackendAINotImplemented(f"{where} does not support {what} ({detail})", **data)
    if status == 503 or slug in ("server-frozen", "service-unavailable", "instance-not-available"):
        return BackendAIUnavailable(
            f"{where} is not available for {what} right now ({detail}); retry later", **data
        )
    return BackendAIError(f"{where}: {what} failed with HTTP {status} ({detail})", **data)
