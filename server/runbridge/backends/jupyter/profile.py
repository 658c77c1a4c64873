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

A profile may name a JupyterHub instead of ``url``: ``hub_url``, ``user``,
``server_name``, ``spawn_timeout`` (:mod:`.hub_profile`).

With neither ``token_env`` nor ``token`` the server must not require one. A
token given in the config file is warned about when that file is readable by
other users. The token never appears in ``repr``, logs or error messages.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from runbridge import paths
from runbridge.backends.jupyter.hub_profile import HubProfile, read_hub_profile
from runbridge.backends.remote.profile import ProfileReader
from runbridge.config import Profile

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
    #: A profile naming a JupyterHub (``hub_url``, see :mod:`.hub_profile`): ``url`` is
    #: the hub's until the user's server is found or started.
    hub: HubProfile | None = None

    def __repr__(self) -> str:
        return (
            f"JupyterProfile(name={self.name!r}, url={self.url!r}, token='***', "
            f"verify_tls={self.verify_tls!r}, kernel_name={self.kernel_name!r}, "
            f"username={self.username!r}, connect_timeout={self.connect_timeout!r}, "
            f"read_timeout={self.read_timeout!r}, start_timeout={self.start_timeout!r}, "
            f"keep_sessions={self.keep_sessions!r}, hub={self.hub!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_profile(cls, profile: Profile, environ: Mapping[str, str]) -> JupyterProfile:
        """Resolve ``profile``.

        :raises ConfigError: a required value is missing or a value is invalid; the
            message names the key, never the token.
        """
        reader = _Reader(profile, environ)
        hub = read_hub_profile(reader)
        token, source = reader.token()
        return cls(
            name=profile.name,
            url=hub.url if hub is not None else reader.url(),
            hub=hub,
            token=token,
            token_source=source,
            verify_tls=reader.boolean("verify_tls", True),
            kernel_name=profile.image or reader.string("kernel_name") or DEFAULT_KERNEL,
            username=reader.string("username"),
            connect_timeout=reader.timeout("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
            read_timeout=reader.timeout("read_timeout", DEFAULT_READ_TIMEOUT),
            start_timeout=reader.timeout("start_timeout", DEFAULT_START_TIMEOUT),
            keep_sessions=reader.boolean("keep_sessions", True),
        )


def _config_readable_by_others() -> bool:
    try:
        mode = paths.config_file().stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


class _Reader(ProfileReader):
    def __init__(self, profile: Profile, environ: Mapping[str, str]) -> None:
        super().__init__(profile, environ, "jupyter")

    def url(self) -> str:
        value = self.settings.get("url")
        if value is None:
            raise self.error("url", "is not set: set url to the server's address")
        if not isinstance(value, str) or not value.strip():
            raise self.error("url", "must be a non-empty string")
        # e.g. a copied "http://host:8888/lab?token=..." (never echo it: it holds the token)
        parts = self.http_url(
            "url",
            value.strip(),
            query_problem="must not have a query or fragment (put the token in token_env or token)",
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
        token = self.text("token", value)
        if token and _config_readable_by_others():
            log.warning(
                "profile %r: the token is in %s, which other users can read; chmod 600 it "
                "or use token_env",
                self.profile.name,
                paths.config_file(),
            )
        return token, "token in the profile"

    def string(self, key: str) -> str | None:
        value = self.settings.get(key)
        return None if value is None else self.text(key, value) or None

    def timeout(self, key: str, default: float) -> float:
        return self.seconds(key, self.settings.get(key, default))
