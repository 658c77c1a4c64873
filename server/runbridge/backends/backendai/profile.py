"""Settings of a ``type = "backendai"`` profile.

Each value comes from the profile's table in ``config.toml`` if set there, else from the
environment variables the official Backend.AI client SDK reads (``BACKEND_<KEY>``, or
``SORNA_<KEY>`` when the former is not set at all — the SDK's ``get_env``), else the
SDK's default:

============== ============================ ================================
key            environment (``BACKEND_`` /  default
               ``SORNA_`` prefix)
============== ============================ ================================
endpoint       ``ENDPOINT``                 ``https://api.cloud.backend.ai``
access_key     ``ACCESS_KEY``               required
secret_key     ``SECRET_KEY``               required
domain         ``DOMAIN``                   ``default``
group          ``GROUP``                    ``default``
verify_tls     ``SKIP_SSLCERT_VALIDATION``  ``true``
               (inverted; yes/no/true/…)
timeout        ``CONNECTION_TIMEOUT``       ``10`` (seconds, connecting)
api_version    —                            negotiated with ``GET /``
resources      —                            ``{}`` (passed to session creation)
cluster_size,  —                            the session options of every session
cluster_mode,                               opened on the profile (a request's
mounts,                                     ``options`` override them, ``resources``
scaling_group,                              slot by slot); ``bootstrap_script`` is a
bootstrap_script,                           file's path, read when a session opens
tag
keep_sessions  —                            ``true``: when the daemon exits, the
                                            sessions stay on the manager (reopening
                                            a name reuses its session); ``false``
                                            destroys them
============== ============================ ================================

Like the SDK, ``BACKEND_ENDPOINT`` may list several URLs separated by commas; runbridge
uses the first. Errors name the key and the variables, never a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runbridge.backends.backendai.auth import parse_api_version
from runbridge.backends.remote.profile import ProfileReader
from runbridge.config import Profile
from runbridge.errors import InvalidParams
from runbridge.session_options import (
    SessionOptions,
    camel_options,
    parse_session_options,
    snake_key,
)

__all__ = ["DEFAULT_ENDPOINT", "DEFAULT_TIMEOUT", "ENV_PREFIXES", "BackendAIProfile"]

DEFAULT_ENDPOINT = "https://api.cloud.backend.ai"
DEFAULT_TIMEOUT = 10.0
ENV_PREFIXES = ("BACKEND_", "SORNA_")

_TRUE = ("y", "yes", "t", "true", "1")
_FALSE = ("n", "no", "f", "false", "0")


def _env(environ: Mapping[str, str], key: str) -> tuple[str, str] | None:
    """``(variable name, value)`` of ``BACKEND_<KEY>``, else ``SORNA_<KEY>``, else None."""
    for prefix in ENV_PREFIXES:
        name = prefix + key
        value = environ.get(name)
        if value is not None:
            return name, value
    return None


def _env_names(key: str) -> str:
    return " or ".join(prefix + key for prefix in ENV_PREFIXES)


@dataclass(frozen=True, repr=False)
class BackendAIProfile:
    """Connection settings for one Backend.AI manager (keypair / HMAC mode)."""

    name: str
    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    domain: str = "default"
    group: str = "default"
    #: The profile's session options (``resources`` included); the bootstrap script is
    #: :attr:`bootstrap_script`, a file read when a session opens.
    options: SessionOptions = field(default_factory=SessionOptions, hash=False)
    bootstrap_script: str | None = None
    verify_tls: bool = True
    api_version: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    keep_sessions: bool = True

    def __repr__(self) -> str:
        return (
            f"BackendAIProfile(name={self.name!r}, endpoint={self.endpoint!r}, "
            f"access_key={self.access_key!r}, secret_key='***', domain={self.domain!r}, "
            f"group={self.group!r}, resources={self.options.resources!r}, "
            f"verify_tls={self.verify_tls!r}, api_version={self.api_version!r}, "
            f"timeout={self.timeout!r}, keep_sessions={self.keep_sessions!r}, "
            f"options={self.options!r}, bootstrap_script={self.bootstrap_script!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_profile(cls, profile: Profile, environ: Mapping[str, str]) -> BackendAIProfile:
        """Resolve ``profile`` (config-file settings first, then ``environ``).

        :raises ConfigError: a required value is missing or a value is invalid; the
            message names the key (and the environment variables), never a secret.
        """
        reader = _Reader(profile, environ)
        endpoint = reader.endpoint()
        access_key = reader.required_str("access_key", "ACCESS_KEY")
        secret_key = reader.required_str("secret_key", "SECRET_KEY")
        options = reader.session_options()
        return cls(
            name=profile.name,
            endpoint=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            domain=reader.optional_str("domain", "DOMAIN", "default"),
            group=reader.optional_str("group", "GROUP", "default"),
            options=options,
            bootstrap_script=reader.bootstrap_script(),
            verify_tls=reader.verify_tls(),
            api_version=reader.api_version(),
            timeout=reader.timeout(),
            keep_sessions=reader.boolean("keep_sessions", True),
        )


class _Reader(ProfileReader):
    def __init__(self, profile: Profile, environ: Mapping[str, str]) -> None:
        super().__init__(profile, environ, "backendai")

    def _source(self, key: str, env_key: str | None) -> tuple[str, Any] | None:
        """``(where, raw value)``: the config file first, then the environment."""
        if key in self.settings:
            return f"{key} in the profile", self.settings[key]
        if env_key is not None:
            found = _env(self.environ, env_key)
            if found is not None:
                return found
        return None

    def required_str(self, key: str, env_key: str) -> str:
        found = self._source(key, env_key)
        if found is None:
            raise self.error(key, f"is not set: set {key} in the profile or {_env_names(env_key)}")
        where, value = found
        value = self.text(key, value, where)
        if not value:
            raise self.error(key, f"is empty ({where})")
        return value

    def optional_str(self, key: str, env_key: str, default: str) -> str:
        found = self._source(key, env_key)
        if found is None:
            return default
        where, value = found
        return self.text(key, value, where) or default

    def endpoint(self) -> str:
        found = self._source("endpoint", "ENDPOINT")
        if found is None:
            return DEFAULT_ENDPOINT
        where, value = found
        first = self.text("endpoint", value, where).split(",")[0].strip().rstrip("/")
        if not first:
            raise self.error("endpoint", f"is empty ({where})")
        self.http_url("endpoint", first, where)
        return first

    def session_options(self) -> SessionOptions:
        """``resources``, ``cluster_size``, ``cluster_mode``, ``mounts``, ``scaling_group``,
        ``tag``: checked as a request's ``options`` are; an error names the profile's key."""
        value = self.settings.get("resources", {})
        if not isinstance(value, dict):
            raise self.error("resources", 'must be a table (e.g. { cpu = 1, mem = "1g" })')
        try:
            return parse_session_options(camel_options(self.settings), "")
        except InvalidParams as exc:
            key = snake_key(str(exc.data.get("field", "")).lstrip("."))
            problem = exc.message.partition("' ")[2] or exc.message
            raise self.error(key, problem) from None

    def bootstrap_script(self) -> str | None:
        value = self.settings.get("bootstrap_script")
        if value is None:
            return None
        path = self.text("bootstrap_script", value)
        if not path:
            raise self.error("bootstrap_script", "is empty (a file's path)")
        return path

    def verify_tls(self) -> bool:
        if "verify_tls" in self.settings:
            return self.boolean("verify_tls", True)
        found = _env(self.environ, "SKIP_SSLCERT_VALIDATION")
        if found is None:
            return True
        name, raw = found
        text = raw.strip().lower()
        if text in _TRUE:
            return False
        if text in _FALSE:
            return True
        raise self.error("verify_tls", f"cannot be read from {name} (use yes or no)")

    def api_version(self) -> str | None:
        value = self.settings.get("api_version")
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error("api_version", "must be a string like 'v9.20250722'")
        try:
            parse_api_version(value)
        except ValueError:
            raise self.error(
                "api_version", f"{value!r} is not of the form vN.YYYYMMDD (e.g. v9.20250722)"
            ) from None
        return value

    def timeout(self) -> float:
        found = self._source("timeout", "CONNECTION_TIMEOUT")
        if found is None:
            return DEFAULT_TIMEOUT
        where, value = found
        return self.seconds("timeout", value, where)
