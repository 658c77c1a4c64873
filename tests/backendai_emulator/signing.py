"""The manager's HMAC verification, re-implemented from the protocol reference (§1.3-1.4).

Independent of runbridge: nothing here imports the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

EMPTY_BODY = b""
DATE_WINDOW = timedelta(minutes=15)


class AuthParamsError(Exception):
    """Maps to 400 ``invalid-auth-params``."""


def parse_date(raw: str) -> datetime:
    """Parse an ISO 8601 or RFC 822 date (naive -> UTC), like the manager's dateutil parse."""
    raw = raw.strip()
    try:
        text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = parsedate_to_datetime(raw)
        except (TypeError, ValueError) as exc:
            # compact ISO basic format such as 20160930T01:23:45Z
            for fmt in ("%Y%m%dT%H:%M:%SZ", "%Y%m%dT%H%M%SZ"):
                try:
                    return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
                except ValueError:
                    pass
            raise AuthParamsError("Date/time sync error") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_authorization(header: str) -> tuple[str, str, str]:
    """Return (hash name, access key, signature) or raise AuthParamsError."""
    try:
        scheme, rest = header.split(" ", 1)
    except ValueError as exc:
        raise AuthParamsError("Malformed authorization header") from exc
    if scheme not in ("BackendAI", "Sorna"):
        raise AuthParamsError("Unsupported authorization method")
    params: dict[str, str] = {}
    for item in rest.split(","):
        if "=" not in item:
            raise AuthParamsError("Malformed authorization parameters")
        key, value = item.split("=", 1)
        params[key.strip()] = value.strip()
    sign_method = params.get("signMethod", "")
    credential = params.get("credential", "")
    if not sign_method.upper().startswith("HMAC-") or ":" not in credential:
        raise AuthParamsError("Malformed authorization parameters")
    hash_name = sign_method[5:].lower()
    if hash_name not in hashlib.algorithms_guaranteed:
        raise AuthParamsError("Unsupported signing hash algorithm")
    access_key, signature = credential.split(":", 1)
    return hash_name, access_key, signature


def string_to_sign(
    method: str,
    rel_url: str,
    raw_date: str,
    host: str,
    content_type: str,
    version: str,
    hash_name: str = "sha256",
    version_header: str = "x-backendai-version",
) -> str:
    body_hash = hashlib.new(hash_name, EMPTY_BODY).hexdigest()
    return "\n".join(
        [
            method.upper(),
            rel_url,
            raw_date,
            f"host:{host}",
            f"content-type:{content_type.lower()}",
            f"{version_header}:{version}",
            body_hash,
        ]
    )


def signature(
    secret_key: str,
    key_date: str,
    host: str,
    to_sign: str,
    hash_name: str = "sha256",
) -> str:
    digest = getattr(hashlib, hash_name, None) or (lambda d=b"": hashlib.new(hash_name, d))
    k1 = hmac.new(secret_key.encode(), key_date.encode(), digest).digest()
    k2 = hmac.new(k1, host.encode(), digest).digest()
    return hmac.new(k2, to_sign.encode(), digest).hexdigest()


def check_date_window(date: datetime, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    if abs(now - date) > DATE_WINDOW:
        raise AuthParamsError("Date/time sync error")
