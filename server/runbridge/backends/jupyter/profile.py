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
kernel_env     a table of ``KERNEL_*`` variables sent when a        —
               gateway starts a kernel (Enterprise Gateway:
               ``KERNEL_NAMESPACE``, ``KERNEL_IMAGE``, ...);
               string values of at most 4096 characters
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
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from runbridge import paths
from runbridge.backends.jupyter.hub_profile import TOKEN_IN_QUERY, HubProfile, read_hub_profile
from runbridge.backends.remote.profile import ProfileReader
from runbridge.config import Profile

__all__ = ["DEFAULT_KERNEL", "JupyterProfile"]

log = logging.getLogger(__name__)

DEFAULT_KERNEL = "python3"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_START_TIMEOUT = 300.0
#: Longest value of a ``kernel_env`` variable (Enterprise Gateway 3.3 refuses longer ones).
KERNEL_ENV_VALUE_LIMIT = 4096
_KERNEL_ENV_NAME = re.compile(r"KERNEL_[A-Za-z0-9_]+")


@dataclass(frozen=True, repr=False)
class JupyterProfile:
    """Connection settings for one Jupyter server (or gateway)."""

    name: str
    url: str
    token: str = field(default="", repr=False)
    verify_tls: bool = True
    kernel_name: str = DEFAULT_KERNEL
    username: str | None = None
    #: ``KERNEL_*`` variables sent with every new kernel (gateways).
    kernel_env: Mapping[str, str] = field(default_factory=dict)
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
            f"username={self.username!r}, kernel_env={sorted(self.kernel_env)!r}, "
            f"connect_timeout={self.connect_timeout!r}, "
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
            kernel_env=reader.kernel_env(),
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


def _page_cut(path: str) -> str:
    """A server's base path from a copied page's (``/lab``, ``/tree``, ``/api``)."""
    for suffix in ("/lab", "/tree", "/api"):
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


class _Reader(ProfileReader):
    def __init__(self, profile: Profile, environ: Mapping[str, str]) -> None:
        super().__init__(profile, environ, "jupyter")

    def url(self) -> str:
        if self.settings.get("url") is None:
            raise self.error("url", "is not set: set url to the server's address")
        # e.g. a copied "http://host:8888/lab?token=..." (never echo it: it holds the token)
        return self.base_url("url", _page_cut, query_problem=TOKEN_IN_QUERY)

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

    def kernel_env(self) -> dict[str, str]:
        """The ``kernel_env`` table: ``KERNEL_*`` names, string values (integers are
        taken as their decimal text) of at most :data:`KERNEL_ENV_VALUE_LIMIT` characters."""
        table = self.settings.get("kernel_env")
        if table is None:
            return {}
        if not isinstance(table, Mapping):
            raise self.error(
                "kernel_env", 'must be a table of variables, e.g. { KERNEL_NAMESPACE = "team-a" }'
            )
        env: dict[str, str] = {}
        for name, value in table.items():
            key = f"kernel_env.{name}"
            if not isinstance(name, str) or not _KERNEL_ENV_NAME.fullmatch(name):
                raise self.error(
                    f"kernel_env.{str(name)[:60]}",
                    "is not a KERNEL_* variable name (a gateway passes only KERNEL_ followed "
                    "by letters, digits and underscores on to the kernel)",
                )
            if name == "KERNEL_USERNAME":
                raise self.error(key, "is set by the profile's username key: set username")
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise self.error(key, 'must be a string (e.g. "60")')
            if len(value) > KERNEL_ENV_VALUE_LIMIT:
                raise self.error(
                    key,
                    f"is longer than {KERNEL_ENV_VALUE_LIMIT} characters "
                    "(a gateway refuses longer values)",
                )
            env[name] = value
        return env

    def timeout(self, key: str, default: float) -> float:
        return self.seconds(key, self.settings.get(key, default))
