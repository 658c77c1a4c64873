"""The conformance suite's backends: one real daemon per backend the tests can start.

``target`` is parametrized over ``local`` (a kernel on this machine), ``jupyter`` on a
stock Jupyter Server, a stock Kernel Gateway and a stock Enterprise Gateway 3.3.0
(``tests/jupyter/servers.py``; the gateway is the test session's shared one), and
``backendai`` on the emulator in both wire generations (``tests/backendai_emulator``).
Each is started once for the package (pytest groups the tests by backend) and driven
only through the daemon's stdio protocol. What a backend cannot do is written here, as
its documentation says it (docs/jupyter.md, docs/backendai.md, docs/protocol.md), and
so is what it does otherwise; the scenarios then assert the ``Unsupported`` error, or
the other behaviour, there instead of skipping (docs/architecture.md lists them).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.backendai.daemon_helpers import ACCESS_KEY, IMAGE, OTHER_IMAGE, SECRET_KEY
from tests.backendai.daemon_helpers import init_options as backendai_options
from tests.backendai_emulator import Emulator
from tests.backendai_emulator.server import TERMINAL
from tests.e2e.conftest import Daemon, start_daemon
from tests.jupyter.conftest import make_server
from tests.jupyter.conftest import profile as jupyter_profile
from tests.jupyter.servers import EG_USER, EnterpriseGateway, ServerProcess

KINDS = [
    "local",
    "jupyter-server",
    "kernel-gateway",
    "enterprise-gateway",
    "backendai-old",
    "backendai-new",
]
#: The Jupyter gateways: kernels and kernelspecs only, no contents, no terminals.
GATEWAYS = ("kernel-gateway", "enterprise-gateway")
#: The per-run output cap given to every daemon, above the 30 MB flood: all of it is sent.
OUTPUT_CAP_MB = 64
#: JSON-RPC codes of docs/protocol.md.
UNSUPPORTED = -32023
FILE_ERROR = -32014


@dataclass
class Target:
    """A backend and the daemon serving it, with what its documentation says it can do."""

    kind: str
    daemon: Daemon
    backend: str
    profile: str
    image: str
    #: An image that is not the session's (opening the name with it is a conflict).
    other_image: str
    server: ServerProcess | None = None
    emulator: Emulator | None = None

    @property
    def url(self) -> str:
        """The server's URL (named in the Unsupported errors); empty on ``local``."""
        if self.server is not None:
            return self.server.url
        return self.emulator.url if self.emulator is not None else ""

    @property
    def files(self) -> bool:
        """upload / download / listFiles: a Kernel or Enterprise Gateway has no contents API."""
        return self.kind not in GATEWAYS

    @property
    def upload_size(self) -> int:
        """The size of the file the round trip uploads: 3 MB, but under the 1 MiB a
        Backend.AI manager takes per file (docs/backendai.md)."""
        return 700 * 1024 + 123 if self.backend == "backendai" else 3 * 1024 * 1024 + 12345

    @property
    def terminals(self) -> bool:
        """openTerminal: a Kernel or Enterprise Gateway has no terminals API."""
        return self.kind not in GATEWAYS

    @property
    def restart(self) -> bool:
        """restart: newer Backend.AI managers answer 501 (docs/backendai.md)."""
        return self.kind != "backendai-new"

    @property
    def display_ids(self) -> bool:
        """Display ids on records: Backend.AI's console has none (docs/protocol.md)."""
        return self.backend != "backendai"

    @property
    def error_exit_code(self) -> int:
        """A query run that raised: 1, but 0 from an old Backend.AI manager (its exitCode)."""
        return 0 if self.kind == "backendai-old" else 1

    @property
    def dead_kernel_replaced(self) -> bool:
        """A kernel that died ends its run ``failed`` and the next run gets a fresh one.

        Not on ``backendai``: the manager answers a run whose kernel died ``finished`` with
        exit code 130, the session stays ``idle``, and the emulator does not replace the
        kernel, so the next run ends the same way with no output."""
        return self.backend != "backendai"

    @property
    def names_the_failing_step(self) -> bool:
        """A batch run's ``message`` names the step that failed and its exit code ("exec
        exited with code 4"); on ``backendai`` there is no message, only the exit code."""
        return self.backend != "backendai"

    @property
    def clean_runs_first(self) -> bool:
        """A batch run's ``clean`` step runs before ``build`` (Backend.AI's order, kept by
        its emulator), not after ``exec`` as docs/protocol.md says."""
        return self.backend == "backendai"

    @property
    def burst_drops_the_stream(self) -> bool:
        """A 30 MB burst of output ends the run ``failed`` ("dropped"): on ``backendai``,
        whose emulator sends what the kernel printed in 0.2 s as one websocket message,
        bigger than runbridge reads (16 MiB). Paced output arrives in full."""
        return self.backend == "backendai"

    def server_sessions(self, name: str) -> int | None:
        """How many live sessions of that name the server has (None: it does not list them)."""
        if self.kind == "jupyter-server":
            assert self.server is not None
            return [s.get("name") for s in self.server.api("GET", "/api/sessions")].count(name)
        if self.emulator is not None:
            ending = (*TERMINAL, "TERMINATING")
            live = [s for s in self.emulator.sessions.values() if s.status not in ending]
            return [s.name for s in live].count(name)
        return None

    def server_terminals(self) -> int | None:
        """How many terminals the server has open (None: it does not say)."""
        if self.kind == "jupyter-server":
            assert self.server is not None
            return len(self.server.api("GET", "/api/terminals"))
        return None


@contextlib.asynccontextmanager
async def daemon_for(home: Path, options: dict[str, Any]) -> AsyncIterator[Daemon]:
    """The daemon, with a plain ``/bin/sh`` for terminals and no Backend.AI keys from the
    environment (each backend's profile comes in ``options``)."""
    options = {**options, "outputCapMb": OUTPUT_CAP_MB}
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # read when the daemon starts
            env.setenv("SHELL", "/bin/sh")
            for prefix in ("BACKEND_", "SORNA_"):
                for key in ("ENDPOINT", "ACCESS_KEY", "SECRET_KEY"):
                    env.delenv(prefix + key, raising=False)
            daemon = await stack.enter_async_context(start_daemon(home, init_options=options))
        yield daemon


@pytest_asyncio.fixture(scope="package", loop_scope="session", params=KINDS)
async def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Target]:
    kind: str = request.param
    home = Path(tempfile.mkdtemp(prefix=f"rb-conf-{kind}-"))
    if kind == "local":
        async with daemon_for(home, {}) as daemon:
            yield Target(kind, daemon, "local", "local", "python3", "other-kernel")
    elif kind in ("jupyter-server", "kernel-gateway"):
        server = make_server(kind, tmp_path_factory.mktemp(kind))
        await asyncio.to_thread(server.start)
        try:
            options = {"profiles": {"jup": jupyter_profile(server.url, server.token)}}
            async with daemon_for(home, {**options, "profile": "jup"}) as daemon:
                yield Target(kind, daemon, "jupyter", "jup", "python3", "other", server=server)
        finally:
            await asyncio.to_thread(server.stop)
    elif kind == "enterprise-gateway":
        gateway: EnterpriseGateway = request.getfixturevalue("enterprise_gateway")
        eg = jupyter_profile(gateway.url, gateway.token, username=EG_USER)
        async with daemon_for(home, {"profiles": {"eg": eg}, "profile": "eg"}) as daemon:
            yield Target(kind, daemon, "jupyter", "eg", "python3", "other", server=gateway)
    else:
        async with (
            Emulator(
                generation=kind.removeprefix("backendai-"),
                access_key=ACCESS_KEY,
                secret_key=SECRET_KEY,
                scheduling_delay=0.1,
                flush_timeout=0.5,
            ) as emulator,
            daemon_for(home, backendai_options(emulator.url)) as daemon,
        ):
            yield Target(kind, daemon, "backendai", "bai", IMAGE, OTHER_IMAGE, emulator=emulator)


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def close_sessions(target: Target) -> AsyncIterator[None]:
    """Each scenario leaves no session open (kernels cost memory; Backend.AI has a quota)."""
    yield
    sessions = (await target.daemon.request("runbridge/listSessions"))["sessions"]
    for session in sessions:
        with contextlib.suppress(Exception):
            await target.daemon.request("runbridge/closeSession", {"name": session["name"]})
