"""Reading remote profiles: the checks both remote backends share (ProfileReader)."""

from __future__ import annotations

from typing import Any

import pytest

from runbridge.backends.remote.profile import ProfileReader
from runbridge.config import Profile
from runbridge.errors import ConfigError


def reader(**settings: Any) -> ProfileReader:
    return ProfileReader(Profile(name="p1", type="x", settings=settings), {}, "kind")


def problem(call: Any) -> tuple[str, dict[str, Any]]:
    with pytest.raises(ConfigError) as info:
        call()
    return info.value.message, info.value.data


def test_errors_name_the_profile_its_type_and_the_key() -> None:
    error = reader().error("url", "is wrong")
    assert error.message == "profile 'p1' (kind): url is wrong"
    assert error.data == {"profile": "p1", "key": "url"}


def test_text_is_stripped_and_must_be_a_string() -> None:
    r = reader()
    assert r.text("k", "  v  ") == "v"
    assert problem(lambda: r.text("k", 3)) == (
        "profile 'p1' (kind): k must be a string",
        {"profile": "p1", "key": "k"},
    )
    assert problem(lambda: r.text("k", None, "K in the environment"))[0].endswith(
        "k must be a string (K in the environment)"
    )


def test_booleans_are_toml_booleans() -> None:
    assert reader(b=False).boolean("b", True) is False
    assert reader().boolean("b", True) is True
    for value in ("false", 0, 1, "yes"):
        message, _ = problem(lambda value=value: reader(b=value).boolean("b", True))
        assert message == "profile 'p1' (kind): b must be true or false"


@pytest.mark.parametrize(("value", "seconds"), [(3, 3.0), (2.5, 2.5), ("4", 4.0), (" 1e1 ", 10.0)])
def test_seconds_are_positive_numbers(value: Any, seconds: float) -> None:
    assert reader().seconds("t", value) == seconds


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (True, "must be a number of seconds"),
        ("abc", "must be a number of seconds"),
        ([1], "must be a number of seconds"),
        (None, "must be a number of seconds"),
        (0, "must be a positive number of seconds"),
        (-1, "must be a positive number of seconds"),
        ("inf", "must be a positive number of seconds"),
        ("nan", "must be a positive number of seconds"),
    ],
)
def test_seconds_refused(value: Any, why: str) -> None:
    assert problem(lambda: reader().seconds("t", value))[0] == f"profile 'p1' (kind): t {why}"
    assert problem(lambda: reader().seconds("t", value, "T"))[0].endswith(f"t {why} (T)")


def test_http_urls_give_their_parts() -> None:
    parts = reader().http_url("url", "https://host:8443/base/path")
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        "https",
        "host",
        8443,
        "/base/path",
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://h:99999", "is not a valid URL"),
        ("http://[::1", "is not a valid URL"),
        ("ftp://h", "must be an http:// or https:// URL with a host"),
        ("http://", "must be an http:// or https:// URL with a host"),
        ("h:8888", "must be an http:// or https:// URL with a host"),
        ("http://me:secret@h", "must not contain user credentials"),
        ("http://h/?token=abcdef", "must not have a query or fragment"),
        ("http://h/#top", "must not have a query or fragment"),
    ],
)
def test_http_urls_refused_without_echoing_them(url: str, why: str) -> None:
    message, data = problem(lambda: reader().http_url("url", url))
    assert message == f"profile 'p1' (kind): url {why}"
    assert data == {"profile": "p1", "key": "url"}
    message, _ = problem(lambda: reader().http_url("url", url, "URL in the environment"))
    assert message == f"profile 'p1' (kind): url {why} (URL in the environment)"


def test_the_query_problem_can_say_more() -> None:
    message, _ = problem(
        lambda: reader().http_url("url", "http://h/?t=1", query_problem="has a query (move it)")
    )
    assert message == "profile 'p1' (kind): url has a query (move it)"
