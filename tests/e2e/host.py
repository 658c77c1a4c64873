"""The session host (``runbridge serve --host``) as a process, and a minimal LSP client
that speaks to it over its socket, or over the stdio of a relay (``runbridge serve``).

A :class:`Client` reads all the time (a task collects every message), so a client that
is not waiting on a request of its own still answers the host's ``runbridge/input``
prompts and receives the output of the sessions it follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tests.conftest import isolated_env, runtime_dir_for
from tests.e2e.raw_wire import RUNBRIDGE, frame, read_message

#: How a client answers ``runbridge/input`` (None: it leaves the prompt open).
Answer = Callable[[dict[str, Any]], Any] | None


def host_env(home: Path, spares: bool = False) -> dict[str, str]:
    """The environment of a host (or of a relay or CLI that reaches the host) under ``home``:
    its own runtime folder, RUNBRIDGE_STANDALONE removed. Without ``spares``, and unless
    the test wrote a ``config.toml`` of its own, the ``local`` profile keeps no spare
    kernel (fewer processes on a small machine)."""
    env = isolated_env(home)
    env.pop("RUNBRIDGE_STANDALONE", None)
    env["SHELL"] = "/bin/sh"  # terminals: no user rc files
    config = home / "config" / "config.toml"
    if not spares and not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text('[profiles.local]\ntype = "local"\nspare_kernels = 0\n')
    return env


def default_socket(home: Path) -> Path:
    """Where a relay or CLI with :func:`host_env` finds the host."""
    return runtime_dir_for(home) / "runbridge" / "host.sock"


def host_processes(sock: Path) -> list[psutil.Process]:
    """Every ``runbridge serve --host`` process serving ``sock`` (however it was started)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "--host" not in cmdline or str(sock) not in cmdline:
            continue
        with contextlib.suppress(psutil.Error):  # it may end between the listing and here
            if proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def stop_process(proc: psutil.Process, timeout: float = 10) -> None:
    """SIGTERM ``proc`` and everything it started; SIGKILL what is left after ``timeout``."""
    with contextlib.suppress(psutil.Error):
        procs = [proc, *proc.children(recursive=True)]
        proc.terminate()
        psutil.wait_procs([proc], timeout=timeout)
        for p in procs:
            with contextlib.suppress(psutil.Error):
                if p.is_running():
                    p.kill()


async def open_socket(
    sock: Path, timeout: float = 20
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the host at ``sock``, once it listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.open_unix_connection(str(sock), limit=1 << 22)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


class Client:
    """A minimal LSP client; ``label`` names it in failure messages."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, label: str = "client"
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.label = label
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []
        self.input_requests: list[dict[str, Any]] = []
        self.answer: Answer = lambda params: {"value": "typed"}
        self.hung_up = asyncio.Event()
        #: The result of ``initialize``.
        self.initialized: dict[str, Any] = {}
        self._changed = asyncio.Event()
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reading = asyncio.ensure_future(self._read_all())

    @classmethod
    async def connect(cls, sock: Path, label: str = "client", timeout: float = 20) -> Client:
        return cls(*await open_socket(sock, timeout), label)

    # -- the wire ----------------------------------------------------------------------
    async def _read_all(self) -> None:
        try:
            while (message := await read_message(self.reader)) is not None:
                self._handle(message)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.hung_up.set()
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"the host hung up on {self.label}"))
            self._changed.set()

    def _handle(self, message: dict[str, Any]) -> None:
        if "method" not in message:
            future = self._replies.pop(message.get("id"), None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(message)
        elif "id" in message:  # a request of the host
            result: Any = None
            if message["method"] == "runbridge/input":
                self.input_requests.append(message)
                if self.answer is None:
                    self._changed.set()
                    return
                result = self.answer(message["params"])
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        else:
            self.notifications.append(message)
        self._changed.set()

    def send(self, message: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame(message))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def start(self, method: str, params: Any = None) -> asyncio.Future[dict[str, Any]]:
        """Send a request; the future is its whole reply message."""
        self.next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self.hung_up.is_set():
            future.set_exception(ConnectionError(f"the host hung up on {self.label}"))
            return future
        self._replies[self.next_id] = future
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return future

    async def request(self, method: str, params: Any = None, timeout: float = 60) -> Any:
        reply = await asyncio.wait_for(self.start(method, params), timeout)
        if "error" in reply:
            raise RuntimeError(f"{method} from {self.label}: {reply['error']}")
        return reply.get("result")

    async def run(self, session: str, code: str, timeout: float = 60) -> dict[str, Any]:
        result = await self.request("runbridge/run", {"session": session, "code": code}, timeout)
        assert isinstance(result, dict)
        return result

    async def initialize(self) -> dict[str, Any]:
        result = await self.request("initialize", {"processId": os.getpid(), "capabilities": {}})
        self.notify("initialized", {})
        self.initialized = dict(result)
        return self.initialized

    # -- what it received --------------------------------------------------------------
    def outputs(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The params of every ``runbridge/output`` received (of one run)."""
        return [
            n["params"]
            for n in self.notifications
            if n["method"] == "runbridge/output"
            and (run_id is None or n["params"]["runId"] == run_id)
        ]

    def stdout(self, run_id: str) -> str:
        return "".join(
            data
            for p in self.outputs(run_id)
            for kind, data, *_ in p["console"]
            if kind == "stdout"
        )

    def logs(self) -> list[str]:
        return [
            n["params"]["message"] for n in self.notifications if n["method"] == "window/logMessage"
        ]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30) -> Any:
        """Wait until ``predicate()`` is truthy, re-checking on every message."""
        async with asyncio.timeout(timeout):
            while not (value := predicate()):
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.2)
            return value

    def freeze(self) -> None:
        """Stop reading (a frozen window): what the host sends waits in the socket, then in
        the host."""
        transport = self.writer.transport
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()

    def thaw(self) -> None:
        transport = self.writer.transport
        assert isinstance(transport, asyncio.ReadTransport)
        transport.resume_reading()

    # -- leaving -----------------------------------------------------------------------
    async def leave(self) -> None:
        """What an editor does on reload: shutdown, then exit once it is answered."""
        await self.request("shutdown")
        self.notify("exit")
        await self.close()

    async def close(self) -> None:
        """Close the connection (no shutdown, no exit: the editor died)."""
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), 5)
        self._reading.cancel()


class Host:
    """``runbridge serve --host`` on ``sock`` (by default where relays under ``home`` look)."""

    def __init__(
        self, home: Path, linger: float = 600, spares: bool = False, sock: Path | None = None
    ) -> None:
        self.home = home
        self.env = host_env(home, spares)
        self.sock = sock or default_socket(home)
        command = [*RUNBRIDGE, "serve", "--host", "--socket", str(self.sock)]
        self.proc = subprocess.Popen(
            [*command, "--linger", str(linger)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # as clients start it
        )
        self.clients: list[Client] = []

    async def client(self, label: str = "client") -> Client:
        """A new connection, initialized; closed by :meth:`stop`."""
        client = await Client.connect(self.sock, label)
        self.clients.append(client)
        await client.initialize()
        return client

    def kernels(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return [
                p
                for p in psutil.Process(self.proc.pid).children(recursive=True)
                if "ipykernel" in " ".join(p.cmdline())
            ]
        return []

    def rss_mb(self) -> float:
        return float(psutil.Process(self.proc.pid).memory_info().rss) / (1 << 20)

    async def exited(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.proc.poll()

    def log(self) -> str:
        path = self.home / "log" / "daemon.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def stop(self) -> None:
        """Close the clients, end the host (SIGTERM) and anything it left."""
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()
        if self.proc.poll() is None:
            stop_process(psutil.Process(self.proc.pid))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


async def spawn_relay(env: dict[str, str], label: str = "relay") -> tuple[Client, Any]:
    """``runbridge serve`` (the relay: ``env`` without RUNBRIDGE_STANDALONE) and a client on
    its stdio; returns the client (not initialized) and the process."""
    proc = await asyncio.create_subprocess_exec(
        *RUNBRIDGE, "serve", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    return Client(proc.stdout, proc.stdin, label), proc
