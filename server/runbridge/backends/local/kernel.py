"""A Jupyter kernel on this machine, driven through jupyter_client's async API.

One :class:`LocalKernel` owns one kernel process. It starts the kernel with the
IPC transport and a private connection file, routes the kernel's IOPub, shell
and stdin messages to the run in progress, and notices when the process dies.
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

from runbridge import mime, paths
from runbridge.ansi import strip_ansi
from runbridge.backends.base import RunSink
from runbridge.backends.local import guardian
from runbridge.errors import BackendError, KernelSpecNotFound, quote
from runbridge.model import RunOutcome, RunStatus, UserError

log = logging.getLogger(__name__)

#: How often a running cell checks that the kernel process is still alive.
_ALIVE_POLL_S = 0.25
#: After execute_reply, a run whose IOPub stays silent this long is finished: under a
#: flood the kernel's PUB socket drops messages at its high-water mark, possibly the
#: final ``status: idle`` too, and without this the run would never end.
_IDLE_GRACE_S = 2.0
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


class KernelRun:
    """One execute request in flight: it is done once both its reply and its idle arrived
    (shared by the local and jupyter backends)."""

    def __init__(self, msg_id: str, sink: RunSink) -> None:
        self.msg_id = msg_id
        self.sink = sink
        self.reply: dict[str, Any] | None = None
        self.idle = False
        self.done = asyncio.Event()
        self.last_activity = 0.0
        self.aborted: str | None = None  # why the run ended early: "died", "restarted"
        self.input_cancelled = False
        self.input_task: asyncio.Task[None] | None = None
        self.error: UserError | None = None

    def check_done(self) -> None:
        if self.reply is not None and self.idle:
            self.done.set()

    def on_iopub(self, kind: str, content: dict[str, Any]) -> None:
        """One IOPub message of this run: output to the sink, the error, the idle."""
        sink = self.sink
        if kind == "stream":
            sink.emit(str(content.get("name", "stdout")), str(content.get("text", "")))
        elif kind in ("display_data", "execute_result", "update_display_data"):
            data = content.get("data")
            record = mime.record_from_bundle(data if isinstance(data, dict) else {})
            if record is not None:
                sink.emit(*record, mime.display_of(kind, content))
        elif kind == "error":
            traceback = [str(line) for line in content.get("traceback") or []]
            sink.emit("stderr", "\n".join(traceback) + "\n")
            self.error = UserError(
                ename=str(content.get("ename", "")),
                evalue=str(content.get("evalue", "")),
                traceback=[strip_ansi(line) for line in traceback],
            )
        elif kind == "clear_output":
            sink.emit(*mime.clear_record(bool(content.get("wait", False))))
        elif kind == "status" and content.get("execution_state") == "idle":
            self.idle = True
            self.check_done()


class LocalKernel:
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
        self._on_dead = on_dead
        self._km: AsyncKernelManager | None = None
        self._kc: Any = None
        self._pumps: list[asyncio.Task[None]] = []
        self._run: KernelRun | None = None
        self._log_file: Any = None
        self._language = ""
        #: the session the guardian watches (the kernel's pid), 0 for none
        self._guarded = 0

    # -- lifecycle ---------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._km is not None

    async def is_alive(self) -> bool:
        return self._km is not None and bool(await self._km.is_alive())

    def _open_log(self) -> IO[bytes]:
        """The kernel's own stdout and stderr: its log (0600), or nowhere when the log
        folder cannot be written (the kernel starts all the same)."""
        try:
            paths.own_folder(self.log_path.parent)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            return os.fdopen(paths.open_private(self.log_path, flags), "ab")
        except OSError as exc:
            log.warning(
                "the kernel log %s cannot be written (%s); the kernel's own messages are lost",
                self.log_path,
                exc.strerror or exc,
            )
            return open(os.devnull, "ab")

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
            asyncio.create_task(self._pump(kc.get_shell_msg, self._on_shell), name="shell"),
            asyncio.create_task(self._pump(kc.get_stdin_msg, self._on_stdin), name="stdin"),
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

    async def restart(self) -> None:
        run = self._run
        if run is not None:
            run.aborted = "restarted"
            run.done.set()
        await self.stop()
        await self.start()

    async def interrupt(self) -> None:
        if self._km is not None:
            await self._km.interrupt_kernel()

    # -- message routing ---------------------------------------------------
    async def _pump(self, get: Any, handle: Callable[[dict[str, Any]], None]) -> None:
        while True:
            msg = await get()
            try:
                handle(msg)
            except Exception:
                log.exception("error handling a kernel message")

    async def _pump_iopub(self, kc: Any) -> None:
        """Like :meth:`_pump`, but takes every message already queued in one go.

        ``get_iopub_msg`` costs a poll future and a recv future (two event-loop
        rounds) per message, a large share of the daemon's time under a flood.
        """
        session = kc.session
        socket = kc.iopub_channel.socket
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
                    self._on_iopub(msg)
                except Exception:
                    log.exception("error handling a kernel message")

    def _current(self, msg: dict[str, Any]) -> KernelRun | None:
        run = self._run
        parent = msg.get("parent_header", {}).get("msg_id")
        if run is not None and parent == run.msg_id:
            return run
        return None

    def _on_iopub(self, msg: dict[str, Any]) -> None:
        run = self._current(msg)
        if run is None:
            return
        run.last_activity = asyncio.get_running_loop().time()
        run.on_iopub(msg["header"]["msg_type"], msg["content"])

    def _on_shell(self, msg: dict[str, Any]) -> None:
        run = self._current(msg)
        if run is not None and msg["header"]["msg_type"] == "execute_reply":
            run.reply = msg["content"]
            run.last_activity = asyncio.get_running_loop().time()
            run.check_done()

    def _on_stdin(self, msg: dict[str, Any]) -> None:
        run = self._current(msg)
        if run is None or msg["header"]["msg_type"] != "input_request":
            return
        content = msg["content"]
        run.input_task = asyncio.create_task(
            self._answer_input(run, content.get("prompt", ""), bool(content.get("password")))
        )

    async def _answer_input(self, run: KernelRun, prompt: str, password: bool) -> None:
        try:
            value = await run.sink.ask_input(prompt, password)
        except Exception as exc:
            log.warning("input request failed: %s", exc)
            value = None
        if run.done.is_set():
            return
        if value is None:
            run.input_cancelled = True
            await self.interrupt()
        elif self._kc is not None:
            self._kc.input(value)

    # -- execution ---------------------------------------------------------
    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        if not await self.is_alive():
            await self.stop()
            await self.start()
        assert self._kc is not None
        msg_id = self._kc.execute(code, allow_stdin=True, stop_on_error=False)
        run = KernelRun(msg_id, sink)
        self._run = run
        try:
            timed_out = await self._wait(run, timeout)
        finally:
            self._run = None
            if run.input_task is not None and not run.input_task.done():
                run.input_task.cancel()
        return self._outcome(run, timed_out)

    async def _wait(self, run: KernelRun, timeout: float | None) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        timed_out = False
        while not run.done.is_set():
            wait = _ALIVE_POLL_S
            if deadline is not None and not timed_out:
                wait = max(0.0, min(wait, deadline - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.done.wait(), wait)
            if run.done.is_set():
                break
            if not await self.is_alive():
                run.aborted = "died"
                self._on_dead()
                break
            if run.reply is not None and loop.time() - run.last_activity > _IDLE_GRACE_S:
                log.warning("run %s: IOPub messages were dropped (no status idle)", run.msg_id)
                run.sink.emit(
                    "stderr",
                    "\n[runbridge] some output of this run was lost: the kernel printed "
                    "faster than it could be forwarded\n",
                )
                break
            if deadline is not None and not timed_out and loop.time() >= deadline:
                timed_out = True
                await self.interrupt()
        return timed_out

    def _outcome(self, run: KernelRun, timed_out: bool) -> RunOutcome:
        if run.aborted == "died":
            code = None
            if self._km is not None and self._km.provisioner is not None:
                process = getattr(self._km.provisioner, "process", None)
                code = getattr(process, "returncode", None)
            detail = f" (exit code {code})" if code is not None else ""
            return RunOutcome(
                RunStatus.FAILED,
                None,
                message=f"the kernel died{detail} during the run; the next run or a restart "
                "starts a fresh kernel (variables are lost)",
            )
        if run.aborted == "restarted":
            return RunOutcome(
                RunStatus.FAILED, None, message="the kernel was restarted during the run"
            )
        reply = run.reply or {}
        status = reply.get("status", "ok")
        if timed_out:
            return RunOutcome(RunStatus.EXEC_TIMEOUT, 124, message="the run exceeded its timeout")
        if status == "error" or run.error is not None:
            ename = reply.get("ename") or (run.error.ename if run.error else "")
            if ename == "KeyboardInterrupt":
                why = "input cancelled" if run.input_cancelled else "interrupted"
                return RunOutcome(RunStatus.INTERRUPTED, 130, message=why)
            error = run.error or UserError(
                ename=ename,
                evalue=reply.get("evalue", ""),
                traceback=[strip_ansi(line) for line in reply.get("traceback", [])],
            )
            return RunOutcome(RunStatus.FINISHED, 1, error=error)
        if status == "aborted":
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="the kernel aborted the run")
        return RunOutcome(RunStatus.FINISHED, 0)
