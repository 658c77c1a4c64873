"""Completion and hover through the ``jupyter`` backend: the kernel's channels websocket of
a stock Jupyter Server and Kernel Gateway (``server`` fixture), shell while idle and the
control channel while a run is busy."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.e2e.conftest import Daemon, start_run
from tests.e2e.test_language_features import ask, at, complete, item, open_document, setup
from tests.jupyter.test_legacy_protocol import legacy_daemon, legacy_server  # noqa: F401

pytestmark = pytest.mark.timeout(90)


async def check_completion_and_hover(daemon: Daemon) -> None:
    """In the daemon's "default" session (on the server of its default profile): completion
    and hover while idle, completion while a run sleeps."""
    await setup(daemon)
    uri = open_document(daemon, "kernel_only\nadd_things(1)\n")
    found = item(await complete(daemon, uri, 0, 11), "kernel_only_name_42")
    assert found["kind"] == types.CompletionItemKind.Variable
    hover = await ask(daemon, "textDocument/hover", at(uri, 1, 3))
    assert "Add things up." in hover["contents"]["value"]

    run = await start_run(
        daemon, "default", "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", "sleeping"
    )
    try:
        result = await complete(daemon, uri, 0, 11)
        assert not run.done()
        item(result, "kernel_only_name_42")  # answered on the control channel
    finally:
        await daemon.request("runbridge/interrupt", {"session": "default"})
        await asyncio.wait_for(run, 30)
    await daemon.request("runbridge/closeSession", {"name": "default"})


async def test_completion_and_hover_from_a_kernel_on_a_server(daemon: Daemon) -> None:
    await check_completion_and_hover(daemon)


async def test_completion_over_the_legacy_websocket_protocol(
    legacy_daemon: Daemon,  # noqa: F811 (the fixture imported above)
) -> None:
    """JSON text frames with a ``channel`` key (what a server in front of a gateway
    speaks): ``control`` included."""
    await check_completion_and_hover(legacy_daemon)
