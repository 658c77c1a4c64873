"""``backendai`` profiles: config file first, then the SDK's BACKEND_* / SORNA_* variables."""

from __future__ import annotations

from typing import Any

import pytest

from runbridge.backends.backendai.profile import (
    DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT,
    BackendAIProfile,
)
from runbridge.config import Profile
from runbridge.errors import ConfigError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEYS = {"BACKEND_ACCESS_KEY": "AKIAENV", "BACKEND_SECRET_KEY": SECRET}


def prof(**settings: Any) -> Profile:
    return Profile(name="bai", type="backendai", image="python:3.11", settings=settings)


def load(environ: dict[str, str] | None = None, **settings: Any) -> BackendAIProfile:
    return BackendAIProfile.from_profile(prof(**settings), environ or {})


def error(environ: dict[str, str] | None = None, **settings: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(environ, **settings)
    return info.value


def test_defaults_from_environment_only() -> None:
    p = load(dict(KEYS))
    assert p.name == "bai"
    assert p.endpoint == DEFAULT_ENDPOINT == "https://api.cloud.backend.ai"
    assert (p.access_key, p.secret_key) == ("AKIAENV", SECRET)
    assert (p.domain, p.group) == ("default", "default")
    assert p.options.resources == {}
    assert p.verify_tls is True
    assert p.api_version is None
    assert p.timeout == DEFAULT_TIMEOUT
    assert p.keep_sessions is True


def test_config_file_beats_environment() -> None:
    environ = {
        **KEYS,
        "BACKEND_ENDPOINT": "http://env.example:8081",
        "BACKEND_DOMAIN": "envdomain",
        "BACKEND_GROUP": "envgroup",
        "BACKEND_SKIP_SSLCERT_VALIDATION": "yes",
        "BACKEND_CONNECTION_TIMEOUT": "3",
    }
    p = load(
        environ,
        endpoint="https://file.example/api/",
        access_key="AKFILE",
        secret_key="filesecret",
        domain="d1",
        group="g1",
        resources={"cpu": 2, "mem": "4g"},
        verify_tls=True,
        api_version="v8.20240915",
        timeout=30,
        keep_sessions=False,
    )
    assert p.endpoint == "https://file.example/api"
    assert (p.access_key, p.secret_key) == ("AKFILE", "filesecret")
    assert (p.domain, p.group) == ("d1", "g1")
    assert p.options.resources == {"cpu": 2, "mem": "4g"}
    assert p.verify_tls is True
    assert p.api_version == "v8.20240915"
    assert p.timeout == 30.0
    assert p.keep_sessions is False


def test_environment_fills_what_the_file_omits() -> None:
    environ = {
        **KEYS,
        "BACKEND_ENDPOINT": "http://127.0.0.1:8081",
        "BACKEND_GROUP": "envgroup",
        "BACKEND_SKIP_SSLCERT_VALIDATION": "true",
        "BACKEND_CONNECTION_TIMEOUT": "2.5",
    }
    p = load(environ, access_key="AKFILE")
    assert p.access_key == "AKFILE"
    assert p.secret_key == SECRET
    assert p.endpoint == "http://127.0.0.1:8081"
    assert p.group == "envgroup"
    assert p.domain == "default"
    assert p.verify_tls is False
    assert p.timeout == 2.5


def test_backend_prefix_beats_sorna_prefix() -> None:
    environ = {
        **KEYS,
        "SORNA_ACCESS_KEY": "AKSORNA",
        "SORNA_SECRET_KEY": "sornasecret",
        "SORNA_ENDPOINT": "http://sorna.example",
        "BACKEND_ENDPOINT": "http://backend.example",
        "SORNA_DOMAIN": "sornadomain",
    }
    p = load(environ)
    assert (p.access_key, p.secret_key) == ("AKIAENV", SECRET)
    assert p.endpoint == "http://backend.example"
    assert p.domain == "sornadomain"  # no BACKEND_DOMAIN: the SORNA_ one is used


def test_sorna_fallback() -> None:
    environ = {
        "SORNA_ACCESS_KEY": "AKSORNA",
        "SORNA_SECRET_KEY": "sornasecret",
        "SORNA_ENDPOINT": "http://sorna.example:8080",
        "SORNA_DOMAIN": "sd",
        "SORNA_GROUP": "sg",
        "SORNA_SKIP_SSLCERT_VALIDATION": "1",
    }
    p = load(environ)
    assert (p.access_key, p.secret_key) == ("AKSORNA", "sornasecret")
    assert p.endpoint == "http://sorna.example:8080"
    assert (p.domain, p.group) == ("sd", "sg")
    assert p.verify_tls is False


def test_set_but_empty_backend_variable_shadows_sorna_like_the_sdk() -> None:
    err = error({"BACKEND_ACCESS_KEY": "", "SORNA_ACCESS_KEY": "AK", "BACKEND_SECRET_KEY": "x"})
    assert "access_key" in err.message
    assert "BACKEND_ACCESS_KEY" in err.message
    assert err.data["key"] == "access_key"


@pytest.mark.parametrize(
    ("environ", "key", "variable"),
    [
        ({"BACKEND_SECRET_KEY": SECRET}, "access_key", "BACKEND_ACCESS_KEY"),
        ({"BACKEND_ACCESS_KEY": "AK"}, "secret_key", "BACKEND_SECRET_KEY"),
        ({}, "access_key", "SORNA_ACCESS_KEY"),
    ],
)
def test_missing_key_is_named(environ: dict[str, str], key: str, variable: str) -> None:
    err = error(environ)
    assert key in err.message
    assert variable in err.message
    assert "bai" in err.message
    assert err.data == {"profile": "bai", "key": key}
    assert SECRET not in err.message
    assert SECRET not in repr(err.data)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"secret_key": 12345}, "secret_key"),
        ({"secret_key": "   "}, "secret_key"),
        ({"access_key": ["x"]}, "access_key"),
        ({"endpoint": "ftp://h"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "http://h:notaport"}, "endpoint"),
        ({"endpoint": 8080}, "endpoint"),
        ({"endpoint": ""}, "endpoint"),
        ({"endpoint": "http://h/?q=1"}, "endpoint"),
        ({"domain": 1}, "domain"),
        ({"group": False}, "group"),
        ({"resources": "cpu=1"}, "resources"),
        ({"verify_tls": "no"}, "verify_tls"),
        ({"api_version": "9"}, "api_version"),
        ({"api_version": 9}, "api_version"),
        ({"timeout": "soon"}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"keep_sessions": "false"}, "keep_sessions"),
        ({"keep_sessions": 0}, "keep_sessions"),
    ],
)
def test_invalid_values_are_named(settings: dict[str, Any], key: str) -> None:
    err = error(dict(KEYS), **settings)
    assert key in err.message
    assert err.data["key"] == key
    assert SECRET not in err.message


def test_invalid_environment_values_are_named() -> None:
    err = error({**KEYS, "BACKEND_SKIP_SSLCERT_VALIDATION": "maybe"})
    assert "verify_tls" in err.message and "BACKEND_SKIP_SSLCERT_VALIDATION" in err.message
    err = error({**KEYS, "SORNA_CONNECTION_TIMEOUT": "x"})
    assert "timeout" in err.message and "SORNA_CONNECTION_TIMEOUT" in err.message
    err = error({**KEYS, "BACKEND_ENDPOINT": "api.example.com"})
    assert "endpoint" in err.message and "BACKEND_ENDPOINT" in err.message


def test_endpoint_with_credentials_is_refused_without_echoing_them() -> None:
    err = error(dict(KEYS), endpoint="https://user:hunter2pass@h.example")
    assert "endpoint" in err.message
    assert "hunter2pass" not in err.message


def test_endpoint_list_uses_first_like_the_sdk() -> None:
    p = load({**KEYS, "BACKEND_ENDPOINT": "http://a.example:1/, http://b.example:2"})
    assert p.endpoint == "http://a.example:1"


def test_secret_absent_from_repr_and_str() -> None:
    p = load(dict(KEYS))
    for text in (repr(p), str(p), f"{p}", f"{p!r}"):
        assert SECRET not in text
        assert "AKIAENV" in text
        assert "***" in text
    assert p.secret_key == SECRET


def test_secret_absent_from_every_error() -> None:
    bad_settings: list[dict[str, Any]] = [
        {"endpoint": "ftp://x"},
        {"timeout": "x"},
        {"api_version": "x"},
        {"verify_tls": 3},
        {"resources": 1},
        {"domain": 2},
    ]
    for settings in bad_settings:
        err = error({**KEYS}, secret_key=SECRET, **settings)
        assert SECRET not in str(err)
        assert SECRET not in repr(err.data)


def test_profile_is_frozen() -> None:
    p = load(dict(KEYS))
    with pytest.raises(AttributeError):
        p.secret_key = "x"  # type: ignore[misc]


def test_resources_are_copied() -> None:
    resources = {"cpu": 1}
    p = load(dict(KEYS), resources=resources)
    resources["cpu"] = 99
    assert p.options.resources == {"cpu": 1}


def test_session_options_in_the_profile() -> None:
    p = load(
        dict(KEYS),
        resources={"cpu": 2, "mem": "4g"},
        cluster_size=2,
        cluster_mode="multi-node",
        mounts=[{"name": "data"}, {"name": "models", "target": "/opt/models"}],
        scaling_group="gpu",
        bootstrap_script="~/bootstrap.sh",
        tag="exp",
    )
    assert p.options.resources == {"cpu": 2, "mem": "4g"}
    assert (p.options.cluster_size, p.options.cluster_mode) == (2, "multi-node")
    assert [m.target for m in p.options.mounts or ()] == [None, "/opt/models"]
    assert (p.options.scaling_group, p.options.tag) == ("gpu", "exp")
    assert p.options.bootstrap_script is None and p.bootstrap_script == "~/bootstrap.sh"


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"resources": {"cpu": 0}}, "resources.cpu"),
        ({"cluster_size": 0}, "cluster_size"),
        ({"cluster_mode": "everywhere"}, "cluster_mode"),
        ({"mounts": [{"name": "a"}, {"name": "b", "target": "../x"}]}, "mounts[1].target"),
        ({"scaling_group": 7}, "scaling_group"),
        ({"bootstrap_script": ""}, "bootstrap_script"),
    ],
)
def test_a_bad_session_option_in_the_profile_names_its_key(
    settings: dict[str, Any], key: str
) -> None:
    exc = error(dict(KEYS), **settings)
    assert exc.data["key"] == key and f"{key} " in exc.message, exc.message
