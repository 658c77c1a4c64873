"""The ``jupyter`` backend: one server connection per profile, sessions on it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

from runbridge.backends.base import StateCallback, StatusCallback
from runbridge.backends.jupyter import remote
from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.errors import JupyterError
from runbridge.backends.jupyter.hub import HubServer
from runbridge.backends.jupyter.hub_session import HubSession
from runbridge.backends.jupyter.kernel_store import KernelStore
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.backends.jupyter.session import JupyterSession
from runbridge.config import Profile
from runbridge.errors import KernelSpecNotFound
from runbridge.model import RemoteSession
from runbridge.session_options import SessionOptions, refuse_options

if TYPE_CHECKING:
    from runbridge.backends.base import Backend, BackendSession


class JupyterBackend:
    """Implements :class:`runbridge.backends.base.Backend` for a ``type = "jupyter"`` profile.

    Every session of the profile shares one :class:`JupyterClient` (one
    ``httpx.AsyncClient``). A Jupyter Server, a Kernel Gateway and an Enterprise
    Gateway are all served; what a gateway lacks (contents, terminals) is
    reported as ``Unsupported`` when asked for.
    """

    name = "jupyter"

    def __init__(
        self,
        profile: Profile,
        environ: Mapping[str, str] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        store: KernelStore | None = None,
    ) -> None:
        self.profile = profile
        self.config = JupyterProfile.from_profile(
            profile, os.environ if environ is None else environ
        )
        self.client = JupyterClient(self.config, transport=transport)
        self._store = store
        #: A profile with hub_url: the user's server on that JupyterHub.
        self.hub = (
            HubServer(self.client, transport=transport) if self.config.hub is not None else None
        )

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
    ) -> JupyterSession:
        refuse_options(options, self.profile.name, self.name)
        if self.hub is not None:
            return HubSession(
                self.hub,
                self.client,
                name,
                image or self.config.kernel_name,
                env,
                on_state,
                on_status,
                store=self._store,
                attach=attach,
            )
        return JupyterSession(
            self.client,
            name,
            image or self.config.kernel_name,
            env,
            on_state,
            store=self._store,
            attach=attach,
            on_status=on_status,
        )

    async def list_remote(self) -> list[RemoteSession]:
        """The server's kernels (:mod:`.remote`), runbridge's own marked; on a hub profile,
        those of the user's server when it runs (none when it does not: it is not started)."""
        if self.hub is not None and not await self.hub.find_running():
            return []
        return await remote.list_kernels(self.client, self._store or KernelStore())

    async def check(self, image: str | None) -> str:
        """``GET /api`` (reachable, token accepted, a Jupyter server) and the kernelspec;
        on a hub profile, the token first, then that check if the user's server runs."""
        if self.hub is not None:
            return await self.hub.check(lambda: self._check_server(image))
        return await self._check_server(image)

    async def _check_server(self, image: str | None) -> str:
        features = await self.client.features()
        kernel = image or self.config.kernel_name
        body = await self.client.get_json(
            "/api/kernelspecs", what="listing kernelspecs (GET /api/kernelspecs)"
        )
        specs = body.get("kernelspecs") if isinstance(body, dict) else None
        if not isinstance(specs, dict):
            raise JupyterError(
                f"the {self.client.where} answered GET /api/kernelspecs without a kernelspecs "
                'table (a JSON object with a "kernelspecs" object): is the url a Jupyter server?',
                endpoint=self.client.endpoint,
                profile=self.profile.name,
            )
        if kernel not in specs:
            known = self.client.quote(", ".join(sorted(map(str, specs))) or "none")
            raise KernelSpecNotFound(
                f"the {self.client.where} has no kernelspec {kernel!r} (it has: {known})",
                image=kernel,
                profile=self.profile.name,
            )
        if features.kind == "kernel-gateway":
            kind = "gateway"
            if features.gateway_version:
                kind = f"Enterprise Gateway {features.gateway_version}"
        else:
            kind = "Jupyter Server" if features.kind == "jupyter-server" else "Jupyter server"
        extras = [
            name
            for name, present in (
                ("sessions", features.sessions_api),
                ("files", features.contents_api),
                ("terminals", features.terminals_api),
            )
            if present
        ]
        return (
            f"{kind} {features.version} at {self.client.endpoint} accepts the token; kernelspec "
            f"{kernel!r} is available ({', '.join(extras) or 'kernels only'})"
        )

    async def aclose(self) -> None:
        if self.hub is not None:
            await self.hub.aclose()
        await self.client.aclose()


if TYPE_CHECKING:  # both classes satisfy the contract of runbridge.backends.base

    def _is_backend(backend: JupyterBackend) -> Backend:
        return backend

    def _is_session(session: JupyterSession) -> BackendSession:
        return session
