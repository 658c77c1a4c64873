"""``runbridge/variables`` on the ``jupyter`` backend, against the stock servers of the
``server`` fixture (Jupyter Server and Kernel Gateway): the silent run's answer when the
kernel is idle, and the debugger's on the control channel through the server's websocket
while a run is busy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Daemon, start_run
from tests.jupyter.servers import ServerProcess

pytestmark = pytest.mark.timeout(60)


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in result["variables"]}


async def test_variables_idle_and_busy(daemon: Daemon, server: ServerProcess) -> None:
    session = "j-vars"
    result = await daemon.run(
        "import os\nclass Grid:\n    shape = (2, 5)\ngrid = Grid()\nitems = [1, 2, 3]\n"
        "def f(): pass\nitems",
        session=session,
    )
    assert result["status"] == "finished"
    found = by_name(await daemon.request("runbridge/variables", {"session": session}))
    assert found["items"] == {"name": "items", "type": "list", "value": "[1, 2, 3]",
                              "size": "len 3"}  # fmt: skip
    assert found["grid"]["size"] == "(2, 5)"
    assert "f" not in found and "Grid" not in found  # code, not data
    assert "os" not in found and "Out" not in found
    probe = await daemon.run("print(len(Out), _)", session=session)
    assert daemon.text(probe["runId"]) == "1 [1, 2, 3]\n"

    task = await start_run(
        daemon, session, "import time\nprint('asleep', flush=True)\ntime.sleep(60)", "asleep"
    )
    try:
        busy = by_name(await daemon.request("runbridge/variables", {"session": session}))
        assert not task.done()
        assert busy["items"] == {"name": "items", "type": "list", "value": "[1, 2, 3]",
                                 "size": None}  # fmt: skip
    finally:
        await daemon.request("runbridge/interrupt", {"session": session})
    assert (await task)["status"] == "interrupted"
