"""A kernel on a Jupyter server as the kernel run core's transport: its channels websocket.

:class:`JupyterKernel` holds the connection to one server-side kernel: the channels
websocket (:mod:`.channels`) it sends the core's requests on and reads the kernel's
messages from, and the REST calls that interrupt and check the kernel. What a Jupyter
server adds to a run is here too, as the core's hooks: the IOPub barrier before an
input prompt, the liveness check of a silent run, the confirmation of an interrupt
nobody here sent, ``status: restarting`` / ``dead``, and the line after a server's
notice that it dropped output (:mod:`.rate_limits`). Which kernel it is (created,
reattached, restarted) is the session's business (:mod:`.session`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from runbridge.backends.jupyter import rate_limits
from runbridge.backends.jupyter.channels import KernelChannels, KernelMessage
from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.errors import JupyterError, JupyterNotFound
from runbridge.backends.kernel.core import KernelCore
from runbridge.backends.kernel.run import KernelRun
from runbridge.backends.kernel.transport import Message, RunHooks
from runbridge.errors import BackendError

log = logging.getLogger(__name__)

#: A run silent this long (no reply yet) makes the session check that its kernel still exists.
LIVENESS_CHECK_S = 3.0
#: Longest wait for the IOPub barrier before an input prompt is shown.
BARRIER_TIMEOUT_S = 0.5


class JupyterKernel(RunHooks):
    """The channels websocket of one server-side kernel; implements
    :class:`runbridge.backends.kernel.transport.KernelTransport` and the core's hooks."""

    silence_check_s = LIVENESS_CHECK_S

    def __init__(self, client: JupyterClient, name: str, on_dead: Callable[[], None]) -> None:
        self.client = client
        #: The session's name (for messages).
        self.name = name
        #: The server's id of the kernel, once the session has one.
        self.kernel_id: str | None = None
        self.channels: KernelChannels | None = None
        #: Why the kernel is unusable (it died, or is gone from the server).
        self.dead: str | None = None
        #: The server no longer has the kernel.
        self.gone = False
        #: A restart is under way: the kernel's deaths meanwhile are the restart's.
        self.restarting = False
        #: IOPub barriers in flight: control request msg_id -> its IOPub idle.
        self._barriers: dict[str, asyncio.Future[None]] = {}
        self.core = KernelCore(self, on_dead, hooks=self)

    def _what(self, doing: str) -> str:
        return f"{doing} for session {self.name!r}"

    # -- the websocket -------------------------------------------------------------
    async def connect(self, session_id: str) -> None:
        """Open the kernel's channels websocket (``session_id`` stays the same across
        reconnects and restarts)."""
        assert self.kernel_id is not None
        channels = KernelChannels(
            self.client,
            self.kernel_id,
            session_id,
            self._on_message,
            self._on_lost,
            username=self.client.config.username or "runbridge",
            reconnect_timeout=max(30.0, self.client.config.connect_timeout * 3),
        )
        await channels.connect()
        self.channels = channels
        self.dead = None

    async def close_channels(self) -> None:
        channels, self.channels = self.channels, None
        if channels is not None:
            await channels.close()

    def kernel_died(self, reason: str) -> None:
        if self.restarting:
            return
        self.dead = reason
        self.core.kernel_died(reason)

    def _on_lost(self, reason: str) -> None:
        self.gone = True
        self.kernel_died(reason)

    def _on_message(self, msg: KernelMessage) -> None:
        kind = msg.msg_type
        content = msg.content
        if msg.channel == "iopub" and kind == "status":
            state = content.get("execution_state")
            barrier = self._barriers.get(msg.parent_id or "") if self._barriers else None
            if barrier is not None:
                if state == "idle" and not barrier.done():
                    barrier.set_result(None)
                return
            if state == "restarting":
                self.kernel_died(
                    "the kernel died during the run (the server is restarting it; "
                    "variables are lost)"
                )
                return
            if state == "dead":
                self.kernel_died("the kernel died and the server could not restart it")
                return
        run = self.core.feed(msg)
        if run is not None and kind == "stream" and msg.channel == "iopub":
            setting = rate_limits.limit_of_notice(content)
            if setting is not None:
                run.note_once(setting, rate_limits.after_notice(setting))

    # -- the transport of the run core -------------------------------------------
    async def send_execute(self, msg_id: str, content: dict[str, Any]) -> None:
        channels = self.channels
        if channels is None:
            raise BackendError(f"session {self.name!r} has no kernel connection", session=self.name)
        await channels.send("shell", "execute_request", content, msg_id=msg_id)

    async def send_request(
        self, channel: str, msg_type: str, content: dict[str, Any], msg_id: str
    ) -> None:
        channels = self.channels
        if channels is None:
            raise BackendError(f"session {self.name!r} has no kernel connection", session=self.name)
        await channels.send(channel, msg_type, content, msg_id=msg_id)

    async def send_input_reply(self, value: str, request: Message) -> None:
        channels = self.channels
        if channels is not None:
            with contextlib.suppress(JupyterError):
                await channels.send(
                    "stdin", "input_reply", {"value": value, "status": "ok"}, parent=request.header
                )

    async def send_interrupt(self) -> None:
        if self.kernel_id is None or self.gone:
            return
        await self.client.request(
            "POST",
            f"/api/kernels/{self.kernel_id}/interrupt",
            what=self._what("interrupting the kernel"),
        )

    async def is_alive(self) -> bool:
        # the kernel's death is pushed (kernel_died), never polled: nothing to ask here
        return self.dead is None

    def death_message(self) -> str:
        return self.dead or f"the kernel is gone from the {self.client.where}"

    # -- hooks of the run core -----------------------------------------------------
    async def before_input(self) -> None:
        """Wait until the IOPub output sent before now has arrived.

        The kernel flushes stdout before it asks for input, but IOPub and stdin are
        separate sockets, and the server may forward the ``input_request`` ahead of
        the output printed just before it. A ``kernel_info_request`` on the control
        channel makes ipykernel publish ``status`` on IOPub, behind that output: once
        its ``idle`` arrives, everything printed earlier has too. (Bounded: a kernel
        that publishes nothing for control requests costs :data:`BARRIER_TIMEOUT_S`.)
        """
        channels = self.channels
        if channels is None:
            return
        msg_id = uuid.uuid4().hex
        barrier: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers[msg_id] = barrier
        try:
            await channels.send("control", "kernel_info_request", {}, msg_id=msg_id)
            await asyncio.wait_for(barrier, BARRIER_TIMEOUT_S)
        except (TimeoutError, JupyterError):
            pass
        finally:
            self._barriers.pop(msg_id, None)

    async def check_silent_run(self) -> None:
        # Some servers (Kernel Gateway) keep the websocket open when the kernel is shut
        # down or culled: ask whether the kernel still exists.
        await self.check()

    async def check(self) -> None:
        """End the kernel when the server no longer has it (or says it is dead)."""
        kernel_id = self.kernel_id
        if kernel_id is None:
            return
        try:
            model = await self.client.get_json(
                f"/api/kernels/{kernel_id}", what=self._what("checking the kernel")
            )
        except JupyterNotFound:
            self._on_lost(
                f"kernel {kernel_id} no longer exists on the {self.client.where} "
                "(it was shut down, culled or the server restarted)"
            )
            return
        except JupyterError as exc:  # unreachable for now: the websocket decides
            log.info("session %r: kernel check failed: %s", self.name, exc.message)
            return
        if isinstance(model, dict) and model.get("execution_state") == "dead":
            self._on_lost(f"kernel {kernel_id} is dead on the {self.client.where}")

    async def after_run(self, run: KernelRun) -> None:
        """A KeyboardInterrupt nobody here asked for: a server shutting the kernel down
        (another client, a culler) interrupts it first. Give the server a moment to show
        whether the kernel is gone, so such a run ends ``failed``, not ``interrupted``."""
        if not run.interrupted_by_someone_else():
            return
        for _ in range(4):
            if run.aborted is not None or self.gone:
                break
            await asyncio.sleep(0.25)
            await self.check()
        if self.gone and run.aborted is None:
            run.aborted = f"the kernel was shut down on the {self.client.where} during the run"
