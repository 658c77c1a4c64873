"""The ``runbridge`` commands through the session host: one kernel for every CLI process
and every other client, ``sessions``, ``attach``, ``close`` and ``stop``.

Each test has a host of its own (``tests.cli_host.host_env``), started by its first
command and stopped at its end; the commands and a raw LSP client on the host's
socket are separate real processes and connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cli_host import host_env, host_processes, host_socket_of, read_until
from tests.conftest import PYTHON
from tests.e2e.raw_wire import RawPeer, frame


@pytest.fixture
def env(rb_home: Path) -> Iterator[dict[str, str]]:
    with host_env(rb_home) as env:
        yield env


def rb(env: dict[str, str], *args: str, stdin: str = "", cwd: Path | None = None) -> Any:
    return subprocess.run(
        [PYTHON, "-m", "runbridge", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


async def arb(env: dict[str, str], *args: str) -> Any:
    """:func:`rb` off the event loop (a raw client may be reading meanwhile)."""
    return await asyncio.to_thread(rb, env, *args)


@contextlib.asynccontextmanager
async def raw_client(env: dict[str, str]) -> AsyncIterator[RawPeer]:
    """An LSP client of its own on the host's socket (the host must be running)."""
    reader, writer = await asyncio.open_unix_connection(str(host_socket_of(env)), limit=1 << 24)
    peer = RawPeer(reader, writer)
    try:
        await peer.initialize()
        yield peer
    finally:
        writer.close()


async def start_run(peer: RawPeer, session: str, code: str) -> int:
    """Send a ``runbridge/run`` and return its id (the reply is read later)."""
    peer.next_id += 1
    params = {"session": session, "code": code}
    await peer.send(
        frame({"jsonrpc": "2.0", "id": peer.next_id, "method": "runbridge/run", "params": params})
    )
    return peer.next_id


def reply_of(msg_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("id") == msg_id and "method" not in m


def prints(session: str, text: str) -> Callable[[dict[str, Any]], bool]:
    """An output notification of ``session`` whose stdout holds ``text``."""

    def match(m: dict[str, Any]) -> bool:
        if m.get("method") != "runbridge/output" or m["params"]["session"] != session:
            return False
        return any(r[0] == "stdout" and text in r[1] for r in m["params"]["console"])

    return match


async def read_stream(stream: asyncio.StreamReader, needle: str, timeout: float = 30) -> str:
    seen = b""
    async with asyncio.timeout(timeout):
        while needle.encode() not in seen:
            chunk = await stream.read(65536)
            if not chunk:
                raise AssertionError(f"{needle!r} not seen before the end: {seen.decode()!r}")
            seen += chunk
    return seen.decode()


def gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_one_kernel_for_cli_processes_and_editors_then_close_and_stop(
    env: dict[str, str],
) -> None:
    # two CLI processes, one kernel: the second sees what the first set
    assert rb(env, "run", "-s", "x", "-c", "v = 5").returncode == 0
    proc = rb(env, "run", "-s", "x", "-c", "print(v)")
    assert (proc.returncode, proc.stdout) == (0, "5\n"), proc.stderr
    [host] = host_processes(env)

    async with raw_client(env) as editor:
        # an LSP client sets a variable; the CLI sees it
        reply = await editor.request("runbridge/run", {"session": "y", "code": "w = 'from LSP'"})
        assert reply["result"]["status"] == "finished", reply
        proc = await arb(env, "run", "-s", "y", "-c", "print(w)")
        assert (proc.returncode, proc.stdout) == (0, "from LSP\n"), proc.stderr
        # ... and, following y, the LSP client was sent that run's output too
        await editor.reply_to(prints("y", "from LSP"))

        proc = await arb(env, "sessions", "--json")
        assert proc.returncode == 0, proc.stderr
        listed = {s["name"]: s for s in json.loads(proc.stdout)}
        assert set(listed) == {"x", "y"}
        for name, runs, followers in (("x", 2, 0), ("y", 2, 1)):
            info = listed[name]
            assert (info["profile"], info["backend"], info["state"]) == ("local", "local", "idle")
            assert (info["runs"], info["followers"]) == (runs, followers), info
            assert 0 <= info["idleSeconds"] < 60
            assert info["idleSeconds"] == pytest.approx(time.time() - info["lastActivity"], abs=5)
        table = (await arb(env, "sessions")).stdout.splitlines()
        assert table[0].split() == [
            "NAME", "PROFILE", "BACKEND", "STATE", "RUNS", "IDLE", "FOLLOWING", "OPTIONS"
        ]  # fmt: skip
        row = next(line.split() for line in table if line.startswith("y "))
        assert row[:5] == ["y", "local", "local", "idle", "2"] and row[6:] == ["1"], table

        proc = await arb(env, "close", "-s", "x")
        assert (proc.returncode, proc.stdout) == (0, "session x closed\n"), proc.stderr
        closed = await editor.reply_to(
            lambda m: (
                m.get("method") == "runbridge/sessionChanged"
                and m["params"]["session"]["name"] == "x"
            )
        )
        assert closed["params"]["session"]["state"] == "closed"
        listed_after = json.loads((await arb(env, "sessions", "--json")).stdout)
        assert [s["name"] for s in listed_after] == ["y"]
        proc = await arb(env, "close", "-s", "x")
        assert proc.returncode == 2 and "no session named 'x'" in proc.stderr

        proc = await arb(env, "stop")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"runbridge host stopped (pid {host.pid})\n"
        assert gone(host)  # stop returns once the host has exited
        while await editor.read(10) is not None:  # the LSP client's connection ends with it
            pass

    # no host: stop says so and starts none
    proc = rb(env, "stop")
    assert (proc.returncode, proc.stdout) == (0, "no runbridge host is running\n")
    assert not host_processes(env) and not host_socket_of(env).exists()


async def test_attach_shows_history_then_live_output_and_detaches_on_ctrl_c(
    env: dict[str, str],
) -> None:
    assert rb(env, "run", "-s", "a", "-c", "print('earlier run')").returncode == 0
    ticks = (
        "import time\nfor i in range(16):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.25)"
    )
    async with raw_client(env) as editor:
        run_id = await start_run(editor, "a", ticks)
        await editor.reply_to(prints("a", "tick 2"))  # the run is under way
        attach = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "runbridge", "attach", "-s", "a",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert attach.stdout is not None and attach.stderr is not None
        try:
            seen = await read_stream(attach.stdout, "tick 7\n")
            attach.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(attach.wait(), 10) == 0
        finally:
            if attach.returncode is None:
                attach.kill()
                await attach.wait()
        seen += (await attach.stdout.read()).decode()
        errors = (await attach.stderr.read()).decode()
        lines = seen.splitlines()
        assert lines[0] == "earlier run", seen  # history first
        shown = [line for line in lines[1:] if line]
        # what history had, then live output: each line once, in order
        assert shown == [f"tick {i}" for i in range(len(shown))], seen
        assert "[detached from session a]" in errors, errors
        # detaching left the run running: it prints on and ends as it would have
        result = (await editor.reply_to(reply_of(run_id), 30))["result"]
        assert (result["status"], result["exitCode"]) == ("finished", 0), result
        assert any(prints("a", "tick 15")(m) for m in editor.seen)

        # with --interrupt, Ctrl+C interrupts the session's run
        run_id = await start_run(
            editor, "a", "import time\nprint('long', flush=True)\ntime.sleep(60)"
        )
        await editor.reply_to(prints("a", "long"))
        attach = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "runbridge", "attach", "-s", "a", "-n", "1", "--interrupt",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert attach.stdout is not None and attach.stderr is not None
        try:
            assert "long" in await read_stream(attach.stdout, "long\n")
            await read_stream(attach.stderr, "live output follows")
            attach.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(attach.wait(), 10) == 0
        finally:
            if attach.returncode is None:
                attach.kill()
                await attach.wait()
        result = (await editor.reply_to(reply_of(run_id), 15))["result"]
        assert result["status"] == "interrupted", result


def test_without_a_host_sessions_attach_and_close_start_none(env: dict[str, str]) -> None:
    proc = rb(env, "sessions")
    assert (proc.returncode, proc.stdout) == (0, "no runbridge host is running: no sessions\n")
    assert rb(env, "sessions", "--json").stdout == "[]\n"
    for command in ("attach", "close"):
        proc = rb(env, command, "-s", "nothing")
        assert proc.returncode == 2 and "no runbridge host is running" in proc.stderr
    assert not host_processes(env) and not host_socket_of(env).exists()


async def test_run_shows_its_own_run_only(env: dict[str, str]) -> None:
    assert rb(env, "run", "-s", "q", "-c", "import time").returncode == 0
    async with raw_client(env) as editor:
        code = "print('editor begins', flush=True)\ntime.sleep(1)\nprint('editor ends')"
        run_id = await start_run(editor, "q", code)
        await editor.reply_to(prints("q", "editor begins"))
        # queued behind the editor's run, on the same session
        proc = await arb(env, "run", "-s", "q", "-c", "print('cli run')")
        assert (proc.returncode, proc.stdout) == (0, "cli run\n"), proc.stderr
        await editor.reply_to(reply_of(run_id))
        assert any(prints("q", "editor ends")(m) for m in editor.seen)


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGHUP])
async def test_term_ends_its_shell_when_it_is_told_to_end(
    env: dict[str, str], ending: signal.Signals
) -> None:
    master, slave = pty.openpty()
    term = subprocess.Popen(
        [PYTHON, "-m", "runbridge", "term", "-s", "t"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "SHELL": "/bin/sh", "PS1": "rb$ "},
        start_new_session=True,
    )
    os.close(slave)
    try:
        await asyncio.to_thread(read_until, master, b"rb$ ", 30)
        async with raw_client(env) as editor:
            listed = (await editor.request("runbridge/listTerminals", {}))["result"]
            assert [t["session"] for t in listed["terminals"]] == ["t"]
            term.send_signal(ending)
            assert await asyncio.to_thread(term.wait, 15) == 0
            listed = (await editor.request("runbridge/listTerminals", {}))["result"]
            assert listed["terminals"] == []
    finally:
        if term.poll() is None:
            term.kill()
            term.wait()
        os.close(master)


def test_readme_two_step_batch_example(env: dict[str, str], tmp_path: Path) -> None:
    """README: ``upload`` then ``run --build --exec``, two commands on one session."""
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\nint main(void) { puts("built and ran"); return 3; }\n'
    )
    proc = rb(env, "upload", "-s", "job", "main.c", cwd=tmp_path)  # a path relative to the shell
    assert proc.returncode == 0, proc.stderr
    proc = rb(env, "run", "-s", "job", "--build", "cc -o main main.c", "--exec", "./main")
    assert proc.returncode == 3, proc.stderr
    assert "built and ran" in proc.stdout


def test_the_shells_runbridge_profile_opens_the_session(env: dict[str, str]) -> None:
    config = Path(env["RUNBRIDGE_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[profiles.other]\ntype = "local"\nimage = "python3"\n')
    config.chmod(0o600)
    assert rb(env, "run", "-s", "plain", "-c", "pass").returncode == 0  # starts the host
    shell = {**env, "RUNBRIDGE_PROFILE": "other"}
    proc = rb(shell, "run", "-s", "p", "-c", "print('on other')")
    assert (proc.returncode, proc.stdout) == (0, "on other\n"), proc.stderr
    # a session already open is used as it is (as an editor's would be)
    proc = rb(shell, "run", "-s", "plain", "-c", "print('still local')")
    assert (proc.returncode, proc.stdout) == (0, "still local\n"), proc.stderr
    proc = rb(shell, "upload", "-s", "plain", str(config))
    assert proc.returncode == 0, proc.stderr
    profiles = {s["name"]: s["profile"] for s in json.loads(rb(env, "sessions", "--json").stdout)}
    assert profiles == {"plain": "local", "p": "other"}


def test_the_commands_through_the_host_import_no_lsp_library() -> None:
    """A command waits for no pygls import (``import lsprotocol.types`` alone takes
    0.4-0.7 s): the host speaks LSP, the command only JSON."""
    code = (
        "import sys, runbridge.cli as cli, runbridge.errors\n"
        "cli._commands(standalone=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pygls', 'lsprotocol'}))"
    )
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "[]\n"), proc.stderr


async def test_a_command_leaves_the_editors_initialization_options_in_place(
    env: dict[str, str],
) -> None:
    assert rb(env, "run", "-s", "first", "-c", "pass").returncode == 0  # starts the host
    reader, writer = await asyncio.open_unix_connection(str(host_socket_of(env)), limit=1 << 24)
    editor = RawPeer(reader, writer)
    try:
        options = {"profiles": {"extra": {"type": "local", "image": "python3"}}}
        params = {"processId": None, "capabilities": {}, "initializationOptions": options}
        assert "result" in await editor.request("initialize", params)
        # a command connects and initializes (without options) while the editor is there
        assert (await arb(env, "run", "-s", "first", "-c", "pass")).returncode == 0
        reply = await editor.request("runbridge/openSession", {"name": "e", "profile": "extra"})
        assert reply.get("result", {}).get("profile") == "extra", reply
    finally:
        writer.close()
