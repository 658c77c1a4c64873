"""The ``backendai`` backend: one manager connection per profile, sessions on it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

from runbridge import paths
from runbridge.backends.backendai import remote
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.errors import BackendAIError
from runbridge.backends.backendai.profile import BackendAIProfile
from runbridge.backends.backendai.session import BackendAISession
from runbridge.backends.base import StateCallback, StatusCallback
from runbridge.backends.remote.name_store import NameStore
from runbridge.config import Profile
from runbridge.errors import ConfigError
from runbridge.model import RemoteSession
from runbridge.session_options import SessionOptions

#: The longest bootstrap script a profile's file may hold (characters).
BOOTSTRAP_MAX_CHARS = 1 << 20

if TYPE_CHECKING:
    from runbridge.backends.base import Backend, BackendSession


class BackendAIBackend:
    """Implements :class:`runbridge.backends.base.Backend` for a ``type = "backendai"`` profile.

    The profile's settings are resolved at once (config file, then the SDK's
    ``BACKEND_*`` / ``SORNA_*`` variables), so a missing key is a ``ConfigError``
    when the first session is opened; every session of the profile shares one
    :class:`BackendAIClient` (one ``httpx.AsyncClient``).
    """

    name = "backendai"

    def __init__(
        self,
        profile: Profile,
        environ: Mapping[str, str] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.profile = profile
        self.config = BackendAIProfile.from_profile(
            profile, os.environ if environ is None else environ
        )
        self.client = BackendAIClient(self.config, transport=transport)
        #: The sessions runbridge created on this manager, by endpoint and name.
        self.owned = NameStore(paths.state_dir() / "backendai-sessions.json")

    def open(
        self,
        name: str,
        image: str | None,
        env: dict[str, str],
        on_state: StateCallback,
        on_status: StatusCallback | None = None,
        *,
        options: SessionOptions | None = None,
        attach: str | None = None,
    ) -> BackendAISession:
        session = BackendAISession(
            self.client,
            name,
            image or self.profile.image,
            env,
            on_state,
            group=self.config.group,
            domain=self.config.domain,
            options=self.options(options),
            attach=attach,
            owned=self.owned,
        )
        session.on_status = on_status
        return session

    def options(self, request: SessionOptions | None) -> SessionOptions:
        """The options a session opens with: ``request``'s over the profile's (whose
        bootstrap script file is read now)."""
        profile = self.config.options
        if self.config.bootstrap_script is not None:
            profile = SessionOptions(bootstrap_script=self._read_bootstrap()).over(profile)
        return profile if request is None else request.over(profile)

    def _read_bootstrap(self) -> str:
        path = os.path.expanduser(self.config.bootstrap_script or "")
        try:
            with open(path, encoding="utf-8") as handle:  # one open: no check-then-use
                text = handle.read(BOOTSTRAP_MAX_CHARS + 1)
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"profile {self.profile.name!r} (backendai): bootstrap_script {path!r} cannot "
                f"be read ({why})",
                profile=self.profile.name,
                key="bootstrap_script",
            ) from None
        if len(text) > BOOTSTRAP_MAX_CHARS:
            raise ConfigError(
                f"profile {self.profile.name!r} (backendai): bootstrap_script {path!r} is "
                f"longer than {BOOTSTRAP_MAX_CHARS} characters",
                profile=self.profile.name,
                key="bootstrap_script",
            )
        return text

    async def list_remote(self) -> list[RemoteSession]:
        """The keypair's sessions that are not terminated (:mod:`.remote`)."""
        return await remote.list_sessions(self.client, self.config.access_key, self.owned)

    async def check(self, image: str | None) -> str:
        """Reach the manager (``GET /``: the API version), prove the keys (signed ``GET /auth``).

        Either answer unread (not JSON, not the expected object) is a failure naming the
        endpoint and what came back: a web page answering 200 to everything is no manager.
        """
        client = self.client
        version = await client.negotiate(strict=True)
        response = await client.request(
            "GET", "/auth", params={"echo": "runbridge"}, what="checking the profile's keys"
        )
        problem = _auth_answer_problem(response)
        if problem is not None:
            raise BackendAIError(
                f"the Backend.AI manager at {client.endpoint} answered GET /auth (checking "
                f"the keys) with {problem}: is the endpoint a Backend.AI manager?",
                endpoint=client.endpoint,
            )
        return (
            f"Backend.AI manager {client.endpoint} answers (API {version}) "
            f"and accepts the keys of access key {self.config.access_key[:4]}…"
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _auth_answer_problem(response: httpx.Response) -> str | None:
    """What is wrong with an answer to ``GET /auth`` (None: ``{"authorized": "yes"}``)."""
    try:
        body = response.json()
    except ValueError:
        return f"something that is not JSON (HTTP {response.status_code})"
    if not isinstance(body, dict):
        return "JSON that is not an object"
    if body.get("authorized") != "yes":
        return 'no "authorized": "yes"'
    return None


if TYPE_CHECKING:  # both classes satisfy the contract of runbridge.backends.base

    def _is_backend(backend: BackendAIBackend) -> Backend:
        return backend

    def _is_session(session: BackendAISession) -> BackendSession:
        return session
