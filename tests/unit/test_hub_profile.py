"""Reading the JupyterHub keys of a ``jupyter`` profile (hub_url, user, server_name,
spawn_timeout)."""

from __future__ import annotations

from typing import Any

import pytest

from runbridge.backends.jupyter.hub_profile import DEFAULT_SPAWN_TIMEOUT, HubProfile
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.config import Profile
from runbridge.errors import ConfigError

TOKEN = "hubtoken-0123456789abcdef"
ENV = {"HUB_TOKEN": TOKEN}


def read(**settings: Any) -> JupyterProfile:
    return JupyterProfile.from_profile(Profile(name="h", type="jupyter", settings=settings), ENV)


def problem(**settings: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        read(**settings)
    assert TOKEN not in info.value.message
    return info.value


def test_a_hub_profile_and_its_defaults() -> None:
    config = read(hub_url="http://127.0.0.1:8000/", token_env="HUB_TOKEN")
    assert config.hub == HubProfile(url="http://127.0.0.1:8000")
    assert config.hub.user is None and config.hub.server_name == ""
    assert config.hub.spawn_timeout == DEFAULT_SPAWN_TIMEOUT == 300
    assert config.url == "http://127.0.0.1:8000"  # the hub's, until the server is found
    assert config.token == TOKEN and config.token_source == "token_env HUB_TOKEN"
    assert TOKEN not in repr(config)


def test_every_hub_key() -> None:
    config = read(
        hub_url="https://hub.example/jhub/hub/home",  # copied from the browser
        token=TOKEN,
        user="alice",
        server_name="work",
        spawn_timeout=30,
    )
    assert config.hub == HubProfile(
        url="https://hub.example/jhub", user="alice", server_name="work", spawn_timeout=30.0
    )


def test_a_profile_without_hub_url_has_no_hub() -> None:
    assert read(url="http://127.0.0.1:8888/", token_env="HUB_TOKEN").hub is None


@pytest.mark.parametrize(
    ("settings", "key", "why"),
    [
        (
            {"url": "http://a/", "hub_url": "http://b/", "token": TOKEN},
            "url",
            "url and hub_url are both set",
        ),
        ({"hub_url": "http://b/"}, "token_env", "JupyterHub's API needs a token"),
        ({"hub_url": "ftp://b/", "token": TOKEN}, "hub_url", "must be an http:// or https://"),
        (
            {"hub_url": f"http://b/?token={TOKEN}", "token": TOKEN},
            "hub_url",
            "must not have a query",
        ),
        ({"hub_url": "http://b/", "token": TOKEN, "user": "a/b"}, "user", "without '/'"),
        ({"hub_url": "http://b/", "token": TOKEN, "server_name": 3}, "server_name", "a string"),
        ({"hub_url": "http://b/", "token": TOKEN, "spawn_timeout": 0}, "spawn_timeout", "positive"),
        ({"url": "http://a/", "token": TOKEN, "user": "alice"}, "user", "set hub_url too"),
    ],
)
def test_bad_hub_settings_name_the_key(settings: dict[str, Any], key: str, why: str) -> None:
    error = problem(**settings)
    assert error.data["key"] == key
    assert why in error.message, error.message
