"""A Jupyter kernel on this machine, driven through jupyter_client's async API.

One :class:`LocalKernel` owns one kernel process. It starts the kernel with the
IPC transport and a private connection file, and is the ZeroMQ transport of the
kernel run core (:mod:`runbridge.backends.kernel`): it sends the core's requests
and feeds it the kernel's IOPub, shell, stdin and control messages; the core says whether
the process is still alive by asking :meth:`LocalKernel.is_alive`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import zmq
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager

from runbridge import paths
from runbridge.backends.base import RunSink
from runbridge.backends.kernel.core import KernelCore
from runbridge.backends.kernel.transport import DictMessage, Message
from runbridge.backends.kernel.variables import VariableReader
from runbridge.backends.local import guardian
from runbridge.errors import BackendError, KernelSpecNotFound, quote
from runbridge.model import RunOutcome, Variables

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 60.0
#: IOPub messages queued in the daemon (64 KB each under a flood: ~4 MB).
_IOPUB_RCVHWM = 64
#: Run silently in an ipykernel at start: its IOPub socket blocks instead of dropping
#: messages when the daemon falls behind (without it a flood loses output, even the
#: final ``status: idle``).
_NODROP = """
try:
    import zmq as _rb_zmq
    from ipykernel.kernelapp import IPKernelApp as _rb_app
    _rb_t = _rb_app.instance().iopub_thread
    _rb_t.io_loop.add_callback(_rb_t.socket.setsockopt, _rb_zmq.XPUB_NODROP, 1)
    del _rb_zmq, _rb_app, _rb_t
except Exception:
    pass
"""
#: IOPub messages taken per wake-up before other tasks get a turn.
_DRAIN_MAX = 64
#: Run silently in a started spare Python kernel when a session takes it: what a fresh
#: kernel of that session would have from its start (cwd, env vars, IPython's directory
#: history, its output in the session's kernel log), leaving no name behind.
_ADOPT = """
def _rb_adopt(workdir, env, log):
    import os, sys
    os.chdir(workdir)
    os.environ.update(env)
    dh = get_ipython().user_ns.get("_dh")
    if dh:
        dh[:] = [type(dh[0])(workdir)]
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        for stream, number in ((sys.stdout, 1), (sys.stderr, 2)):
            os.dup2(fd, getattr(stream, "_original_stdstream_copy", None) or number)
    finally:
        os.close(fd)
_rb_adopt(%r, %r, %r)
del _rb_adopt
"""
_ADOPT_TIMEOUT_S = 5.0


def available_kernelspecs() -> list[str]:
    return sorted(KernelSpecManager().find_kernel_specs())


def find_kernelspec(name: str) -> Any:
    """The kernelspec ``name``, or :class:`KernelSpecNotFound` naming the installed ones."""
    try:
        return KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(available_kernelspecs()) or "none installed"
        raise KernelSpecNotFound(
            f"no Jupyter kernelspec named {quote(name)} (installed: {known})", image=name
        ) from None


class LocalKernel:
    """One kernel process; the ZeroMQ transport of its run core (:attr:`core`), implementing
    :class:`runbridge.backends.kernel.transport.KernelTransport`."""

    def __init__(
        self,
        kernel_name: str,
        workdir: Path,
        env: dict[str, str],
        runtime_dir: Path,
        log_path: Path,
        on_dead: Callable[[], None],
    ) -> None:
        self.kernel_name = kernel_name
        self.workdir = workdir
        self.env = env
        self.runtime_dir = runtime_dir
        self.log_path = log_path
        self._km: AsyncKernelManager | None = None
        self._kc: Any = None
        self._pumps: list[asyncio.Task[None]] = []
        #: called when a run finds the kernel dead (a spare gets its session's on adoption)
        self.on_dead = on_dead
        self.core = KernelCore(self, lambda: self.on_dead())
        self._variables = VariableReader(self.core, self)
        self._log_file: Any = None
        self._language = ""
        #: the session the guardian watches (the kernel's pid), 0 for none
        self._guarded = 0

    # -- lifecycle ---------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._km is not None

    @property
    def language(self) -> str:
        """The kernelspec's language, lower case (known once started)."""
        return self._language

    @property
    def pid(self) -> int:
        """The kernel process's pid (the session the guardian watches), 0 when none."""
        return self._guarded

    async def is_alive(self) -> bool:
        return self._km is not None and bool(await self._km.is_alive())

    def _open_log(self) -> IO[bytes]:
        """The kernel's own stdout and stderr: its log (0600), or nowhere when the log
        folder cannot be written (the kernel starts all the same)."""
        return _open_log(self.log_path)

    async def start(self) -> None:
        spec = find_kernelspec(self.kernel_name)
        self._language = (spec.language or "").lower()
        try:
            self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(
                f"cannot make the session's work folder {self.workdir}: {exc.strerror or exc}",
                image=self.kernel_name,
            ) from None
        key = uuid.uuid4().hex[:12]
        km = AsyncKernelManager(
            kernel_name=self.kernel_name,
            transport="ipc",
            ip=str(self.runtime_dir / f"k{key}"),
            connection_file=str(self.runtime_dir / f"kernel-{key}.json"),
        )
        self._log_file = self._open_log()
        env = {**os.environ, **self.env}
        env.pop("JPY_PARENT_PID", None)
        try:
            await km.start_kernel(
                cwd=str(self.workdir),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=self._log_file,
            )
        except Exception as exc:
            self._log_file.close()
            raise BackendError(
                f"kernel {self.kernel_name!r} failed to start: {exc}; see {self.log_path}",
                image=self.kernel_name,
            ) from exc
        with contextlib.suppress(OSError):
            os.chmod(km.connection_file, 0o600)
        self._km = km
        process = getattr(km.provisioner, "process", None)
        if process is not None:  # the kernel leads a session: its children end with the daemon
            self._guarded = process.pid
            guardian.watch(process.pid)
        kc = km.client()
        # A short receive queue bounds the daemon's memory; with XPUB_NODROP (below) the
        # kernel then waits for the daemon instead of dropping output.
        kc.context.setsockopt(zmq.RCVHWM, _IOPUB_RCVHWM)
        kc.start_channels()
        self._kc = kc
        try:
            await kc.wait_for_ready(timeout=_READY_TIMEOUT_S)
        except RuntimeError as exc:
            await self.stop()
            raise BackendError(
                f"kernel {self.kernel_name!r} did not become ready: {exc}; see {self.log_path}",
                image=self.kernel_name,
            ) from exc
        if self._language == "python":
            # ipykernel: block (not drop) IOPub output when the daemon falls behind
            with contextlib.suppress(Exception):
                await kc.execute_interactive(
                    _NODROP,
                    silent=True,
                    store_history=False,
                    timeout=10,
                    output_hook=lambda m: None,
                )
        self._pumps = [
            asyncio.create_task(self._pump_iopub(kc), name="iopub"),
            asyncio.create_task(self._pump("shell", kc.get_shell_msg), name="shell"),
            asyncio.create_task(self._pump("stdin", kc.get_stdin_msg), name="stdin"),
            asyncio.create_task(self._pump("control", kc.get_control_msg), name="control"),
        ]

    async def stop(self) -> None:
        """End the kernel process (and its process group) now."""
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(BaseException):
                await task
        self._pumps = []
        km, kc = self._km, self._kc
        self._km = self._kc = None
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if km is not None:
            provisioner = km.provisioner
            pgid = getattr(provisioner, "pgid", None)
            process = getattr(provisioner, "process", None)
            if pgid is None and process is not None:
                pgid = process.pid  # the kernel leads its own session
            if pgid:
                with contextlib.suppress(OSError):
                    os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await km.shutdown_kernel(now=True)  # also removes the connection file
        if self._guarded:
            guardian.forget(self._guarded)
            self._guarded = 0
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def adopt(
        self, workdir: Path, env: dict[str, str], log_path: Path, on_dead: Callable[[], None]
    ) -> bool:
        """Make this started spare (a Python kernel, no run yet) the kernel a fresh start
        for a session would give: cwd ``workdir``, ``env`` set, its output going to
        ``log_path`` (with what the spare logged so far). False when it cannot (dead, the
        work folder cannot be made, the setup run failed): the caller stops it."""
        if self._kc is None or self._language != "python" or not await self.is_alive():
            return False
        try:
            workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False  # a fresh start says why
        session_log = _open_log(log_path)
        target = Path(os.devnull) if session_log.name == os.devnull else log_path
        code = _ADOPT % (str(workdir), dict(env), str(target))
        reply = await self.core.run_silent(code, {}, _ADOPT_TIMEOUT_S)
        if reply.get("status") != "ok":
            session_log.close()
            return False
        spare_log = self.log_path
        with contextlib.suppress(OSError):  # the spare's start lines, then its log is gone
            session_log.write(spare_log.read_bytes())
            session_log.flush()
        with contextlib.suppress(OSError):
            spare_log.unlink()
        if self._log_file is not None:
            self._log_file.close()
        self._log_file = session_log
        self.workdir, self.env, self.log_path, self.on_dead = workdir, env, log_path, on_dead
        return True

    async def restart(self) -> None:
        self.core.restarted()
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """The session is closing: its run in progress ends, then the kernel."""
        self.core.session_closed()
        await self.stop()

    async def interrupt(self) -> None:
        await self.core.interrupt()

    # -- the transport of the run core -------------------------------------------
    async def send_execute(self, msg_id: str, content: dict[str, Any]) -> None:
        kc = self._kc
        if kc is None:
            raise BackendError(
                f"kernel {self.kernel_name!r} is not running", image=self.kernel_name
            )
        header = kc.session.msg_header("execute_request")
        header["msg_id"] = msg_id
        kc.shell_channel.send(kc.session.msg("execute_request", content, header=header))

    async def send_request(
        self, channel: str, msg_type: str, content: dict[str, Any], msg_id: str
    ) -> None:
        kc = self._kc
        if kc is None:
            raise BackendError(
                f"kernel {self.kernel_name!r} is not running", image=self.kernel_name
            )
        header = kc.session.msg_header(msg_type)
        header["msg_id"] = msg_id
        socket = kc.control_channel if channel == "control" else kc.shell_channel
        socket.send(kc.session.msg(msg_type, content, header=header))

    async def send_input_reply(self, value: str, request: Message) -> None:
        if self._kc is not None:
            self._kc.input(value)

    async def send_interrupt(self) -> None:
        if self._km is not None:
            await self._km.interrupt_kernel()

    def death_message(self) -> str:
        code = None
        if self._km is not None and self._km.provisioner is not None:
            process = getattr(self._km.provisioner, "process", None)
            code = getattr(process, "returncode", None)
        detail = f" (exit code {code})" if code is not None else ""
        return (
            f"the kernel died{detail} during the run; the next run or a restart starts a "
            "fresh kernel (variables are lost)"
        )

    # -- message routing ---------------------------------------------------
    async def _pump(self, channel: str, get: Any) -> None:
        feed = self.core.feed
        while True:
            msg = await get()
            try:
                feed(DictMessage.of(channel, msg))
            except Exception:
                log.exception("error handling a kernel message")

    async def _pump_iopub(self, kc: Any) -> None:
        """Like :meth:`_pump`, but takes every message already queued in one go.

        ``get_iopub_msg`` costs a poll future and a recv future (two event-loop
        rounds) per message, a large share of the daemon's time under a flood.
        """
        session = kc.session
        socket = kc.iopub_channel.socket
        feed = self.core.feed
        while True:
            batch = [await kc.get_iopub_msg()]
            for _ in range(_DRAIN_MAX):
                try:
                    frames = await socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                _, smsg = session.feed_identities(frames)
                batch.append(session.deserialize(smsg))
            for msg in batch:
                try:
                    feed(DictMessage.of("iopub", msg))
                except Exception:
                    log.exception("error handling a kernel message")

    # -- execution ---------------------------------------------------------
    async def variables(self, busy: bool, session: str) -> Variables:
        """The user's variables (:class:`~runbridge.backends.kernel.variables.VariableReader`);
        none when the kernel is not running (nothing is started here)."""
        if self._kc is None or not await self.is_alive():
            return Variables([])
        return await self._variables.read(self._language, busy, self.kernel_name, session)

    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        if not await self.is_alive():
            await self.stop()
            await self.start()
        return await self.core.execute(code, sink, timeout)


def _open_log(path: Path) -> IO[bytes]:
    """A kernel's log opened for appending (0600), or ``/dev/null`` when it cannot be
    written (said in the daemon's log)."""
    try:
        paths.own_folder(path.parent)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        return os.fdopen(paths.open_private(path, flags), "ab")
    except OSError as exc:
        log.warning(
            "the kernel log %s cannot be written (%s); the kernel's own messages are lost",
            path,
            exc.strerror or exc,
        )
        return open(os.devnull, "ab")
