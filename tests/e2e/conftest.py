"""End-to-end fixtures: the real daemon over stdio, driven by a pytest-lsp client.

``daemon`` is one daemon per test module (real kernels are reused between the
module's tests); ``fresh_daemon`` starts a new one for a single test. Both give
a :class:`Daemon`, which records every runbridge notification and answers
``runbridge/input`` requests with ``Daemon.answers``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import isolated_env
from tests.e2e.host import Host

CLIENTS = {"vscode": "visual-studio-code", "neovim": "neovim@v0.11"}


def plain(value: Any) -> Any:
    """pygls gives namedtuples for unknown shapes; turn them back into dicts/lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Daemon:
    def __init__(self, client: LanguageClient, home: Path) -> None:
        self.client = client
        self.home = home
        self.outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.states: list[dict[str, Any]] = []
        self.terminal_data: dict[str, list[str]] = defaultdict(list)
        self.terminal_exits: dict[str, int | None] = {}
        self.input_requests: list[dict[str, Any]] = []
        #: ``runbridge/documentBound`` notifications, in order.
        self.bound: list[dict[str, Any]] = []
        #: How ``runbridge/input`` is answered: a callable taking the params.
        self.answer: Callable[[dict[str, Any]], Any] = lambda p: {"value": ""}
        self.notified = asyncio.Event()

        @client.feature("runbridge/output")
        def on_output(params: Any) -> None:
            p = plain(params)
            self.outputs[p["runId"]].append(p)
            self._poke()

        @client.feature("runbridge/sessionChanged")
        def on_state(params: Any) -> None:
            self.states.append(plain(params)["session"])
            self._poke()

        @client.feature("runbridge/terminalOutput")
        def on_term(params: Any) -> None:
            p = plain(params)
            self.terminal_data[p["terminalId"]].append(p["data"])
            self._poke()

        @client.feature("runbridge/terminalExit")
        def on_term_exit(params: Any) -> None:
            p = plain(params)
            self.terminal_exits[p["terminalId"]] = p["exitCode"]
            self._poke()

        @client.feature("runbridge/documentBound")
        def on_bound(params: Any) -> None:
            self.bound.append(plain(params))
            self._poke()

        @client.feature("runbridge/input")
        async def on_input(params: Any) -> Any:
            p = plain(params)
            self.input_requests.append(p)
            self._poke()
            result = self.answer(p)
            if asyncio.iscoroutine(result):
                result = await result
            return result

    def _poke(self) -> None:
        self.notified.set()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return plain(await self.client.protocol.send_request_async(method, params or {}))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.client.protocol.notify(method, params)

    async def run(self, code: str, session: str = "default", **extra: Any) -> dict[str, Any]:
        return await self.request("runbridge/run", {"session": session, "code": code, **extra})

    def console(self, run_id: str) -> list[list[str]]:
        """Every console record of a run, in order (checks seq increases by one)."""
        records: list[list[str]] = []
        for expected, note in enumerate(self.outputs.get(run_id, []), start=1):
            assert note["seq"] == expected, f"seq {note['seq']} where {expected} was expected"
            records.extend(note["console"])
        return records

    def text(self, run_id: str, kind: str = "stdout") -> str:
        return "".join(r[1] for r in self.console(run_id) if r[0] == kind)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until ``predicate()`` is truthy, re-checking on every notification."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
            self.notified.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.notified.wait(), min(remaining, 0.2))


def server_config(home: Path) -> ClientServerConfig:
    return ClientServerConfig(
        server_command=[sys.executable, "-m", "runbridge", "serve"],
        server_env=isolated_env(home),
    )


@contextlib.asynccontextmanager
async def start_daemon(
    home: Path, client_name: str = "neovim", init_options: dict[str, Any] | None = None
) -> AsyncIterator[Daemon]:
    client = await server_config(home).start()
    daemon = Daemon(client, home)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(CLIENTS[client_name]),
            initialization_options=init_options,
        )
    )
    try:
        yield daemon
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon() -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-e2e-"))
    async with start_daemon(home) as d:
        yield d


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    async with start_daemon(tmp_path / "home") as d:
        yield d


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def start_run(daemon: Daemon, session: str, code: str, marker: str) -> asyncio.Task[Any]:
    """Start a run in the background and wait until its stdout shows ``marker``."""
    before = set(daemon.outputs)
    task = asyncio.create_task(daemon.run(code, session=session))

    def seen() -> bool:
        if task.done():
            return True
        return any(
            marker in daemon.text(rid)
            for rid in daemon.outputs
            if rid not in before and daemon.outputs[rid][0]["session"] == session
        )

    await daemon.wait_for(seen, timeout=30)
    if task.done():
        raise AssertionError(f"the run ended before printing {marker!r}: {task.result()}")
    return task


def png_code(png: bytes) -> str:
    """Kernel code that displays ``png`` (IPython.display, no matplotlib needed)."""
    encoded = base64.b64encode(png).decode()
    return (
        "import base64\nfrom IPython.display import display, Image\n"
        f"display(Image(data=base64.b64decode('{encoded}'), format='png'))\n"
    )


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    """A session host of this test's own (``runbridge serve --host``), stopped at the end."""
    started = Host(tmp_path / "home")
    try:
        yield started
    finally:
        await started.stop()
