"""Settings of a ``type = "jupyter"`` profile.

============== ==================================================== ==============
key            meaning                                              default
============== ==================================================== ==============
url            the server's URL, with its base path                 required
               (``http://host:8888/`` or ``https://host/user/me/``)
token_env      name of an environment variable holding the token    —
token          the token itself (better: ``token_env``)             —
verify_tls     check the server's TLS certificate                   ``true``
kernel_name    kernelspec of new sessions (the profile's ``image``  ``python3``
               and a session's ``image`` take precedence)
username       sent as ``KERNEL_USERNAME`` when a kernel starts     —
               (Enterprise Gateway authorises users by it)
connect_timeout seconds to connect (REST and websockets)            ``10``
read_timeout   seconds to wait for an answer                        ``60``
start_timeout  seconds to wait for a kernel to start (a gateway     ``300``
               may schedule it on a cluster)
keep_sessions  when the daemon exits, leave the kernels running on   ``true``
               the server (reopening a name reattaches to its
               kernel); ``false`` shuts them down
============== ==================================================== ==============

With neither ``token_env`` nor ``token`` the server must not require one. A
token given in the config file is warned about when that file is readable by
other users. The token never appears in ``repr``, logs or error messages.
"""

from __future__ import annotations

import logging
import math
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from runbridge import paths
from runbridge.config import Profile
from runbridge.errors import ConfigError

__all__ = ["DEFAULT_KERNEL", "JupyterProfile"]

log = logging.getLogger(__name__)

DEFAULT_KERNEL = "python3"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_START_TIMEOUT = 300.0


@dataclass(frozen=True, repr=False)
class JupyterProfile:
    """Connection settings for one Jupyter server (or gateway)."""

    name: str
    url: str
    token: str = field(default="", repr=False)
    verify_tls: bool = True
    kernel_name: str = DEFAULT_KERNEL
    username: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    start_timeout: float = DEFAULT_START_TIMEOUT
    keep_sessions: bool = True
    #: Where the token came from ("token_env FOO", "token in the profile", "none").
    token_source: str = "none"

    def __repr__(self) -> str:
        return (
            f"JupyterProfile(name={self.name!r}, url={self.url!r}, token='***', "
            f"verify_tls={self.verify_tls!r}, kernel_name={self.kernel_name!r}, "
            f"username={self.username!r}, connect_timeout={self.connect_timeout!r}, "
            f"read_timeout={self.read_timeout!r}, start_timeout={self.start_timeout!r}, "
            f"keep_sessions={self.keep_sessions!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_profile(cls, profile: Profile, environ: Mapping[str, str]) -> JupyterProfile:
        """Resolve ``profile``.

        :raises ConfigError: a required value is missing or a value is invalid; the
            message names the key, never the token.
        """
        reader = _Reader(profile, environ)
        token, source = reader.token()
        return cls(
            name=profile.name,
            url=reader.url(),
            token=token,
            token_source=source,
            verify_tls=reader.boolean("verify_tls", True),
            kernel_name=profile.image or reader.string("kernel_name") or DEFAULT_KERNEL,
            username=reader.string("username"),
            connect_timeout=reader.seconds("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
            read_timeout=reader.seconds("read_timeout", DEFAULT_READ_TIMEOUT),
            start_timeout=reader.seconds("start_timeout", DEFAULT_START_TIMEOUT),
            keep_sessions=reader.boolean("keep_sessions", True),
        )


def _config_readable_by_others() -> bool:
    try:
        mode = paths.config_file().stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


class _Reader:
    def __init__(self, profile: Profile, environ: Mapping[str, str]) -> None:
        self.profile = profile
        self.settings = profile.settings
        self.environ = environ

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(
            f"profile {self.profile.name!r} (jupyter): {key} {problem}",
            profile=self.profile.name,
            key=key,
        )

    def url(self) -> str:
        value = self.settings.get("url")
        if value is None:
            raise self.error("url", "is not set: set url to the server's address")
        if not isinstance(value, str) or not value.strip():
            raise self.error("url", "must be a non-empty string")
        url = value.strip()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError for a bad port)
        except ValueError:
            raise self.error("url", "is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error("url", "must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise self.error("url", "must not contain user credentials")
        if parts.query or parts.fragment:
            # e.g. a copied "http://host:8888/lab?token=..." (never echo it: it holds the token)
            raise self.error(
                "url", "must not have a query or fragment (put the token in token_env or token)"
            )
        path = parts.path.rstrip("/")
        for suffix in ("/lab", "/tree", "/api"):
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        return f"{parts.scheme}://{parts.netloc}{path}"

    def token(self) -> tuple[str, str]:
        env_name = self.settings.get("token_env")
        if env_name is not None:
            if not isinstance(env_name, str) or not env_name.strip():
                raise self.error("token_env", "must be the name of an environment variable")
            env_name = env_name.strip()
            value = self.environ.get(env_name)
            if value is None or not value.strip():
                raise self.error(
                    "token_env", f"names {env_name}, which is not set (or empty) in the environment"
                )
            return value.strip(), f"token_env {env_name}"
        value = self.settings.get("token")
        if value is None:
            return "", "none"
        if not isinstance(value, str):
            raise self.error("token", "must be a string")
        if value.strip() and _config_readable_by_others():
            log.warning(
                "profile %r: the token is in %s, which other users can read; chmod 600 it "
                "or use token_env",
                self.profile.name,
                paths.config_file(),
            )
        return value.strip(), "token in the profile"

    def string(self, key: str) -> str | None:
        value = self.settings.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, "must be a string")
        return value.strip() or None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.settings.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def seconds(self, key: str, default: float) -> float:
        value: Any = self.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(key, "must be a number of seconds")
        try:
            seconds = float(value)
        except ValueError:
            raise self.error(key, "must be a number of seconds") from None
        if not seconds > 0 or math.isinf(seconds):
            raise self.error(key, "must be a positive number of seconds")
        return seconds
