"""Output a stock server drops itself: its IOPub data and message rate limits.

Past 1 MB/s of ``stream`` output (or 1000 IOPub messages/s), averaged over 3 s, a stock
Jupyter Server or Kernel Gateway stops forwarding a kernel's output and sends a notice on
IOPub instead. The run's output then shows that notice and, right after it, runbridge's
line naming the setting to raise and saying the dropped part is not in the transcript
either. With the limit raised (either spelling), the same flood arrives whole. Below any
limit, a server that falls too far behind the kernel loses output that no one reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.conftest import Daemon, start_daemon
from tests.jupyter.conftest import profile
from tests.jupyter.servers import JupyterServer, KernelGateway, ServerProcess

pytestmark = pytest.mark.timeout(120)

CHUNK = 64 * 1024
#: 8 MB of stdout in 64 KB stream messages, as fast as the kernel can send them.
DATA_FLOOD = (
    "import sys\n"
    f"_chunk = 'x' * {CHUNK - 1} + '\\n'\n"
    "for _ in range(128):\n"
    "    sys.stdout.write(_chunk)\n"
    "    sys.stdout.flush()\n"
)
DATA_FLOOD_BYTES = 128 * CHUNK
#: 10000 stream messages of 2 bytes, at most 2500 a second: 2.5 times the stock limit, and
#: slow enough for a server on a busy machine to keep up with. A server that falls more than
#: ZeroMQ's queues (1000 messages at each end of IOPub) behind a faster kernel loses output
#: with no notice at all (test_a_server_that_falls_behind_loses_output_with_no_notice).
MESSAGE_FLOOD = (
    "import sys, time\n"
    "for i in range(10000):\n"
    "    sys.stdout.write('x\\n')\n"
    "    sys.stdout.flush()\n"
    "    if i % 50 == 49:\n"
    "        time.sleep(0.02)\n"
)
LINE = "[runbridge] the Jupyter server dropped part of this run's output"
NOTICES = {
    "iopub_data_rate_limit": (DATA_FLOOD, "IOPub data rate exceeded."),
    "iopub_msg_rate_limit": (MESSAGE_FLOOD, "IOPub message rate exceeded."),
}
#: profile name -> the server behind it
STOCK = ["stock-jupyter-server", "stock-kernel-gateway"]
RAISED = ["serverapp-jupyter-server", "zmq-jupyter-server", "zmq-kernel-gateway"]


def make_servers(base: Path) -> dict[str, ServerProcess]:
    serverapp_spelling = (
        "--ServerApp.iopub_data_rate_limit=1e10",
        "--ServerApp.iopub_msg_rate_limit=1e6",
    )
    return {
        "stock-jupyter-server": JupyterServer(base / "js-stock", stock_rate_limits=True),
        "stock-kernel-gateway": KernelGateway(base / "kg-stock", stock_rate_limits=True),
        "serverapp-jupyter-server": JupyterServer(
            base / "js-serverapp", stock_rate_limits=True, extra_args=serverapp_spelling
        ),
        # the ZMQChannelsWebsocketConnection spelling (tests.jupyter.servers.RAISED_RATE_LIMITS)
        "zmq-jupyter-server": JupyterServer(base / "js-zmq"),
        "zmq-kernel-gateway": KernelGateway(base / "kg-zmq"),
    }


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    started = make_servers(tmp_path_factory.mktemp("rate-limits"))
    with contextlib.ExitStack() as stack:
        for server in started.values():
            stack.enter_context(server)
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(
    servers: dict[str, ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Daemon]:
    options = {"profiles": {name: profile(s.url, s.token) for name, s in servers.items()}}
    async with start_daemon(tmp_path_factory.mktemp("home"), init_options=options) as started:
        yield started


async def flood(daemon: Daemon, name: str, code: str) -> dict[str, Any]:
    result: dict[str, Any] = await daemon.request(
        "runbridge/run", {"session": name, "profile": name, "code": code}
    )
    assert (result["status"], result["exitCode"]) == ("finished", 0), result
    return result


def transcript_console(path: str, run_id: str) -> list[tuple[str, str]]:
    records = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["run"] == run_id and not record["kind"].startswith("runbridge/"):
                records.append((record["kind"], record["data"]))
    return records


def assert_notice_then_line(console: list[tuple[str, str]], notice: str, setting: str) -> None:
    """The server's notice on stderr, then runbridge's line right after it (nothing between
    them), naming both spellings of ``setting``; and the notice only once."""
    stderr_runs: list[str] = []  # adjacent stderr records joined (the editor's view)
    previous = ""
    for kind, data in console:
        if kind == "stderr" and previous == "stderr":
            stderr_runs[-1] += data
        elif kind == "stderr":
            stderr_runs.append(data)
        previous = kind
    with_notice = [text for text in stderr_runs if notice in text]
    assert len(with_notice) >= 1, console[-5:]
    text = with_notice[0]
    after = text[text.index(notice) :]
    notice_end = after.index("(secs)\n") + len("(secs)\n")
    assert after[notice_end:].lstrip("\n").startswith(LINE), after
    line = after[notice_end:].lstrip("\n")
    assert f"(its {setting}, see above)" in line
    assert "the dropped part is not in the transcript either" in line
    assert f"--ZMQChannelsWebsocketConnection.{setting}=1e10" in line
    assert f"--ServerApp.{setting}" in line
    assert sum(data.count(LINE) for kind, data in console if kind == "stderr") == 1


@pytest.mark.parametrize("setting", list(NOTICES))
@pytest.mark.parametrize("name", STOCK)
async def test_output_the_server_drops_is_followed_by_runbridge_s_line(
    daemon: Daemon, name: str, setting: str
) -> None:
    code, notice = NOTICES[setting]
    result = await flood(daemon, name, code)
    run_id = result["runId"]
    # in the editor's stream
    assert_notice_then_line([(k, d) for k, d in daemon.console(run_id)], notice, setting)
    # and in the transcript, where the dropped part is missing too
    saved = transcript_console(result["transcript"], run_id)
    assert_notice_then_line(saved, notice, setting)
    if setting == "iopub_data_rate_limit":
        saved_stdout = sum(len(data) for kind, data in saved if kind == "stdout")
        assert 0 < saved_stdout < DATA_FLOOD_BYTES, saved_stdout
    # the next run is not affected (the server resets its counts when the kernel is idle)
    after = await daemon.request(
        "runbridge/run", {"session": name, "profile": name, "code": "print('calm')"}
    )
    # (all of it, in one or more stdout records: ipykernel may send "calm" and "\n" apart)
    assert daemon.text(after["runId"]) == "calm\n"
    assert {kind for kind, _ in daemon.console(after["runId"])} == {"stdout"}


@pytest.mark.parametrize("name", RAISED)
async def test_with_the_limits_raised_the_flood_arrives_whole(daemon: Daemon, name: str) -> None:
    for code, size in ((DATA_FLOOD, DATA_FLOOD_BYTES), (MESSAGE_FLOOD, 2 * 10000)):
        result = await flood(daemon, name, code)
        console = daemon.console(result["runId"])
        assert not any(kind == "stderr" for kind, _ in console), console[-3:]
        assert len(daemon.text(result["runId"])) == size


def fast_message_flood(count: int, progress: Path) -> str:
    """``count`` stream messages of 2 bytes, as fast as the kernel can send them; every 500th
    writes how many were sent to ``progress``."""
    return (
        "import sys\n"
        f"for i in range(1, {count} + 1):\n"
        "    sys.stdout.write('x\\n')\n"
        "    sys.stdout.flush()\n"
        "    if i % 500 == 0:\n"
        f"        open({str(progress)!r}, 'w').write(str(i))\n"
    )


def sent(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


async def test_a_server_that_falls_behind_loses_output_with_no_notice(
    daemon: Daemon, servers: dict[str, ServerProcess], tmp_path: Path
) -> None:
    """Below any rate limit, ZeroMQ itself drops IOPub messages once the server falls more
    than its queues behind the kernel (here: the gateway stopped while the kernel sends
    20000 messages). Neither the server nor runbridge can see that: the run still ends, with
    less output and without the rate-limit line, and the next run gets all of its own."""
    name = "zmq-kernel-gateway"
    server = servers[name]
    assert server.proc is not None
    progress = tmp_path / "sent"
    count, while_stopped = 30000, 20000
    task = asyncio.create_task(
        daemon.request(
            "runbridge/run",
            {"session": name, "profile": name, "code": fast_message_flood(count, progress)},
        )
    )
    await daemon.wait_for(lambda: sent(progress) >= 500, timeout=60)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        at_stop = sent(progress)
        await daemon.wait_for(lambda: sent(progress) >= at_stop + while_stopped, timeout=60)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    result = await asyncio.wait_for(task, 60)
    assert result["status"] == "finished", result
    received = len(daemon.text(result["runId"]))
    assert 0 < received < 2 * count, received
    stderr = "".join(data for kind, data in daemon.console(result["runId"]) if kind == "stderr")
    assert LINE not in stderr
    after = await daemon.request(
        "runbridge/run", {"session": name, "profile": name, "code": "print('calm')"}
    )
    assert daemon.text(after["runId"]) == "calm\n"
