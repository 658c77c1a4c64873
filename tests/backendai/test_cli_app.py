"""``runbridge app``: a Backend.AI session's app forwarded through the session host until
Ctrl+C, against the emulator (a real host process, a real command process)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.backendai.daemon_helpers import ACCESS_KEY, IMAGE, SECRET_KEY, free_port
from tests.backendai_emulator import Emulator
from tests.cli_host import host_env
from tests.conftest import PYTHON

pytestmark = pytest.mark.timeout(90)


@pytest_asyncio.fixture(loop_scope="session")
async def manager() -> AsyncIterator[Emulator]:
    async with Emulator(
        generation="new", access_key=ACCESS_KEY, secret_key=SECRET_KEY, scheduling_delay=0.1
    ) as emulator:
        yield emulator


@pytest.fixture
def env(rb_home: Path, manager: Emulator) -> Iterator[dict[str, str]]:
    with host_env(rb_home) as env:
        config = Path(env["RUNBRIDGE_CONFIG_DIR"]) / "config.toml"
        config.write_text(
            "[profiles.bai]\n"
            'type = "backendai"\n'
            f'endpoint = "{manager.url}"\n'
            f'access_key = "{ACCESS_KEY}"\n'
            f'secret_key = "{SECRET_KEY}"\n'
            f'image = "{IMAGE}"\n'
        )
        config.chmod(0o600)
        yield env


@pytest.mark.parametrize("ending", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
async def test_app_prints_the_url_forwards_and_ends_on_ctrl_c(
    env: dict[str, str], manager: Emulator, ending: signal.Signals
) -> None:
    port = free_port()
    command = await asyncio.create_subprocess_exec(
        *(PYTHON, "-m", "runbridge", "app", "-s", "cli-app", "-p", "bai", "jupyter"),
        *("--tag", "app-tag"),  # a session option, as run takes them
        *("-b", f"127.0.0.1:{port}"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert command.stdout is not None and command.stderr is not None
        line = await asyncio.wait_for(command.stdout.readline(), 60)
        assert line.decode().strip() == f"http://127.0.0.1:{port}/"
        async with httpx.AsyncClient(timeout=10) as client:
            page = await client.get(f"http://127.0.0.1:{port}/jupyter/tree")
        assert page.status_code == 200 and "<h1>cli-app:jupyter</h1>" in page.text, page.text
        (body,) = [c["body"] for c in manager.creations if c["body"].get("name") == "cli-app"]
        assert body["tag"] == "app-tag", body
        command.send_signal(ending)
        assert await asyncio.wait_for(command.wait(), 30) == 0
        assert "Ctrl+C ends it" in (await command.stderr.read()).decode()
    finally:
        if command.returncode is None:
            command.kill()
            await command.wait()
    # the host closed the forward: nothing listens there any more
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get(f"http://127.0.0.1:{port}/")


def test_app_listens_on_the_loopback_only(env: dict[str, str]) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "runbridge", "app", "-s", "cli-app", "jupyter", "-b", "0.0.0.0:8080"],
        env={**env, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
    )
    assert done.returncode == 2 and "127.0.0.1 only" in done.stderr, done
