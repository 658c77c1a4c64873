"""The daemon's life: initialize, settings, every way out, and a clean stdout.

Each test starts its own daemon: these tests end daemons on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import client_capabilities

from tests.conftest import isolated_env
from tests.e2e.conftest import CLIENTS, Daemon, plain, server_config

#: How long the daemon's children may outlive it.
CLEANUP_S = 2.0


# -- helpers ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def launch(
    home: Path,
    client_name: str = "neovim",
    init_options: Any = None,
    process_id: int | None = None,
    own_session: bool = False,
) -> AsyncIterator[tuple[Daemon, dict[str, Any]]]:
    """A daemon and its initialize result; stopped at the end if the test did not.

    ``own_session``: the daemon leads a process session (and group) of its own.
    """
    config = server_config(home)
    config.server_env = {**(config.server_env or {}), "SHELL": "/bin/sh"}  # no user rc files
    if own_session:
        command = config.server_command
        setsid_then_serve = f"import os; os.setsid(); os.execv({command[0]!r}, {command!r})"
        config.server_command = [sys.executable, "-c", setsid_then_serve]
    client = await config.start()
    daemon = Daemon(client, home)
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(CLIENTS[client_name]),
            initialization_options=init_options,
            process_id=process_id,
        )
    )
    try:
        yield daemon, plain(result.capabilities.experimental)["runbridge"]
    finally:
        server = client._server
        if server is not None and server.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_session(), 10)
            if server.returncode is None:
                server.kill()
                await server.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.stop(), 5)


def server_pid(daemon: Daemon) -> int:
    server = daemon.client._server
    assert server is not None
    return server.pid


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_all_gone(procs: list[psutil.Process], within: float = CLEANUP_S) -> None:
    deadline = time.monotonic() + within
    alive = [p for p in procs if _alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _alive(p)]
    described = []
    for p in alive:
        with contextlib.suppress(psutil.Error):
            described.append(f"{p.pid} {p.cmdline()}")
    assert not alive, f"still running {within}s after the daemon exited: {described}"


async def wait_exit(process: asyncio.subprocess.Process, timeout: float = 10) -> int:
    return await asyncio.wait_for(process.wait(), timeout)


async def start_busy_daemon(daemon: Daemon) -> list[psutil.Process]:
    """Two kernels (one with a child process of its own) and a terminal running a job."""
    for name in ("one", "two"):
        info = await daemon.request("runbridge/openSession", {"name": name})
        assert info["state"] == "idle"
    result = await daemon.run(
        "import subprocess\nchild = subprocess.Popen(['sleep', '300'])\nprint(child.pid)",
        session="two",
    )
    assert result["status"] == "finished"
    kernel_child = int(daemon.text(result["runId"]))
    terminal = await daemon.request("runbridge/openTerminal", {"session": "one"})
    tid = terminal["terminalId"]
    daemon.notify(
        "runbridge/terminalInput", {"terminalId": tid, "data": "sleep 302 &\nsleep 301\n"}
    )
    pid = server_pid(daemon)

    def sleeps() -> list[psutil.Process]:
        found = []
        for p in descendants(pid):
            with contextlib.suppress(psutil.Error):
                if p.name() == "sleep":
                    found.append(p)
        return found

    await daemon.wait_for(lambda: len(sleeps()) == 3, timeout=15)
    procs = descendants(pid)
    assert kernel_child in {p.pid for p in procs}
    # two kernels, their sleep, the shell and its sleep, at least
    assert len(procs) >= 5, procs
    return procs


# -- initialize ---------------------------------------------------------------------


@pytest.mark.parametrize("client_name", sorted(CLIENTS))
async def test_initialize_reports_runbridge_capabilities(tmp_path: Path, client_name: str) -> None:
    options = {"profiles": {"gpu": {"type": "local", "image": "python3"}}}
    async with launch(tmp_path / "home", client_name, options) as (daemon, caps):
        assert caps["protocolVersion"] == 1
        assert "local" in caps["backends"]
        assert caps["defaultProfile"] == "local"
        assert caps["defaultSession"] == "default"
        profiles = {p["name"]: p for p in caps["profiles"]}
        assert profiles["local"] == {
            "name": "local",
            "type": "local",
            "image": None,
            "available": True,
        }
        assert profiles["gpu"]["image"] == "python3"
        assert profiles["gpu"]["available"] is True
        result = await daemon.run("print('up')", session="caps")
        assert daemon.text(result["runId"]) == "up\n"


async def test_check_profile_says_whether_sessions_could_open(tmp_path: Path) -> None:
    options = {"profiles": {"ghostly": {"type": "local", "image": "no-such-kernel"}}}
    async with launch(tmp_path / "home", "neovim", options) as (daemon, _):
        local = await daemon.request("runbridge/checkProfile", {"profile": "local"})
        assert local["ok"] is True and local["type"] == "local", local
        assert "'python3'" in local["message"], local
        ghost = await daemon.request("runbridge/checkProfile", {"profile": "ghostly"})
        assert ghost["ok"] is False, ghost
        assert "no Jupyter kernelspec named 'no-such-kernel'" in ghost["message"], ghost
        with pytest.raises(JsonRpcException) as caught:
            await daemon.request("runbridge/checkProfile", {"profile": "missing"})
        assert caught.value.code == -32010 and "unknown profile 'missing'" in str(caught.value)
        # checking starts nothing
        assert (await daemon.request("runbridge/listSessions"))["sessions"] == []


async def test_init_options_profile_and_output_cap_are_honoured(tmp_path: Path) -> None:
    options = {
        "profiles": {"big": {"type": "local"}, "remote": {"type": "jupyter"}},
        "outputCapMb": 1,
    }
    async with launch(tmp_path / "home", "vscode", options) as (daemon, caps):
        profiles = {p["name"]: p for p in caps["profiles"]}
        assert profiles["remote"]["available"] is True
        info = await daemon.request("runbridge/openSession", {"name": "capped", "profile": "big"})
        assert info["profile"] == "big"
        result = await daemon.run("print('x' * 3_000_000)", session="capped")
        assert result["status"] == "finished"
        run_id = result["runId"]
        shown = daemon.text(run_id)
        assert shown == "x" * (1024 * 1024)
        notice = daemon.text(run_id, "stderr")
        assert result["transcript"] in notice
        assert notice.count("[runbridge]") == 1
        # the transcript keeps everything
        full = ""
        with open(result["transcript"], encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                if record["run"] == run_id and record["kind"] == "stdout":
                    full += record["data"]
        assert full == "x" * 3_000_000 + "\n"
        # a profile missing a required setting is refused clearly
        with pytest.raises(JsonRpcException) as refused:
            await daemon.request("runbridge/openSession", {"name": "r", "profile": "remote"})
        assert refused.value.code == -32010
        assert "'remote' (jupyter): url is not set" in refused.value.message


async def test_invalid_init_option_warns_and_the_daemon_still_works(tmp_path: Path) -> None:
    async with launch(tmp_path / "home", "neovim", {"outputCapMb": "lots"}) as (daemon, caps):
        warnings = [
            m.message for m in daemon.client.log_messages if m.type == types.MessageType.Warning
        ]
        assert any("outputCapMb" in m and "lots" in m for m in warnings), warnings
        assert caps["protocolVersion"] == 1
        result = await daemon.run("print(2 ** 10)")
        assert result["status"] == "finished"
        assert daemon.text(result["runId"]) == "1024\n"


async def test_config_file_profiles_and_default_profile_are_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        'default_profile = "team"\n\n[profiles.team]\ntype = "local"\nimage = "python3"\n'
    )
    config.chmod(0o600)
    async with launch(home) as (daemon, caps):
        assert caps["defaultProfile"] == "team"
        assert "team" in {p["name"] for p in caps["profiles"]}
        assert not [m for m in daemon.client.log_messages if "config" in m.message]
        info = await daemon.request("runbridge/openSession", {"name": "cfg"})
        assert info["profile"] == "team"
        listed = await daemon.request("runbridge/listSessions")
        assert [(s["name"], s["profile"]) for s in listed["sessions"]] == [("cfg", "team")]


async def test_daemon_log_is_written_to_the_log_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with launch(home, "neovim", {"outputCapMb": -1}) as (daemon, caps):
        log = home / "log" / "daemon.log"
        assert caps["logFile"] == str(log)  # editors open it from "Show Daemon Log"
        await daemon.wait_for(lambda: log.exists() and "outputCapMb" in log.read_text())
        text = log.read_text()
        assert f"runbridge daemon starting (pid {server_pid(daemon)})" in text
        assert "must be positive" in text


# -- ways out -----------------------------------------------------------------------


async def test_shutdown_then_exit_ends_everything_with_code_zero(tmp_path: Path) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        procs = await start_busy_daemon(daemon)
        server = daemon.client._server
        assert server is not None
        await asyncio.wait_for(daemon.client.shutdown_async(None), 15)
        daemon.client.exit(None)
        assert await wait_exit(server) == 0
        assert_all_gone(procs)


async def test_exit_without_shutdown_ends_everything_with_code_one(tmp_path: Path) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        procs = await start_busy_daemon(daemon)
        server = daemon.client._server
        assert server is not None
        daemon.client.exit(None)
        assert await wait_exit(server) == 1
        assert_all_gone(procs)


async def test_sigterm_ends_everything_with_code_one(tmp_path: Path) -> None:
    async with launch(tmp_path / "home") as (daemon, _):
        procs = await start_busy_daemon(daemon)
        server = daemon.client._server
        assert server is not None
        server.terminate()
        assert await wait_exit(server) == 1
        assert_all_gone(procs)


async def test_editor_process_gone_ends_everything(tmp_path: Path) -> None:
    editor = await asyncio.create_subprocess_exec("sleep", "60")
    try:
        async with launch(tmp_path / "home", process_id=editor.pid) as (daemon, _):
            result = await daemon.run("print('watched')", session="w")
            assert daemon.text(result["runId"]) == "watched\n"
            procs = descendants(server_pid(daemon))
            assert procs
            server = daemon.client._server
            assert server is not None
            editor.kill()
            await editor.wait()
            # the watchdog looks every 2 s
            assert await wait_exit(server, timeout=10) == 1
            assert_all_gone(procs)
    finally:
        if editor.returncode is None:
            editor.kill()
            await editor.wait()


# -- a hand-written client: real Content-Length framing over pipes ------------------


class RawClient:
    """Speaks JSON-RPC with Content-Length framing and checks every byte the daemon writes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.messages: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.frames = 0
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, home: Path) -> RawClient:
        env = isolated_env(home)
        # as outside pytest: ipykernel does not capture fd 1 when it sees this variable
        env.pop("PYTEST_CURRENT_TEST", None)
        env["SHELL"] = "/bin/sh"  # no user rc files
        stderr = (home / "stderr.txt").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "runbridge",
            "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
        stderr.close()
        return cls(process)

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any, timeout: float = 30) -> dict[str, Any]:
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        self._write({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                headers: dict[str, str] = {}
                while True:
                    line = await stdout.readline()
                    if not line:
                        if headers:
                            self.violations.append(f"EOF inside headers {headers}")
                        return
                    if line == b"\r\n":
                        break
                    if not line.endswith(b"\r\n"):
                        self.violations.append(f"not a header line: {line[:200]!r}")
                        return
                    name, sep, value = line[:-2].decode("ascii").partition(": ")
                    if not sep or name not in ("Content-Length", "Content-Type"):
                        self.violations.append(f"not a header line: {line[:200]!r}")
                        return
                    headers[name] = value
                if "Content-Length" not in headers:
                    self.violations.append(f"no Content-Length in {headers}")
                    return
                body = await stdout.readexactly(int(headers["Content-Length"]))
                message = json.loads(body)
                if message.get("jsonrpc") != "2.0":
                    self.violations.append(f"not JSON-RPC 2.0: {message}")
                self.frames += 1
                self._handle(message)
        except Exception as exc:  # a partial frame or bad JSON
            self.violations.append(f"{type(exc).__name__}: {exc}")

    def _handle(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if "method" in message and "id" in message:  # a request from the daemon
            self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        else:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)

    def console(self, run_id: str) -> list[list[str]]:
        return [
            record
            for n in self.notifications
            if n["method"] == "runbridge/output" and n["params"]["runId"] == run_id
            for record in n["params"]["console"]
        ]


async def test_stdin_eof_cleans_up_and_stdout_is_only_framed_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = await RawClient.start(home)
    init = await client.request(
        "initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}}
    )
    assert init["result"]["capabilities"]["experimental"]["runbridge"]["protocolVersion"] == 1
    client.notify("initialized", {})
    reply = await client.request("runbridge/openSession", {"name": "eof"})
    assert reply["result"]["state"] == "idle"
    code = (
        "import os, subprocess, sys\n"
        "os.system('echo leak')\n"
        "subprocess.run(['sh', '-c', 'echo leak2 >&1; echo err2 >&2'])\n"
        "print('printed')\n"
        "sys.__stdout__.write('raw\\n'); sys.__stdout__.flush()\n"
        "os.write(1, b'fd1\\n')\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
    )
    reply = await client.request(
        "runbridge/run", {"session": "eof", "code": code, "uri": "file:///x.py"}
    )
    result = reply["result"]
    assert result["status"] == "finished", result
    stdout = "".join(d for k, d in client.console(result["runId"]) if k == "stdout")
    for text in ("leak\n", "leak2\n", "printed\n", "raw\n", "fd1\n"):
        assert text in stdout
    stderr = "".join(d for k, d in client.console(result["runId"]) if k == "stderr")
    assert "err2\n" in stderr
    reply = await client.request("runbridge/openTerminal", {"session": "eof"})
    assert "terminalId" in reply["result"]
    procs = descendants(client.process.pid)
    assert len(procs) >= 3, procs  # the kernel, its sleep, the shell

    stdin = client.process.stdin
    assert stdin is not None
    stdin.close()  # the editor went away
    closed_at = time.monotonic()
    assert await wait_exit(client.process) == 1
    assert_all_gone(procs, within=max(0.5, CLEANUP_S - (time.monotonic() - closed_at)))
    await asyncio.wait_for(client.reader, 5)
    assert client.violations == []
    assert client.frames == len(client.messages) > 3
    assert (home / "log" / "daemon.log").exists()


async def test_an_error_the_editor_asked_for_is_one_info_line_in_the_log(tmp_path: Path) -> None:
    """Bad params and an unknown session are answers, not faults: the log gets one line
    naming the code, without a traceback (pygls would log each as an ERROR with one)."""
    home = tmp_path / "home"
    async with launch(home) as (daemon, _caps):
        log = home / "log" / "daemon.log"
        with pytest.raises(JsonRpcException):
            await daemon.request("runbridge/variables", {"session": 3})
        with pytest.raises(JsonRpcException):
            await daemon.request("runbridge/variables", {"session": "nowhere-open"})
        await daemon.wait_for(lambda: log.exists() and "error -32011" in log.read_text())
        text = log.read_text()
        assert "answered with error -32602: \"field 'session' must be a string" in text
        assert "Traceback" not in text and "Exception occurred" not in text
        assert " WARNING " not in text and " ERROR " not in text
        # nor is the editor told of it again (window/logMessage)
        assert not [m for m in daemon.client.log_messages if "session" in m.message]
