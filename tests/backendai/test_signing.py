"""Backend.AI HMAC signing: known-answer vectors, an independent re-implementation, the wire.

The vectors come from ``<repo root>/../shared/reference/backendai-signing-vectors.json``
(CI checks the repository out with a copy of ``shared/`` beside it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import string
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbridge.backends.backendai.auth import (
    CLIENT_API_VERSION,
    KNOWN_API_VERSIONS,
    MIN_API_VERSION,
    BackendAIAuth,
    bare_content_type,
    compute_signature,
    format_date,
    hello_manager_version,
    negotiate_api_version,
    parse_api_version,
    probe_server_versions,
    sign_request,
    string_to_sign,
    version_from_hello,
    ws_headers,
    ws_target,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = REPO_ROOT.parent / "shared" / "reference" / "backendai-signing-vectors.json"


def _load_vectors() -> list[dict[str, Any]]:
    if not VECTORS_FILE.is_file():
        pytest.fail(
            f"signing vectors not found at {VECTORS_FILE} (shared/ must sit beside the repo)"
        )
    data = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, list) and data
    vectors: list[dict[str, Any]] = []
    for raw in data:
        vec = dict(raw)
        if "string_to_sign" in vec:
            lines = vec["string_to_sign"].split("\n")
            assert len(lines) == 7, vec["name"]
            parsed = {
                "method": lines[0],
                "rel_url": lines[1],
                "date_header": lines[2],
                "host": lines[3].removeprefix("host:"),
                "content_type": lines[4].removeprefix("content-type:"),
                "api_version": lines[5].removeprefix("x-backendai-version:"),
            }
            for key, value in parsed.items():
                # Explicit fields, when present, must agree with the string to sign.
                assert vec.setdefault(key, value) == value, (vec["name"], key)
        for key in ("method", "rel_url", "content_type", "api_version", "host", "date_header"):
            assert key in vec, (vec["name"], key)
        vectors.append(vec)
    return vectors


VECTORS = _load_vectors()
VECTOR_IDS = [v["name"].split(" ")[0] for v in VECTORS]


# --------------------------------------------------------------------------- independent


def ref_signature(
    *,
    method: str,
    rel_url: str,
    date: str,
    host: str,
    content_type: str | None,
    version: str,
    secret: str,
    hash_name: str = "sha256",
) -> str:
    """A separate, literal reading of reference §1.3 (kept apart from the code under test)."""
    if content_type is None:
        ctype = "application/octet-stream"
    else:
        ctype = content_type.split(";", 1)[0].strip().lower()
    empty_hash = hashlib.new(hash_name, b"").hexdigest()
    text = "\n".join(
        [
            method.upper(),
            rel_url,
            date,
            "host:" + host,
            "content-type:" + ctype,
            "x-backendai-version:" + version,
            empty_hash,
        ]
    )
    day = date[:10].replace("-", "")  # the header's own calendar date (ISO 8601)
    key = hmac.digest(secret.encode("utf-8"), day.encode("ascii"), hash_name)
    key = hmac.digest(key, host.encode("utf-8"), hash_name)
    return hmac.new(key, text.encode("utf-8"), hash_name).hexdigest()


def ref_authorization(access: str, signature: str, hash_name: str = "sha256") -> str:
    return f"BackendAI signMethod=HMAC-{hash_name.upper()}, credential={access}:{signature}"


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("vec", VECTORS, ids=VECTOR_IDS)
def test_vector_pure_function(vec: dict[str, Any]) -> None:
    assert vec["key_date"] == vec["date_header"][:10].replace("-", "")
    headers = sign_request(
        method=vec["method"],
        rel_url=vec["rel_url"],
        host=vec["host"],
        content_type=vec["content_type"],
        date=vec["date_header"],
        api_version=vec["api_version"],
        access_key=vec["access_key"],
        secret_key=vec["secret_key"],
        hash_type=vec["hash"],
    )
    assert headers == {
        "Date": vec["date_header"],
        "X-BackendAI-Date": vec["date_header"],
        "X-BackendAI-Version": vec["api_version"],
        "Authorization": vec["authorization"],
    }
    assert (
        compute_signature(
            secret_key=vec["secret_key"],
            date=vec["date_header"],
            host=vec["host"],
            text=string_to_sign(
                method=vec["method"],
                rel_url=vec["rel_url"],
                date=vec["date_header"],
                host=vec["host"],
                content_type=vec["content_type"],
                api_version=vec["api_version"],
                hash_type=vec["hash"],
            ),
            hash_type=vec["hash"],
        )
        == vec["signature"]
    )
    # The independent implementation agrees with the vector as well.
    assert (
        ref_signature(
            method=vec["method"],
            rel_url=vec["rel_url"],
            date=vec["date_header"],
            host=vec["host"],
            content_type=vec["content_type"],
            version=vec["api_version"],
            secret=vec["secret_key"],
            hash_name=vec["hash"],
        )
        == vec["signature"]
    )


@pytest.mark.parametrize("vec", [v for v in VECTORS if "string_to_sign" in v], ids=str)
def test_vector_string_to_sign(vec: dict[str, Any]) -> None:
    assert (
        string_to_sign(
            method=vec["method"],
            rel_url=vec["rel_url"],
            date=vec["date_header"],
            host=vec["host"],
            content_type=vec["content_type"],
            api_version=vec["api_version"],
            hash_type=vec["hash"],
        )
        == vec["string_to_sign"]
    )


@pytest.mark.parametrize("vec", VECTORS, ids=VECTOR_IDS)
def test_vector_with_datetime_date(vec: dict[str, Any]) -> None:
    when = datetime.fromisoformat(vec["date_header"])
    assert format_date(when) == vec["date_header"]
    headers = sign_request(
        method=vec["method"].lower(),
        rel_url=vec["rel_url"],
        host=vec["host"],
        content_type=vec["content_type"] + "; charset=utf-8",
        date=when,
        api_version=vec["api_version"],
        access_key=vec["access_key"],
        secret_key=vec["secret_key"],
    )
    assert headers["Authorization"] == vec["authorization"]


def _vector_request(vec: dict[str, Any], **kwargs: Any) -> httpx.Request:
    return httpx.Request(
        vec["method"],
        f"http://{vec['host']}{vec['rel_url']}",
        headers={"Content-Type": vec["content_type"]},
        **kwargs,
    )


def _auth_for(vec: dict[str, Any]) -> BackendAIAuth:
    when = datetime.fromisoformat(vec["date_header"])
    return BackendAIAuth(
        vec["access_key"],
        vec["secret_key"],
        vec["api_version"],
        hash_type=vec["hash"],
        clock=lambda: when,
    )


@pytest.mark.parametrize("vec", VECTORS, ids=VECTOR_IDS)
def test_vector_through_httpx_auth(vec: dict[str, Any]) -> None:
    request = _vector_request(vec)
    assert request.headers["Host"] == vec["host"]
    assert request.url.raw_path.decode() == vec["rel_url"]
    flow = _auth_for(vec).sync_auth_flow(request)
    sent = next(flow)
    assert sent is request
    assert sent.headers["Authorization"] == vec["authorization"]
    assert sent.headers["Date"] == vec["date_header"]
    assert sent.headers["X-BackendAI-Date"] == vec["date_header"]
    assert sent.headers["X-BackendAI-Version"] == vec["api_version"]
    assert sent.headers["Content-Type"] == vec["content_type"]


@pytest.mark.parametrize("vec", VECTORS, ids=VECTOR_IDS)
def test_vector_body_and_content_type_params_do_not_change_signature(vec: dict[str, Any]) -> None:
    request = httpx.Request(
        vec["method"],
        f"http://{vec['host']}{vec['rel_url']}",
        headers={"Content-Type": vec["content_type"].upper() + "; charset=UTF-8"},
        content=b'{"some": "body"}',
    )
    sent = next(_auth_for(vec).sync_auth_flow(request))
    assert sent.headers["Authorization"] == vec["authorization"]


async def test_vector_through_async_client() -> None:
    """The signature is computed on the request the transport receives (query from params=)."""
    vec = next(v for v in VECTORS if "?" in v["rel_url"])
    path, _, query = vec["rel_url"].partition("?")
    params = [tuple(pair.split("=", 1)) for pair in query.split("&")]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(
        base_url=f"http://{vec['host']}",
        auth=_auth_for(vec),
        transport=httpx.MockTransport(handler),
        headers={"Content-Type": vec["content_type"]},
    ) as client:
        await client.request(vec["method"], path, params=params)
    (request,) = seen
    assert request.url.raw_path.decode() == vec["rel_url"]
    assert request.headers["Authorization"] == vec["authorization"]


@pytest.mark.parametrize("vec", [v for v in VECTORS if v["method"] == "GET"], ids=str)
def test_vector_ws_helper(vec: dict[str, Any]) -> None:
    """The websocket helper signs a body-less GET as application/octet-stream."""
    url = f"ws://{vec['host']}{vec['rel_url']}"
    assert ws_target(url) == (vec["host"], vec["rel_url"])
    headers = ws_headers(
        url,
        api_version=vec["api_version"],
        access_key=vec["access_key"],
        secret_key=vec["secret_key"],
        date=vec["date_header"],
        hash_type=vec["hash"],
    )
    expected = ref_signature(
        method="GET",
        rel_url=vec["rel_url"],
        date=vec["date_header"],
        host=vec["host"],
        content_type="application/octet-stream",
        version=vec["api_version"],
        secret=vec["secret_key"],
    )
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Authorization"] == ref_authorization(vec["access_key"], expected)
    # ...and with the vector's own content type it would be exactly the vector.
    assert (
        sign_request(
            method="GET",
            rel_url=ws_target(url)[1],
            host=ws_target(url)[0],
            content_type=vec["content_type"],
            date=vec["date_header"],
            api_version=vec["api_version"],
            access_key=vec["access_key"],
            secret_key=vec["secret_key"],
        )["Authorization"]
        == vec["authorization"]
    )


# --------------------------------------------------------------------------- details


def test_bare_content_type() -> None:
    assert bare_content_type(None) == "application/octet-stream"
    assert bare_content_type("application/json") == "application/json"
    assert bare_content_type("Application/JSON; charset=utf-8") == "application/json"
    assert bare_content_type("multipart/form-data; boundary=abc") == "multipart/form-data"
    assert bare_content_type(" text/plain ;charset=x") == "text/plain"
    assert bare_content_type('multipart/form-data; boundary="x;y"') == "multipart/form-data"
    for bad in ("", "garbage", "a/b/c", "/json", "application/", "application /json"):
        with pytest.raises(ValueError, match="Content-Type"):
            bare_content_type(bad)


def test_format_date_is_utc_iso() -> None:
    assert format_date(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00+00:00"
    assert format_date(datetime(2025, 1, 1)) == "2025-01-01T00:00:00+00:00"
    plus9 = datetime(2025, 1, 1, 8, 0, 0, 123, tzinfo=timezone(timedelta(hours=9)))
    assert format_date(plus9) == "2024-12-31T23:00:00.000123+00:00"


def test_key_date_uses_header_time_zone() -> None:
    """P3: the day comes from the header's own time zone, not UTC."""
    date = "2025-01-01T08:00:00+09:00"  # 2024-12-31 in UTC
    sig = compute_signature(secret_key="s", date=date, host="h", text="t")
    k = hmac.digest(b"s", b"20250101", "sha256")
    k = hmac.digest(k, b"h", "sha256")
    assert sig == hmac.new(k, b"t", "sha256").hexdigest()


def test_other_hash_types_and_bad_inputs() -> None:
    headers = sign_request(
        method="GET",
        rel_url="/",
        host="h",
        content_type=None,
        date="2025-01-01T00:00:00+00:00",
        api_version="v9.20250722",
        access_key="AK",
        secret_key="SK",
        hash_type="md5",
    )
    expected = ref_signature(
        method="GET",
        rel_url="/",
        date="2025-01-01T00:00:00+00:00",
        host="h",
        content_type=None,
        version="v9.20250722",
        secret="SK",
        hash_name="md5",
    )
    assert headers["Authorization"] == ref_authorization("AK", expected, "md5")
    with pytest.raises(ValueError, match="hash"):
        sign_request(
            method="GET",
            rel_url="/",
            host="h",
            content_type=None,
            date="2025-01-01T00:00:00+00:00",
            api_version="v9.20250722",
            access_key="AK",
            secret_key="SK",
            hash_type="nope",
        )
    with pytest.raises(ValueError) as info:
        sign_request(
            method="GET",
            rel_url="/",
            host="h",
            content_type=None,
            date="yesterday",
            api_version="v9.20250722",
            access_key="AK",
            secret_key="TOPSECRET",
        )
    assert "TOPSECRET" not in str(info.value)


def test_auth_adds_octet_stream_when_no_content_type() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    auth = BackendAIAuth("AK", "SK", "v9.20250722", clock=lambda: when)
    request = httpx.Request("GET", "https://example.com:8443/session/s1?x=1")
    sent = next(auth.sync_auth_flow(request))
    assert sent.headers["Content-Type"] == "application/octet-stream"
    expected = ref_signature(
        method="GET",
        rel_url="/session/s1?x=1",
        date="2025-01-01T00:00:00+00:00",
        host="example.com:8443",
        content_type=None,
        version="v9.20250722",
        secret="SK",
    )
    assert sent.headers["Authorization"] == ref_authorization("AK", expected)


def test_auth_multipart_signs_bare_type_and_version_can_change() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    auth = BackendAIAuth("AK", "SK", clock=lambda: when)
    assert auth.api_version == CLIENT_API_VERSION
    auth.api_version = "v8.20240915"
    request = httpx.Request(
        "POST", "http://127.0.0.1:8081/session/s1/upload", files={"src": ("a.txt", b"hi")}
    )
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    sent = next(auth.sync_auth_flow(request))
    expected = ref_signature(
        method="POST",
        rel_url="/session/s1/upload",
        date=format_date(when),
        host="127.0.0.1:8081",
        content_type="multipart/form-data",
        version="v8.20240915",
        secret="SK",
    )
    assert sent.headers["Authorization"] == ref_authorization("AK", expected)
    assert sent.headers["X-BackendAI-Version"] == "v8.20240915"


def test_auth_signs_the_normalised_path_httpx_sends() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    auth = BackendAIAuth("AK", "SK", "v9.20250722", clock=lambda: when)
    sent = next(auth.sync_auth_flow(httpx.Request("GET", "http://h:8081/a/./b/../c d?q=a b")))
    assert sent.url.raw_path == b"/a/c%20d?q=a%20b"
    expected = ref_signature(
        method="GET",
        rel_url="/a/c%20d?q=a%20b",
        date=format_date(when),
        host="h:8081",
        content_type=None,
        version="v9.20250722",
        secret="SK",
    )
    assert sent.headers["Authorization"] == ref_authorization("AK", expected)


def test_auth_default_clock_is_now() -> None:
    auth = BackendAIAuth("AK", "SK")
    sent = next(auth.sync_auth_flow(httpx.Request("GET", "http://h/")))
    sent_at = datetime.fromisoformat(sent.headers["Date"])
    assert sent_at.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60


def test_auth_repr_hides_secret() -> None:
    auth = BackendAIAuth("AKVISIBLE", "SUPERSECRETVALUE")
    assert "SUPERSECRETVALUE" not in repr(auth)
    assert "SUPERSECRETVALUE" not in str(auth)
    assert "AKVISIBLE" in repr(auth)


def test_ws_target_matches_websockets_request_line() -> None:
    assert ws_target("wss://Example.com:443/stream/session/s1/pty") == (
        "example.com",
        "/stream/session/s1/pty",
    )
    assert ws_target("ws://127.0.0.1:8081/stream/session/s1/execute?owner_access_key=A") == (
        "127.0.0.1:8081",
        "/stream/session/s1/execute?owner_access_key=A",
    )
    assert ws_target("ws://h") == ("h", "/")
    assert ws_target("ws://[::1]:9000/x") == ("[::1]:9000", "/x")


def test_ws_headers_default_date_is_now() -> None:
    headers = ws_headers("ws://h/x", api_version="v9.20250722", access_key="AK", secret_key="SK")
    sent_at = datetime.fromisoformat(headers["Date"])
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
    assert headers["X-BackendAI-Date"] == headers["Date"]


# --------------------------------------------------------------------------- properties

METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
UNRESERVED = string.ascii_letters + string.digits + "-._~"
# "." and ".." segments are excluded: httpx removes them (and signs what it sends).
SEGMENT = st.text(alphabet=UNRESERVED, min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)
PATH = st.lists(SEGMENT, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))
QUERY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=10
)
QUERY = st.lists(st.tuples(QUERY_TEXT.filter(bool), QUERY_TEXT), max_size=4)
LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)
HOSTNAME = st.one_of(
    st.lists(LABEL, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
)
PORT = st.one_of(st.none(), st.integers(1, 65535))
BARE_TYPES = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "text/event-stream",
    ]
)
PARAMS = st.sampled_from(["", "; charset=utf-8", ";charset=UTF-8", "; boundary=xyz123", " ; q=1"])
CONTENT_TYPE = st.one_of(
    st.none(),
    st.tuples(BARE_TYPES, st.booleans(), PARAMS).map(
        lambda t: (t[0].upper() if t[1] else t[0]) + t[2]
    ),
)
BODY = st.one_of(st.just(b""), st.binary(max_size=200))
WHEN = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-7, minutes=-30))]
    ),
)
VERSION = st.tuples(
    st.integers(2, 30), st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
).map(lambda t: f"v{t[0]}.{t[1].strftime('%Y%m%d')}")
ACCESS = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=24)
SECRET = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=48
)


def _rel_url(path: str, query: list[tuple[str, str]]) -> str:
    return path + ("?" + urlencode(query) if query else "")


@settings(max_examples=300, deadline=None)
@given(
    method=METHODS,
    path=PATH,
    query=QUERY,
    host=HOSTNAME,
    port=PORT,
    content_type=CONTENT_TYPE,
    when=WHEN,
    version=VERSION,
    access=ACCESS,
    secret=SECRET,
)
def test_property_pure_function(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    host: str,
    port: int | None,
    content_type: str | None,
    when: datetime,
    version: str,
    access: str,
    secret: str,
) -> None:
    netloc = host if port is None else f"{host}:{port}"
    rel_url = _rel_url(path, query)
    date = when.isoformat()  # any time zone: the key day is the header's own
    headers = sign_request(
        method=method,
        rel_url=rel_url,
        host=netloc,
        content_type=content_type,
        date=date,
        api_version=version,
        access_key=access,
        secret_key=secret,
    )
    expected = ref_signature(
        method=method,
        rel_url=rel_url,
        date=date,
        host=netloc,
        content_type=content_type,
        version=version,
        secret=secret,
    )
    assert headers["Authorization"] == ref_authorization(access, expected)
    assert headers["Date"] == headers["X-BackendAI-Date"] == date
    assert headers["X-BackendAI-Version"] == version


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=METHODS,
    path=PATH,
    query=QUERY,
    scheme=st.sampled_from(["http", "https"]),
    host=HOSTNAME,
    port=PORT,
    content_type=CONTENT_TYPE,
    body=BODY,
    when=WHEN,
    version=VERSION,
    access=ACCESS,
    secret=SECRET,
)
def test_property_httpx_auth(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    scheme: str,
    host: str,
    port: int | None,
    content_type: str | None,
    body: bytes,
    when: datetime,
    version: str,
    access: str,
    secret: str,
) -> None:
    default_port = 80 if scheme == "http" else 443
    # The query goes in the URL: ``params=`` would group repeated keys (httpx's QueryParams).
    url = f"{scheme}://{host}" + ("" if port is None else f":{port}") + _rel_url(path, query)
    headers = {} if content_type is None else {"Content-Type": content_type}
    request = httpx.Request(method, url, headers=headers, content=body)
    auth = BackendAIAuth(access, secret, version, clock=lambda: when)
    sent = next(auth.sync_auth_flow(request))
    # What the server sees, derived from our own inputs rather than from httpx.
    wire_host = host if port in (None, default_port) else f"{host}:{port}"
    date = when.astimezone(UTC).isoformat()
    expected = ref_signature(
        method=method,
        rel_url=_rel_url(path, query),
        date=date,
        host=wire_host,
        content_type=content_type,
        version=version,
        secret=secret,
    )
    assert sent.headers["Host"] == wire_host
    assert sent.headers["Date"] == date
    assert sent.headers["Authorization"] == ref_authorization(access, expected)


@settings(max_examples=200, deadline=None)
@given(
    path=PATH,
    query=QUERY,
    secure=st.booleans(),
    host=HOSTNAME,
    port=PORT,
    when=WHEN,
    version=VERSION,
    access=ACCESS,
    secret=SECRET,
)
def test_property_ws_headers(
    path: str,
    query: list[tuple[str, str]],
    secure: bool,
    host: str,
    port: int | None,
    when: datetime,
    version: str,
    access: str,
    secret: str,
) -> None:
    scheme = "wss" if secure else "ws"
    default_port = 443 if secure else 80
    rel_url = _rel_url(path, query)
    url = f"{scheme}://{host}" + ("" if port is None else f":{port}") + rel_url
    headers = ws_headers(url, api_version=version, access_key=access, secret_key=secret, date=when)
    wire_host = host if port in (None, default_port) else f"{host}:{port}"
    expected = ref_signature(
        method="GET",
        rel_url=rel_url,
        date=when.astimezone(UTC).isoformat(),
        host=wire_host,
        content_type="application/octet-stream",
        version=version,
        secret=secret,
    )
    assert headers["Authorization"] == ref_authorization(access, expected)
    assert headers["Content-Type"] == "application/octet-stream"


# --------------------------------------------------------------------------- the wire


def _server_verify(
    *,
    method: str,
    raw_path: str,
    host: str,
    content_type: str,
    headers: Any,
    keys: dict[str, str],
) -> str | None:
    """Verify like the manager does (§1.4); return an error text or None."""
    auth = headers.get("Authorization", "")
    scheme, _, rest = auth.partition(" ")
    if scheme != "BackendAI":
        return "scheme"
    params = dict(part.strip().split("=", 1) for part in rest.split(","))
    access, _, signature = params["credential"].partition(":")
    hash_name = params["signMethod"].removeprefix("HMAC-").lower()
    date = headers.get("Date") or headers.get("X-BackendAI-Date")
    if date is None or access not in keys:
        return "date or key"
    skew = abs((datetime.now(UTC) - datetime.fromisoformat(date)).total_seconds())
    if skew > 15 * 60:
        return "skew"
    expected = ref_signature(
        method=method,
        rel_url=raw_path,
        date=date,
        host=host,
        content_type=content_type,
        version=headers["X-BackendAI-Version"],
        secret=keys[access],
        hash_name=hash_name,
    )
    return None if hmac.compare_digest(expected, signature) else "mismatch"


async def test_signed_requests_verified_by_aiohttp_server() -> None:
    """Real sockets: an aiohttp server (the manager's framework) verifies httpx and websockets."""
    from aiohttp import web  # in the test extra: never skipped

    from tests.http_stub import serving

    keys = {"AKTEST": "s3cr3t/KEY+é"}
    results: list[tuple[str, str | None]] = []

    async def check(request: web.Request) -> web.StreamResponse:
        problem = _server_verify(
            method=request.method,
            raw_path=request.raw_path,
            host=request.host,
            content_type=request.content_type,
            headers=request.headers,
            keys=keys,
        )
        results.append((request.raw_path, problem))
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_str("ok" if problem is None else problem)
            await ws.close()
            return ws
        await request.read()
        return web.json_response({"ok": problem is None}, status=200 if problem is None else 401)

    async with serving(check) as base:
        port = base.rsplit(":", 1)[1]
        auth = BackendAIAuth("AKTEST", keys["AKTEST"], "v8.20240915")
        async with httpx.AsyncClient(base_url=base, auth=auth) as client:
            answers = [
                await client.get("/"),
                await client.get("/session/s 1", params={"owner_access_key": "A/B", "x": "é"}),
                await client.post("/session", json={"name": "x"}),
                await client.post("/session/s1/upload", files={"src": ("a.txt", b"data")}),
                await client.delete("/session/s1", params=[("forced", "true"), ("k", "1+1")]),
                await client.patch("/session/s1", content=b"raw", headers={"X-Extra": "1"}),
            ]
            assert [a.status_code for a in answers] == [200] * len(answers), results
            bad = BackendAIAuth("AKTEST", "wrong", "v8.20240915")
            assert (await client.get("/auth", auth=bad)).status_code == 401
        ws_url = f"ws://127.0.0.1:{port}/stream/session/s1/execute?owner_access_key=A%2FB"
        headers = ws_headers(
            ws_url, api_version="v9.20250722", access_key="AKTEST", secret_key=keys["AKTEST"]
        )
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            assert await ws.recv() == "ok"
        # Without the explicit Content-Type the server still signs octet-stream.
        headers.pop("Content-Type")
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            assert await ws.recv() == "ok"
    assert [problem for _, problem in results].count("mismatch") == 1  # only the wrong key


# --------------------------------------------------------------------------- versions


def test_parse_api_version() -> None:
    assert parse_api_version("v8.20240315") == (8, "20240315")
    assert parse_api_version("v10.20300101") == (10, "20300101")
    for bad in (
        "v8.20240315\n",
        " v8.20240315",
        "8.20240315",
        "v8.2024031",
        "v8.202403150",
        "v8",
        "",
        "V8.20240315",
        "v8.2024-03-15",
    ):
        with pytest.raises(ValueError):
            parse_api_version(bad)


def test_known_versions() -> None:
    assert CLIENT_API_VERSION in KNOWN_API_VERSIONS
    parsed = [parse_api_version(v) for v in KNOWN_API_VERSIONS]
    assert parsed == sorted(parsed)
    assert parse_api_version(MIN_API_VERSION) <= parse_api_version(CLIENT_API_VERSION)


def test_negotiate_picks_lower() -> None:
    assert negotiate_api_version("v8.20240315", "v9.20250722") == "v8.20240315"
    assert negotiate_api_version("v9.20250722", "v8.20240915") == "v8.20240915"
    assert negotiate_api_version("v9.20250722") == CLIENT_API_VERSION
    assert negotiate_api_version("v8.20240915", "v8.20240315") == "v8.20240315"
    # Numeric major, not string order: v10 is newer than v9.
    assert negotiate_api_version("v10.20300101", "v9.20250722") == "v9.20250722"
    assert negotiate_api_version("v9.20250722", "v10.20300101") == "v9.20250722"
    # No usable server answer: keep the client's own.
    assert negotiate_api_version(None) == CLIENT_API_VERSION
    assert negotiate_api_version("garbage") == CLIENT_API_VERSION
    with pytest.raises(ValueError):
        negotiate_api_version("v8.20240315", "bad-client")


@given(a=VERSION, b=VERSION)
def test_property_negotiate_is_min(a: str, b: str) -> None:
    chosen = negotiate_api_version(a, b)
    assert chosen in (a, b)
    assert parse_api_version(chosen) == min(parse_api_version(a), parse_api_version(b))


def test_hello_parsing() -> None:
    hello = {"version": "v9.20250722", "manager": "26.8.1"}
    assert version_from_hello(hello) == "v9.20250722"
    assert hello_manager_version(hello) == "26.8.1"
    assert negotiate_api_version(version_from_hello({"version": "v8.20240315"})) == "v8.20240315"
    bad: object
    for bad in (None, [], "v9.20250722", {"version": 9}, {"version": "latest"}, {}):
        assert version_from_hello(bad) is None
    assert hello_manager_version({"version": "v9.20250722"}) is None


def test_quote_is_stable() -> None:
    """Sanity for the generators above: urlencode output is already valid on the wire."""
    assert quote("/a b") == "/a%20b"
    assert httpx.Request("GET", "http://h/p", params=[("a b", "é/")]).url.raw_path == (
        b"/p?" + urlencode([("a b", "é/")]).encode()
    )


async def test_probe_server_versions_is_unsigned() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "old.example":
            return httpx.Response(200, json={"version": "v8.20240315", "manager": "24.03.0"})
        if request.url.host == "odd.example":
            return httpx.Response(200, text="hello")
        return httpx.Response(503, json={"title": "down"})

    auth = BackendAIAuth("AK", "SK")
    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(handler)) as client:
        versions = await probe_server_versions(client, "http://old.example:8081/")
        assert versions == ("v8.20240315", "24.03.0")
        assert negotiate_api_version(versions[0]) == "v8.20240315"
        assert await probe_server_versions(client, "http://odd.example/api") == (None, None)
        with pytest.raises(httpx.HTTPStatusError):
            await probe_server_versions(client, "http://down.example")
    assert [r.url.raw_path for r in seen] == [b"/", b"/api/", b"/"]
    for request in seen:
        assert "Authorization" not in request.headers
        assert "X-BackendAI-Version" not in request.headers
