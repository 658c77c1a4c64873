"""What the jupyter transport does with a server's messages before the run core sees them:
the rate-limit notice and its runbridge line, ``status: restarting`` / ``dead``.

The notice texts are Jupyter Server 2.21.1's (``ZMQChannelsWebsocketConnection._limit_rate``);
the real server is in tests/jupyter/test_rate_limits.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from runbridge.backends.jupyter.channels import KernelMessage
from runbridge.backends.jupyter.kernel import JupyterKernel
from runbridge.model import RunStatus
from tests.sinks import RecordingSink

DATA_NOTICE = """IOPub data rate exceeded.
The Jupyter server will temporarily stop sending output
to the client in order to avoid crashing it.
To change this limit, set the config variable
`--ServerApp.iopub_data_rate_limit`.

Current values:
ServerApp.iopub_data_rate_limit=1000000.0 (bytes/sec)
ServerApp.rate_limit_window=3.0 (secs)

"""
MSG_NOTICE = DATA_NOTICE.replace("data rate", "message rate").replace(
    "iopub_data_rate_limit", "iopub_msg_rate_limit"
)


def message(channel: str, msg_type: str, content: dict[str, Any], parent: str) -> KernelMessage:
    return KernelMessage(
        channel=channel,
        header={"msg_id": f"{msg_type}-1", "msg_type": msg_type},
        parent_header={"msg_id": parent} if parent else {},
        metadata={},
        content=content,
    )


def stream(name: str, text: str, parent: str) -> KernelMessage:
    return message("iopub", "stream", {"name": name, "text": text}, parent)


class Started:
    """A JupyterKernel (no server: nothing here sends) with a run in progress."""

    def __init__(self) -> None:
        self.deaths = 0
        self.kernel = JupyterKernel(cast(Any, None), "s", self._dead)
        self.sink = RecordingSink()
        self.kernel.channels = cast(Any, self)  # send_execute's connection
        self.run = asyncio.create_task(self.kernel.core.execute("flood()", self.sink, None))

    def _dead(self) -> None:
        self.deaths += 1

    async def send(self, *args: Any, **kwargs: Any) -> str:
        return ""

    async def started(self) -> str:
        while self.kernel.core.run is None:
            await asyncio.sleep(0)
        return self.kernel.core.run.msg_id

    async def finish(self, msg_id: str) -> Any:
        on = self.kernel._on_message
        on(message("shell", "execute_reply", {"status": "ok"}, msg_id))
        on(message("iopub", "status", {"execution_state": "idle"}, msg_id))
        return await asyncio.wait_for(self.run, 2)


async def test_a_rate_limit_notice_is_followed_by_runbridge_s_line_once_per_limit() -> None:
    started = Started()
    msg_id = await started.started()
    on = started.kernel._on_message
    on(stream("stdout", "x" * 100, msg_id))
    on(stream("stderr", DATA_NOTICE, msg_id))
    on(stream("stdout", "more", msg_id))  # the server sends output again below the limit
    on(stream("stderr", DATA_NOTICE, msg_id))  # and stops it again
    on(stream("stderr", MSG_NOTICE, msg_id))
    outcome = await started.finish(msg_id)
    assert outcome.status == RunStatus.FINISHED
    stderr = [data for kind, data, _ in started.sink.records if kind == "stderr"]
    assert stderr[0] == DATA_NOTICE
    assert stderr[1].startswith("[runbridge] the Jupyter server dropped part of this run's output")
    assert "(its iopub_data_rate_limit, see above)" in stderr[1]
    assert "--ZMQChannelsWebsocketConnection.iopub_data_rate_limit=1e10" in stderr[1]
    assert "--ServerApp.iopub_data_rate_limit" in stderr[1]
    assert stderr[2] == DATA_NOTICE  # no second line for the same limit
    assert stderr[3] == MSG_NOTICE
    assert "(its iopub_msg_rate_limit, see above)" in stderr[4]
    assert len(stderr) == 5


async def test_the_notice_text_elsewhere_is_not_a_notice() -> None:
    started = Started()
    msg_id = await started.started()
    on = started.kernel._on_message
    on(stream("stdout", DATA_NOTICE, msg_id))  # the user's own print
    on(stream("stderr", "warning: " + DATA_NOTICE, msg_id))
    on(stream("stderr", DATA_NOTICE, "another-request"))  # not this run's
    await started.finish(msg_id)
    assert not any("[runbridge]" in data for _, data, _ in started.sink.records)


async def test_status_restarting_fails_the_run_and_marks_the_session_dead() -> None:
    started = Started()
    await started.started()
    started.kernel._on_message(message("iopub", "status", {"execution_state": "restarting"}, ""))
    outcome = await asyncio.wait_for(started.run, 2)
    assert (outcome.status, outcome.exit_code) == (RunStatus.FAILED, None)
    assert outcome.message == (
        "the kernel died during the run (the server is restarting it; variables are lost)"
    )
    assert started.deaths == 1
    assert started.kernel.dead == outcome.message


async def test_a_death_during_a_restart_is_the_restart_s() -> None:
    started = Started()
    msg_id = await started.started()
    started.kernel.restarting = True
    started.kernel._on_message(message("iopub", "status", {"execution_state": "dead"}, ""))
    started.kernel.restarting = False
    assert started.deaths == 0 and started.kernel.dead is None
    outcome = await started.finish(msg_id)
    assert outcome.status == RunStatus.FINISHED
