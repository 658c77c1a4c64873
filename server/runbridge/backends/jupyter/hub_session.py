"""A session of a JupyterHub profile: the user's server first, then a ``jupyter`` session.

:class:`HubSession` is a :class:`~.session.JupyterSession` whose ``start`` first makes
sure the hub has the user's server running (:class:`~.hub.HubServer`: found, or
started with its progress reported to ``on_status``), then starts the session on it
like on any Jupyter Server.
"""

from __future__ import annotations

from runbridge.backends.base import StateCallback, StatusCallback
from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.hub import HubServer
from runbridge.backends.jupyter.kernel_store import KernelStore
from runbridge.backends.jupyter.session import JupyterSession


class HubSession(JupyterSession):
    def __init__(
        self,
        hub: HubServer,
        client: JupyterClient,
        name: str,
        image: str,
        env: dict[str, str],
        on_state: StateCallback,
        on_status: StatusCallback | None,
        *,
        store: KernelStore | None = None,
        attach: str | None = None,
    ) -> None:
        super().__init__(
            client, name, image, env, on_state, store=store, attach=attach, on_status=on_status
        )
        self.hub = hub

    async def start(self) -> None:
        await self.hub.ensure(self._on_status)
        await super().start()
