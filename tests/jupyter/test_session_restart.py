"""A restart whose channels websocket never opens: the kernel is replaced.

In-process ``JupyterSession`` against the stock servers. The hang is simulated at the
one point where it was seen in this suite: Jupyter Server holding the restarted
kernel's channels upgrade (it waits for its "nudge" of the kernel, up to 60 s).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from runbridge.backends.jupyter import session as jupyter_session
from runbridge.backends.jupyter.backend import JupyterBackend
from runbridge.backends.jupyter.channels import KernelChannels
from runbridge.backends.jupyter.kernel_store import KernelStore
from runbridge.config import Profile
from runbridge.model import RunStatus
from tests.jupyter.servers import ServerProcess, http
from tests.sinks import StdoutSink

pytestmark = pytest.mark.timeout(90)


async def test_restart_replaces_a_kernel_whose_channels_never_open(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jupyter_session, "RESTART_CONNECT_S", 2.0)
    settings = {"url": server.url, "token": server.token}
    backend = JupyterBackend(
        Profile("jup", "jupyter", None, settings), {}, store=KernelStore(tmp_path / "k.json")
    )
    session = backend.open("restart-hang", None, {}, lambda state: None)
    await session.start()
    try:
        outcome = await session.execute("x = 41", StdoutSink(), 30)
        assert outcome.status == RunStatus.FINISHED
        old = session.kernel_id
        real_connect = KernelChannels.connect
        held: list[str] = []

        async def first_upgrade_held(self: KernelChannels) -> None:
            if not held:
                held.append(self.kernel_id)
                await asyncio.Event().wait()  # the server never answers the upgrade
            await real_connect(self)

        monkeypatch.setattr(KernelChannels, "connect", first_upgrade_held)
        started = time.monotonic()
        await session.restart()
        assert held == [old]
        assert time.monotonic() - started < 20  # not the server's 60 s
        assert session.kernel_id not in (None, old)
        # the held kernel was shut down, the new one runs (a gateway lists no kernels)
        assert http("GET", f"{server.url}/api/kernels/{old}", server.token)[0] == 404
        new = http("GET", f"{server.url}/api/kernels/{session.kernel_id}", server.token)
        assert new[0] == 200, new
        sink = StdoutSink()
        outcome = await session.execute("print('x' in globals())", sink, 30)
        assert (outcome.status, sink.stdout) == (RunStatus.FINISHED, "False\n")
    finally:
        await session.close()
        await backend.aclose()
