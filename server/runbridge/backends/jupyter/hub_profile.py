"""The keys of a ``type = "jupyter"`` profile that names a JupyterHub instead of a server.

=============== ================================================== ==============
key             meaning                                            default
=============== ================================================== ==============
hub_url         the hub's public URL (``http://host:8000/``; a     —
                trailing ``/hub/...`` is dropped)
user            whose server to use                                the token's
                                                                   owner
server_name     a named server of that user (``""``: the default   ``""``
                server)
spawn_timeout   seconds allowed for the hub to start the server    ``300``
=============== ================================================== ==============

A hub profile needs a token (``token_env`` or ``token``); ``url`` and ``hub_url``
together are a :class:`~runbridge.errors.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbridge.backends.remote.profile import ProfileReader

__all__ = ["DEFAULT_SPAWN_TIMEOUT", "HubProfile", "read_hub_profile"]

DEFAULT_SPAWN_TIMEOUT = 300.0


@dataclass(frozen=True)
class HubProfile:
    #: The hub's public URL (scheme, host, base path), without a trailing slash.
    url: str
    #: Whose server; None: the token's owner (``GET /hub/api/user``).
    user: str | None = None
    #: The named server ("" for the user's default server).
    server_name: str = ""
    spawn_timeout: float = DEFAULT_SPAWN_TIMEOUT


#: What a server or hub URL with a query is told (a copied URL may hold the token).
TOKEN_IN_QUERY = "must not have a query or fragment (put the token in token_env or token)"


def read_hub_profile(reader: ProfileReader) -> HubProfile | None:
    """The hub settings of the profile, or None when it has no ``hub_url``.

    :raises ConfigError: naming the key that is wrong.
    """
    settings = reader.settings
    if "hub_url" not in settings:
        for key in ("user", "server_name", "spawn_timeout"):
            if key in settings:
                raise reader.error(key, "is a JupyterHub setting: set hub_url too (not url)")
        return None
    if "url" in settings:
        raise reader.error(
            "url",
            "and hub_url are both set: a profile names either a server (url) or a "
            "JupyterHub (hub_url)",
        )
    if "token_env" not in settings and "token" not in settings:
        raise reader.error(
            "token_env", "is not set: JupyterHub's API needs a token (token_env or token)"
        )
    return HubProfile(
        url=reader.base_url("hub_url", _hub_cut, query_problem=TOKEN_IN_QUERY),
        user=_name(reader, "user"),
        server_name=_name(reader, "server_name") or "",
        spawn_timeout=reader.seconds(
            "spawn_timeout", settings.get("spawn_timeout", DEFAULT_SPAWN_TIMEOUT)
        ),
    )


def _hub_cut(path: str) -> str:
    """The hub's base path from a copied page's (``http://host/hub/home``)."""
    cut = (path + "/").find("/hub/")
    return path if cut == -1 else path[:cut]


def _name(reader: ProfileReader, key: str) -> str | None:
    value = reader.settings.get(key)
    if value is None:
        return None
    text = reader.text(key, value)
    if not text or "/" in text or any(c.isspace() or ord(c) < 32 for c in text):
        raise reader.error(key, "must be a name without '/', spaces or control characters")
    return text
