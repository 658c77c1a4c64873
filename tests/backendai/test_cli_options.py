"""``runbridge run`` with Backend.AI session-option flags (as ``backend.ai session create``
takes them), in process and through a session host, against the emulator in a process
of its own: what the manager is sent, and flags the daemon refuses."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backendai.daemon_helpers import ACCESS_KEY, IMAGE, SECRET_KEY
from tests.backendai_emulator import EmulatorProcess
from tests.cli_host import host_env
from tests.conftest import PYTHON, isolated_env

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(
        generation="new", access_key=ACCESS_KEY, secret_key=SECRET_KEY, scheduling_delay=0.1
    ) as proc:
        yield proc


@pytest.fixture(params=["standalone", "host"])
def env(
    request: pytest.FixtureRequest, rb_home: Path, emulator: EmulatorProcess
) -> Iterator[dict[str, str]]:
    def configured(env: dict[str, str]) -> dict[str, str]:
        config = Path(env["RUNBRIDGE_CONFIG_DIR"]) / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f'[profiles.bai]\ntype = "backendai"\nendpoint = "{emulator.url}"\n'
            f'access_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\nimage = "{IMAGE}"\n'
            "keep_sessions = false\n"
        )
        return env

    if request.param == "standalone":
        yield configured(isolated_env(rb_home))
    else:
        with host_env(rb_home) as env:
            yield configured(env)


def rb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "runbridge", *args],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )


def creation(emulator: EmulatorProcess, name: str) -> dict[str, Any]:
    bodies = [c["body"] for c in emulator.creations() if c["body"].get("name") == name]
    assert len(bodies) == 1, bodies
    return dict(bodies[0])


def test_run_with_option_flags_opens_the_session_with_them(
    env: dict[str, str], emulator: EmulatorProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    name = f"cli-opts-{request.node.callspec.id}"
    script = tmp_path / "boot.sh"
    script.write_text("echo booted > boot.txt\n")
    proc = rb(
        env, "run", "-p", "bai", "-s", name,
        "-r", "cpu=2", "-r", "mem=4g", "--resource", "cuda.shares=0.5",
        "-m", "data", "--mount", "models:/opt/models",
        "--cluster-size", "2", "--cluster-mode", "multi-node",
        "--scaling-group", "gpu", "--bootstrap-script", str(script), "--tag", "exp-7",
        "-c", "print(open('boot.txt').read().strip())",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "booted\n"
    body = creation(emulator, name)
    assert body["config"]["resources"] == {"cpu": 2, "mem": "4g", "cuda.shares": 0.5}
    assert body["config"]["mounts"] == ["data", "models"]
    assert body["config"]["mount_map"] == {"models": "/opt/models"}
    assert body["config"]["scalingGroup"] == "gpu" and body["tag"] == "exp-7"
    assert (body["clusterSize"], body["clusterMode"]) == (2, "multi-node")
    assert body["bootstrap_script"] == "echo booted > boot.txt\n"
    if request.node.callspec.id == "host":  # the host keeps the session: listed with them
        table = rb(env, "sessions").stdout.splitlines()
        assert table[0].split()[-1] == "OPTIONS", table
        row = next(line for line in table if line.startswith(name + " "))
        summary = "cpu 2 · mem 4g · cuda.shares 0.5 · 2 × multi-node · sg gpu · 2 mounts"
        assert row.endswith(f"  {summary}"), row


def test_a_flag_the_daemon_refuses_names_the_option(
    env: dict[str, str], emulator: EmulatorProcess
) -> None:
    before = len(emulator.creations())
    proc = rb(env, "run", "-p", "bai", "-s", "cli-bad", "-r", "cpu=0", "-c", "print(1)")
    assert proc.returncode == 2 and "options.resources.cpu" in proc.stderr, proc.stderr
    proc = rb(env, "run", "-p", "bai", "-s", "cli-bad", "-r", "cpu", "-c", "print(1)")
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr, proc.stderr
    proc = rb(env, "run", "-s", "cli-bad", "--cluster-size", "2", "-c", "print(1)")
    assert proc.returncode == 2 and "'local'" in proc.stderr, proc.stderr  # default profile
    assert len(emulator.creations()) == before
