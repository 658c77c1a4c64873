"""Backend.AI keypair authentication (HMAC request signing) and API version negotiation.

The manager verifies every signed request like this (reference §1.3–1.4):

1. ``body_hash`` is the hex digest of the *empty* byte string (bodies are not hashed
   by any API version a current manager accepts);
2. the string to sign is, joined by ``\\n`` with no trailing newline::

       <METHOD uppercase>
       <path with query, exactly as on the request line>
       <Date header value, verbatim>
       host:<Host header, with a non-default port>
       content-type:<bare, lowercased content type; application/octet-stream when absent>
       x-backendai-version:<api version>
       <body_hash>

3. the signing key is derived per day and per host:
   ``k1 = HMAC(secret_key, "YYYYMMDD")`` (the date part of the ``Date`` header, in the
   header's own time zone), ``k2 = HMAC(k1, host)``;
4. ``signature = hex(HMAC(k2, string_to_sign))``; the header is
   ``Authorization: BackendAI signMethod=HMAC-SHA256, credential=<access key>:<signature>``.

Public API:

* :func:`sign_request` – pure: the headers to add to one request;
* :func:`string_to_sign`, :func:`compute_signature`, :func:`bare_content_type`,
  :func:`format_date` – its building blocks;
* :class:`BackendAIAuth` – an ``httpx.Auth`` signing every request it sends;
* :func:`ws_headers` – the headers for a websocket upgrade request (``websockets.connect``);
* :func:`parse_api_version`, :func:`negotiate_api_version`, :func:`version_from_hello`,
  :func:`hello_manager_version`, :func:`probe_server_versions`, :data:`CLIENT_API_VERSION`
  – API version strings and negotiation with ``GET /``.

Secrets never appear in reprs or exception messages produced here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from websockets.headers import build_host
from websockets.uri import parse_uri

__all__ = [
    "CLIENT_API_VERSION",
    "DEFAULT_CONTENT_TYPE",
    "KNOWN_API_VERSIONS",
    "MIN_API_VERSION",
    "BackendAIAuth",
    "bare_content_type",
    "compute_signature",
    "format_date",
    "hello_manager_version",
    "negotiate_api_version",
    "parse_api_version",
    "probe_server_versions",
    "sign_request",
    "string_to_sign",
    "version_from_hello",
    "ws_headers",
    "ws_target",
]

#: The API version this client speaks (the newest the reference documents; accepted by
#: managers from 25.15.0 on). Older managers announce a lower version in ``GET /`` and
#: :func:`negotiate_api_version` then picks theirs.
CLIENT_API_VERSION = "v9.20250722"
#: The oldest API version the official SDK works with without a warning.
MIN_API_VERSION = "v7.20230615"
#: The version strings current managers accept (26.3.0 … HEAD). Releases 24.03–26.2
#: list ``v6.20210815`` instead of ``v6.20221201``.
KNOWN_API_VERSIONS = (
    "v4.20181215",
    "v4.20190115",
    "v4.20190315",
    "v4.20190615",
    "v5.20191215",
    "v6.20200815",
    "v6.20220315",
    "v6.20220615",
    "v6.20221201",
    "v6.20230315",
    "v7.20230615",
    "v8.20240315",
    "v8.20240915",
    "v9.20250722",
)
#: What the manager (aiohttp) takes as the content type of a request without one.
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_VERSION_RE = re.compile(r"v(\d+)\.(\d{8})")


# --------------------------------------------------------------------------- signing


def format_date(when: datetime) -> str:
    """The ``Date`` header value for ``when``: ISO 8601 in UTC, as the SDKs send it.

    e.g. ``2025-01-01T00:00:00+00:00`` (microseconds appear when non-zero). A naive
    datetime is taken as UTC.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


def _key_date(date: str) -> str:
    """``YYYYMMDD`` of the ``Date`` header value, in the header's own time zone (P3)."""
    try:
        parsed = datetime.fromisoformat(date)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date: {date!r}") from None
    return parsed.strftime("%Y%m%d")


def bare_content_type(content_type: str | None) -> str:
    """The content type as the manager reads it: no parameters, lowercased.

    ``None`` (no header) gives ``application/octet-stream``, like aiohttp. A malformed value
    (not ``type/subtype``) raises ``ValueError``: aiohttp reads it as ``text/plain`` in older
    releases (``email`` rules) and ``application/octet-stream`` in newer ones, so no single
    signature would be right.
    """
    if content_type is None:
        return DEFAULT_CONTENT_TYPE
    bare = content_type.split(";", 1)[0].strip().lower()
    main, slash, sub = bare.partition("/")
    if not slash or not main or not sub or "/" in sub or any(c.isspace() for c in bare):
        raise ValueError(f"malformed Content-Type: {content_type!r}")
    return bare


def _check_hash(hash_type: str) -> str:
    name = hash_type.lower()
    if name not in hashlib.algorithms_guaranteed:
        raise ValueError(f"unsupported signing hash: {hash_type!r}")
    return name


def string_to_sign(
    *,
    method: str,
    rel_url: str,
    date: str,
    host: str,
    content_type: str | None,
    api_version: str,
    hash_type: str = "sha256",
) -> str:
    """The exact text the manager signs (see the module docstring).

    ``rel_url`` is the percent-encoded path plus ``?query`` as sent on the request line;
    ``content_type`` may carry parameters (they are dropped) or be ``None`` (no header).
    """
    body_hash = hashlib.new(_check_hash(hash_type), b"").hexdigest()
    return "\n".join(
        (
            method.upper(),
            rel_url,
            date,
            f"host:{host}",
            f"content-type:{bare_content_type(content_type)}",
            f"x-backendai-version:{api_version}",
            body_hash,
        )
    )


def compute_signature(
    *,
    secret_key: str,
    date: str,
    host: str,
    text: str,
    hash_type: str = "sha256",
) -> str:
    """Lowercase hex ``HMAC(HMAC(HMAC(secret_key, YYYYMMDD), host), text)``."""
    digest = _check_hash(hash_type)
    k1 = hmac.new(secret_key.encode(), _key_date(date).encode(), digest).digest()
    k2 = hmac.new(k1, host.encode(), digest).digest()
    return hmac.new(k2, text.encode(), digest).hexdigest()


def sign_request(
    *,
    method: str,
    rel_url: str,
    host: str,
    content_type: str | None,
    date: datetime | str,
    api_version: str,
    access_key: str,
    secret_key: str,
    hash_type: str = "sha256",
) -> dict[str, str]:
    """The headers that authenticate one request (pure; no clock, no I/O).

    :param method: HTTP method (any case).
    :param rel_url: path plus query string exactly as on the request line, e.g.
        ``/session/s1?owner_access_key=AK`` (httpx: ``request.url.raw_path``).
    :param host: the ``Host`` header sent, with a non-default port, e.g. ``127.0.0.1:8081``.
    :param content_type: the ``Content-Type`` header sent (parameters allowed), or
        ``None`` when none is sent (signed as ``application/octet-stream``).
    :param date: a datetime (formatted by :func:`format_date`) or a ``Date`` header value
        used verbatim (ISO 8601).
    :param api_version: e.g. ``v9.20250722``.
    :param hash_type: a :mod:`hashlib` name; the manager accepts any guaranteed one.
    :returns: ``Date`` and ``X-BackendAI-Date`` (identical), ``X-BackendAI-Version`` and
        ``Authorization: BackendAI signMethod=HMAC-SHA256, credential=AK:SIGNATURE``.
    """
    date_text = format_date(date) if isinstance(date, datetime) else date
    text = string_to_sign(
        method=method,
        rel_url=rel_url,
        date=date_text,
        host=host,
        content_type=content_type,
        api_version=api_version,
        hash_type=hash_type,
    )
    signature = compute_signature(
        secret_key=secret_key, date=date_text, host=host, text=text, hash_type=hash_type
    )
    return {
        "Date": date_text,
        "X-BackendAI-Date": date_text,
        "X-BackendAI-Version": api_version,
        "Authorization": (
            f"BackendAI signMethod=HMAC-{hash_type.upper()}, credential={access_key}:{signature}"
        ),
    }


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BackendAIAuth(httpx.Auth):
    """Signs every httpx request with a Backend.AI keypair.

    It signs the final request: ``request.url.raw_path`` (path and encoded query), the
    ``Host`` header httpx sends, and the bare ``Content-Type`` (a request without one gets
    an explicit ``Content-Type: application/octet-stream``, which is what the manager
    would assume anyway). ``api_version`` may be changed after negotiation.
    """

    requires_request_body = True

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        api_version: str = CLIENT_API_VERSION,
        *,
        hash_type: str = "sha256",
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.api_version = api_version
        self.hash_type = _check_hash(hash_type)
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"BackendAIAuth(access_key={self.access_key!r}, secret_key='***', "
            f"api_version={self.api_version!r})"
        )

    def sign(self, request: httpx.Request) -> None:
        """Add the authentication headers to ``request`` in place."""
        if "Content-Type" not in request.headers:
            request.headers["Content-Type"] = DEFAULT_CONTENT_TYPE
        host = request.headers.get("Host") or request.url.netloc.decode("ascii")
        headers = sign_request(
            method=request.method,
            rel_url=request.url.raw_path.decode("ascii"),
            host=host,
            content_type=request.headers["Content-Type"],
            date=self._clock(),
            api_version=self.api_version,
            access_key=self.access_key,
            secret_key=self._secret_key,
            hash_type=self.hash_type,
        )
        request.headers.update(headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request


def ws_target(url: str) -> tuple[str, str]:
    """``(host, rel_url)`` that the ``websockets`` client sends for ``url``.

    Uses websockets' own URI parsing, so the signature covers the request line and
    ``Host`` header it will actually send (default ports dropped, path percent-encoded).
    """
    uri = parse_uri(url)
    return build_host(uri.host, uri.port, uri.secure), uri.resource_name


def ws_headers(
    url: str,
    *,
    api_version: str,
    access_key: str,
    secret_key: str,
    date: datetime | str | None = None,
    hash_type: str = "sha256",
) -> dict[str, str]:
    """Headers for a signed websocket upgrade (``websockets.connect(url, additional_headers=…)``).

    Signs ``GET`` with the empty-body hash and content type ``application/octet-stream``;
    the returned headers include that ``Content-Type`` explicitly. ``date`` defaults to now.
    """
    host, rel_url = ws_target(url)
    headers = sign_request(
        method="GET",
        rel_url=rel_url,
        host=host,
        content_type=DEFAULT_CONTENT_TYPE,
        date=_utcnow() if date is None else date,
        api_version=api_version,
        access_key=access_key,
        secret_key=secret_key,
        hash_type=hash_type,
    )
    return {"Content-Type": DEFAULT_CONTENT_TYPE, **headers}


# --------------------------------------------------------------------------- versions


def parse_api_version(value: str) -> tuple[int, str]:
    """``"v8.20240315"`` -> ``(8, "20240315")``; ``ValueError`` for anything else."""
    match = _VERSION_RE.fullmatch(value)
    if match is None:
        raise ValueError(f"not a Backend.AI API version (vN.YYYYMMDD): {value!r}")
    return int(match.group(1)), match.group(2)


def version_from_hello(body: object) -> str | None:
    """The ``version`` of a ``GET /`` answer (``{"version": ..., "manager": ...}``), if valid."""
    if isinstance(body, Mapping):
        version = body.get("version")
        if isinstance(version, str):
            try:
                parse_api_version(version)
            except ValueError:
                return None
            return version
    return None


def negotiate_api_version(
    server_version: str | None, client_version: str = CLIENT_API_VERSION
) -> str:
    """The version to speak: the lower of the server's and the client's.

    A missing or unparseable server version gives ``client_version`` (like the SDK, which
    keeps its own version when the probe fails).
    """
    client = parse_api_version(client_version)
    if server_version is None:
        return client_version
    try:
        server = parse_api_version(server_version)
    except ValueError:
        return client_version
    return server_version if server < client else client_version


def hello_manager_version(body: Any) -> str | None:
    """The ``manager`` package version of a ``GET /`` answer, if present."""
    if isinstance(body, Mapping):
        manager = body.get("manager")
        if isinstance(manager, str):
            return manager
    return None


async def probe_server_versions(
    client: httpx.AsyncClient, endpoint: str
) -> tuple[str | None, str | None]:
    """``GET <endpoint>/`` unsigned: ``(latest API version, manager version)`` of the server.

    The probe is sent without ``Authorization`` and without ``X-BackendAI-Version``: the
    manager answers 400 "Unsupported API version." to *any* request naming a version it
    does not know, so a signed probe from a newer client would fail. Feed the first value
    to :func:`negotiate_api_version`. httpx errors (unreachable, HTTP status) propagate.
    """
    response = await client.get(endpoint.rstrip("/") + "/", auth=None)
    response.raise_for_status()
    try:
        body = response.json()
    except ValueError:
        return None, None
    return version_from_hello(body), hello_manager_version(body)
