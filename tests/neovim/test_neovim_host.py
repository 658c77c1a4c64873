"""Neovim with the session host: its sessions survive ``:qa``.

Each test runs two headless Neovims one after the other with the same environment (that of
tests/neovim/test_neovim.py, with ``RUNBRIDGE_STANDALONE`` removed), so the plugin's default
command ``runbridge serve`` is the relay to the session host, which the first Neovim starts and
which outlives it. The specs are in ``editors/neovim/tests/host/``. The second Neovim stops the
host (``:Runbridge stop``); whatever is left is stopped with SIGTERM, then killed, at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, runtime_dir_for
from tests.neovim.test_neovim import (
    PLUGIN,
    RUNNER,
    SPEC_TIMEOUT,
    describe,
    find_nvim,
    leftovers,
    spec_env,
)

SPECS = PLUGIN / "tests" / "host"


def host_processes(marker: str) -> list[psutil.Process]:
    """The session hosts (``serve --host``) started from this test's environment."""
    found = []
    for proc in leftovers(marker):
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if "serve" in cmdline and "--host" in cmdline:
            found.append(proc)
    return found


def stop_all(marker: str) -> None:
    """SIGTERM to the hosts, then SIGKILL to anything of this test still running."""
    for proc in host_processes(marker):
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    deadline = time.monotonic() + 10
    while host_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    for proc in leftovers(marker):
        try:
            proc.kill()
        except psutil.Error:
            pass


@pytest.fixture
def host_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = spec_env(tmp_path)
    env.pop("RUNBRIDGE_STANDALONE", None)
    # a runtime folder with a short path: the host's socket is <it>/runbridge/host.sock
    env["XDG_RUNTIME_DIR"] = str(runtime_dir_for(tmp_path / "rbhome"))
    try:
        yield env
    finally:
        stop_all(env["RB_TEST_TMP"])


def run_nvim(spec: str, env: dict[str, str]) -> str:
    """Runs one spec of editors/neovim/tests/host in a headless Neovim; returns its output
    after checking that every test in it passed."""
    args = [find_nvim(), "--headless", "--clean", "-u", "NONE", "-l", str(RUNNER)]
    args.append(str(SPECS / spec))
    started = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=SPEC_TIMEOUT / 2)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{spec} timed out:\n{out.decode('utf-8', 'replace')}")
    text = out.decode("utf-8", "replace")
    print(f"--- {spec}: exit {proc.returncode} after {time.monotonic() - started:.1f} s\n{text}")
    assert proc.returncode == 0, f"{spec} failed (exit {proc.returncode}):\n{text}"
    assert "# " in text and ", 0 failed" in text, f"{spec}:\n{text}"
    return text


def kernels_of(host: psutil.Process) -> list[psutil.Process]:
    return [p for p in host.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]


def assert_gone_soon(marker: str, what: str) -> None:
    deadline = time.monotonic() + 10
    left = leftovers(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftovers(marker)
    assert not left, f"{what}:\n{describe(left)}"


def assert_only_host(marker: str) -> psutil.Process:
    """The one session host of this test, and nothing else of it but the host's children
    (the relay ends when Neovim closes its stdio: a moment later, longer under load)."""
    deadline = time.monotonic() + 10
    while True:
        hosts = host_processes(marker)
        assert len(hosts) == 1, f"one host after Neovim quit:\n{describe(leftovers(marker))}"
        host = hosts[0]
        family = {host.pid} | {p.pid for p in host.children(recursive=True)}
        others = [p for p in leftovers(marker) if p.pid not in family]
        if not others or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not others, f"only the host (and what it runs) is left, 10 s on:\n{describe(others)}"
    return host


def test_quit_and_reopen_keeps_the_session(host_env: dict[str, str]) -> None:
    marker = host_env["RB_TEST_TMP"]
    run_nvim("reopen_first_spec.lua", host_env)
    host = assert_only_host(marker)
    assert kernels_of(host), "the session's kernel outlives Neovim"
    socket = Path(host_env["XDG_RUNTIME_DIR"]) / "runbridge" / "host.sock"
    assert socket.is_socket(), socket

    run_nvim("reopen_second_spec.lua", host_env)
    assert_only_host(marker)
    run_nvim("reopen_third_spec.lua", host_env)
    # :Runbridge stop: the host closed the session and exited
    assert_gone_soon(marker, "left after :Runbridge stop")
    assert not socket.exists()


def test_terminal_reattach_after_reopen(host_env: dict[str, str]) -> None:
    marker = host_env["RB_TEST_TMP"]
    run_nvim("terminal_first_spec.lua", host_env)
    host = assert_only_host(marker)
    shells = [p for p in host.children(recursive=True) if p.name() in ("bash", "sh")]
    assert shells, f"the terminal's shell outlives Neovim:\n{describe(host.children(True))}"

    run_nvim("terminal_second_spec.lua", host_env)
    assert_gone_soon(marker, "left after :Runbridge stop")


def test_reopen_mid_run_continues_without_gap(host_env: dict[str, str]) -> None:
    marker = host_env["RB_TEST_TMP"]
    run_nvim("midrun_first_spec.lua", host_env)
    assert_only_host(marker)
    run_nvim("midrun_second_spec.lua", host_env)
    assert_gone_soon(marker, "left after :Runbridge stop")


def test_standalone_option_starts_no_host(host_env: dict[str, str]) -> None:
    marker = host_env["RB_TEST_TMP"]
    run_nvim("standalone_spec.lua", host_env)
    # the daemon and its kernel were this Neovim's own: gone with it, and no host was started
    assert_gone_soon(marker, "left after Neovim quit with standalone = true")
    assert not (Path(host_env["XDG_RUNTIME_DIR"]) / "runbridge" / "host.sock").exists()
