"""Reading a remote profile's settings: the checks both remote backends make.

:class:`ProfileReader` holds one profile (and the environment); each backend's reader
subclasses it with the keys of its own. Every error is a
:class:`~runbridge.errors.ConfigError` ``profile 'NAME' (TYPE): KEY PROBLEM`` that names
the key (and, when given, where the value came from: ``(endpoint in the profile)``,
``(BACKEND_ENDPOINT)``), never a value, which may hold a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from runbridge.config import Profile
from runbridge.errors import ConfigError


def _from(where: str | None) -> str:
    return f" ({where})" if where else ""


class ProfileReader:
    """The settings of one profile of type ``backend``, checked as they are read."""

    def __init__(self, profile: Profile, environ: Mapping[str, str], backend: str) -> None:
        self.profile = profile
        self.settings = profile.settings
        self.environ = environ
        self.backend = backend

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(
            f"profile {self.profile.name!r} ({self.backend}): {key} {problem}",
            profile=self.profile.name,
            key=key,
        )

    def text(self, key: str, value: Any, where: str | None = None) -> str:
        """``value`` stripped; anything but a string is an error."""
        if not isinstance(value, str):
            raise self.error(key, f"must be a string{_from(where)}")
        return value.strip()

    def boolean(self, key: str, default: bool) -> bool:
        """The profile's ``key`` (a TOML boolean), else ``default``."""
        value = self.settings.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def seconds(self, key: str, value: Any, where: str | None = None) -> float:
        """``value`` (a number, or a string holding one) as a positive, finite float."""
        if isinstance(value, bool):
            raise self.error(key, f"must be a number of seconds{_from(where)}")
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise self.error(key, f"must be a number of seconds{_from(where)}") from None
        if not seconds > 0 or seconds == float("inf"):
            raise self.error(key, f"must be a positive number of seconds{_from(where)}")
        return seconds

    def http_url(
        self,
        key: str,
        url: str,
        where: str | None = None,
        *,
        query_problem: str = "must not have a query or fragment",
    ) -> SplitResult:
        """The parts of ``url``: http or https, a host, a valid port, no user credentials,
        no query or fragment (``query_problem`` says what is wrong with one)."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError for a bad port)
        except ValueError:
            raise self.error(key, f"is not a valid URL{_from(where)}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(key, f"must be an http:// or https:// URL with a host{_from(where)}")
        if parts.username is not None or parts.password is not None:
            raise self.error(key, f"must not contain user credentials{_from(where)}")
        if parts.query or parts.fragment:
            raise self.error(key, f"{query_problem}{_from(where)}")
        return parts

    def base_url(self, key: str, trim: Callable[[str], str], *, query_problem: str) -> str:
        """The setting ``key`` (present) as a base URL: a non-empty string, a valid
        :meth:`http_url`, its path without the trailing ``/`` and what ``trim`` cuts off
        (e.g. a copied page's ``/lab``)."""
        value = self.settings[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be a non-empty string")
        parts = self.http_url(key, value.strip(), query_problem=query_problem)
        return f"{parts.scheme}://{parts.netloc}{trim(parts.path.rstrip('/'))}"
