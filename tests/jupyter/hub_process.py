"""A real JupyterHub (PyPI ``jupyterhub``) with its real proxy (npm ``configurable-http-proxy``)
for the hub tests and the hub benchmark.

The hub runs unmodified from a generated config file in a temporary folder (database,
cookie secret, proxy pid file, the users' homes and Jupyter folders all in it), on
127.0.0.1 ports chosen free: ``DummyAuthenticator``, ``SimpleLocalProcessSpawner``
(``--allow-root`` when run as root), named servers allowed, ``slow_spawn_timeout`` 0 (a
start answers 202 at once, so its progress is followed), and one service token with
``admin:users``, ``admin:servers``, ``access:servers`` and ``tokens``. The spawner is
SimpleLocalProcessSpawner with test hooks chosen by the server's name: ``broken*``
fails in ``pre_spawn_hook`` with :data:`SPAWN_FAILURE` (the hub answers the start with
500), ``crash*`` fails with it a second after the start was accepted (the progress
stream reports it), ``slow*`` takes :data:`SLOW_SPAWN_S` seconds before starting.
Stopping the hub (SIGTERM, then SIGKILL) ends the proxy and the single-user servers with
it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from tests.jupyter.servers import PYTHON, ServerProcess, free_port, http

REPO = Path(__file__).resolve().parents[2]
#: Where scripts/test installs the proxy from npm (git ignores .ci-tools/).
CHP_DIR = REPO / ".ci-tools" / "chp"
CHP_BIN = CHP_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
CHP_VERSION = "5.3.0"
INSTALL_HINT = (
    "install it with `bash scripts/test` (or: npm install --prefix .ci-tools/chp "
    f"configurable-http-proxy@{CHP_VERSION}; pip install -e '.[test]' for jupyterhub)"
)
#: The message of the test spawner's failing ``pre_spawn_hook`` (servers named broken*).
SPAWN_FAILURE = "the test hub has no room for server"
#: How long the test spawner waits before starting a server named slow*.
SLOW_SPAWN_S = 30
#: The users the hub knows from its start.
USERS = ("alice", "bob", "carol")

_CONFIG = """\
import asyncio, os, sys
from jupyterhub.spawner import SimpleLocalProcessSpawner

c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{base}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{base}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "{base}/jupyterhub-proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set({users!r})
c.JupyterHub.allow_named_servers = True
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.JupyterHub.services = [{{"name": "runbridge-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "runbridge-test",
        "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"],
        "services": ["runbridge-test"],
    }}
]


class TestSpawner(SimpleLocalProcessSpawner):
    async def start(self):
        if self.name.startswith("slow"):
            await asyncio.sleep({slow})
        if self.name.startswith("crash"):
            await asyncio.sleep(1)
            raise RuntimeError({failure!r} + " " + self.name)
        return await super().start()


def pre_spawn_hook(spawner):
    if spawner.name.startswith("broken"):
        raise RuntimeError({failure!r} + " " + spawner.name)


c.JupyterHub.spawner_class = TestSpawner
c.Spawner.pre_spawn_hook = pre_spawn_hook
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = {args!r}
c.Spawner.start_timeout = 120
c.Spawner.environment = {environment!r}
c.SimpleLocalProcessSpawner.home_dir_template = "{base}/home/{{username}}"
"""


class HubMissing(RuntimeError):
    pass


def check_installed() -> None:
    """Fail (never skip) with how to install what is missing."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        raise HubMissing(f"jupyterhub is not installed: {INSTALL_HINT}") from None
    if not os.access(CHP_BIN, os.X_OK):
        raise HubMissing(f"configurable-http-proxy is not at {CHP_BIN}: {INSTALL_HINT}")
    if shutil.which("node") is None:
        raise HubMissing("node is not on PATH (configurable-http-proxy runs on Node.js)")


class HubProcess(ServerProcess):
    """``python -m jupyterhub -f CONFIG`` on free 127.0.0.1 ports; ``url`` is its public
    (proxy) URL and ``token`` the service token."""

    kind = "jupyterhub"
    ready_path = "/hub/api/"

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.config_path = base / "jupyterhub_config.py"

    def pick_ports(self) -> None:
        super().pick_ports()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()

    def _write_config(self) -> None:
        base = self.base
        jupyter = base / "jupyter"
        environment = {
            "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
            "JUPYTER_DATA_DIR": str(jupyter / "data"),
            "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "SHELL": "/bin/sh",
            "PYTHONUNBUFFERED": "1",
        }
        self.config_path.write_text(
            _CONFIG.format(
                port=self.port,
                hub_port=self.hub_port,
                proxy_api_port=self.proxy_api_port,
                chp=str(CHP_BIN),
                base=str(base),
                users=USERS,
                token=self.token,
                slow=SLOW_SPAWN_S,
                failure=SPAWN_FAILURE,
                args=["--allow-root"] if os.geteuid() == 0 else [],
                environment=environment,
            )
        )

    def command(self) -> list[str]:
        return [PYTHON, "-m", "jupyterhub", "-f", str(self.config_path)]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env["CONFIGPROXY_AUTH_TOKEN"] = secrets.token_hex(24)
        return env

    def start(self, timeout: float = 60.0) -> str:
        check_installed()
        return super().start(timeout)

    def _start(self, timeout: float) -> str:
        self._write_config()  # with the ports of this attempt
        return super()._start(timeout)

    # -- the hub's REST API, as an administrator (the service token) ---------------------
    def hub_api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        status, answer = http(method, f"{self.url}/hub/api{path}", token or self.token, body)
        if status >= 400:
            raise AssertionError(f"{method} /hub/api{path}: {status} {answer}")
        return answer

    def server_model(self, user: str, server: str = "") -> dict[str, Any] | None:
        """The user's server as the hub reports it (None: not running nor pending)."""
        model = self.hub_api("GET", f"/users/{user}")
        found = model.get("servers", {}).get(server)
        return dict(found) if found else None

    def user_token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token owned by ``user`` (with ``scopes``, else the owner's own)."""
        body: dict[str, Any] = {"note": "runbridge test"}
        if scopes is not None:
            body["scopes"] = scopes
        return str(self.hub_api("POST", f"/users/{user}/tokens", body)["token"])

    def stop_server(self, user: str, server: str = "", timeout: float = 30.0) -> None:
        """Stop the user's server through the hub and wait until it is gone."""
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        self.hub_api("DELETE", path)
        self.wait_stopped(user, server, timeout)

    def wait_stopped(self, user: str, server: str = "", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while (model := self.server_model(user, server)) is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{user}/{server} still there after {timeout} s: {model}")
            time.sleep(0.1)
