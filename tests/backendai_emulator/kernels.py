"""Per-session compute backends: a real Jupyter kernel for query mode, real subprocesses for batch.

Results are produced as an event stream per run and collected the way the Backend.AI agent does
(``get_next_result`` + ``aggregate_console``): records are gathered until the run finishes, asks for
input, reaches a build/clean boundary, or the flush timeout elapses (-> ``continued``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

# Consecutive records of these types are merged into one (agent ``aggregate_console``).
_MERGEABLE = ("stdout", "stderr")


def aggregate_console(records: list[list[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for rtype, data in records:
        if out and rtype in _MERGEABLE and out[-1][0] == rtype:
            out[-1][1] += data
        else:
            out.append([rtype, data])
    return out


@dataclass
class Run:
    run_id: str
    mode: str
    events: asyncio.Queue[tuple[str, Any, Any]] = field(default_factory=asyncio.Queue)
    inputs: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    finished: bool = False
    waiting_input: bool = False
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    def console(self, rtype: str, data: Any) -> None:
        self.events.put_nowait(("console", rtype, data))

    def status(self, status: str, exit_code: int | None, options: Any = None) -> None:
        self.events.put_nowait(("status", status, (exit_code, options)))

    async def next_result(self, flush_timeout: float | None) -> dict[str, Any]:
        """Collect records until a boundary or the flush timeout, as the agent does."""
        loop = asyncio.get_running_loop()
        deadline = None if flush_timeout is None else loop.time() + flush_timeout
        records: list[list[Any]] = []
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                kind, a, b = await asyncio.wait_for(self.events.get(), timeout)
            except TimeoutError:
                return self._result("continued", None, None, records)
            if kind == "console":
                records.append([a, b])
                continue
            exit_code, options = b
            if a == "waiting-input":
                self.waiting_input = True
            if a in ("finished", "exec-timeout"):
                self.finished = True
            return self._result(a, exit_code, options, records)

    def _result(
        self, status: str, exit_code: int | None, options: Any, records: list[list[Any]]
    ) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "status": status,
            "exitCode": exit_code,
            "options": options,
            "files": [],
            "console": aggregate_console(records),
        }


def _media_records(data: dict[str, Any], is_result: bool) -> list[list[Any]]:
    """Map a Jupyter MIME bundle to Backend.AI console records (§7 of the reference)."""
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            return [["media", [mime, f"data:{mime};base64,{data[mime].strip()}"]]]
    if "image/svg+xml" in data:
        return [["media", ["image/svg+xml", data["image/svg+xml"]]]]
    for mime, value in data.items():
        if mime.startswith(("application/x-sorna", "application/vnd.sorna")):
            return [["media", [mime, value]]]
    if "text/html" in data:
        return [["html", data["text/html"]]]
    if "text/plain" in data:
        return [["stdout", data["text/plain"] + "\n"]]
    return []


class SessionRuntime:
    """One Jupyter kernel plus batch subprocesses, working in ``workdir`` (= /home/work)."""

    def __init__(
        self, workdir: Path, *, exit_code_on_error: int, exec_timeout: float | None
    ) -> None:
        self.workdir = workdir
        self.exit_code_on_error = exit_code_on_error
        self.exec_timeout = exec_timeout
        self.km: AsyncKernelManager | None = None
        self.ipc_dir: Path | None = None
        self.kc: Any = None
        self.lock = asyncio.Lock()  # runs queue FIFO per kernel
        self.runs: dict[str, Run] = {}
        self.env = self._env()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTEST_CURRENT_TEST", None)
        env["PYTHONUNBUFFERED"] = "1"
        env["HOME"] = str(self.workdir)
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env.setdefault("TERM", "xterm-256color")
        return env

    async def start(self) -> None:
        # IPC sockets in a folder of its own: TCP ports picked free by jupyter_client can be
        # taken by another process before the kernel binds them (two test workers start
        # kernels at once), which kills the kernel at start and with it the session.
        self.ipc_dir = Path(tempfile.mkdtemp(prefix="bai-kernel-"))
        self.km = AsyncKernelManager(
            kernel_name="python3",
            transport="ipc",
            ip=str(self.ipc_dir / "k"),
            connection_file=str(self.ipc_dir / "kernel.json"),
        )
        await self.km.start_kernel(cwd=str(self.workdir), env=self.env)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)

    async def restart(self) -> None:
        assert self.km is not None
        await self.km.restart_kernel(now=True)
        await self.kc.wait_for_ready(timeout=60)

    async def interrupt(self) -> None:
        for run in list(self.runs.values()):
            for proc in run.procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        if self.km is not None:
            with contextlib.suppress(Exception):
                await self.km.interrupt_kernel()

    async def shutdown(self) -> None:
        for run in list(self.runs.values()):
            for proc in run.procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            if run.task:
                run.task.cancel()
            if not run.finished:  # the kernel is gone: the run ends as on kernel death
                run.status("finished", 130)
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.km is not None:
            with contextlib.suppress(Exception):
                await self.km.shutdown_kernel(now=True)
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)

    # -- runs -----------------------------------------------------------------------------

    def start_run(
        self, mode: str, code: str, options: dict[str, Any] | None, run_id: str | None
    ) -> Run:
        run = Run(run_id or secrets.token_hex(16), mode)
        self.runs[run.run_id] = run
        coro = self._query(run, code) if mode == "query" else self._batch(run, options or {})
        run.task = asyncio.create_task(coro)
        return run

    def forget(self, run: Run) -> None:
        self.runs.pop(run.run_id, None)

    async def _query(self, run: Run, code: str) -> None:
        async with self.lock:
            kc = self.kc
            msg_id = kc.execute(code, allow_stdin=True, stop_on_error=False)
            stdin_task = asyncio.create_task(self._stdin_loop(run, msg_id))
            errored = False
            try:
                while True:
                    try:
                        msg = await kc.get_iopub_msg(timeout=1.0)
                    except Exception:  # queue.Empty on timeout
                        if self.km is not None and not await self.km.is_alive():
                            run.status("finished", 130)
                            return
                        continue
                    if msg["parent_header"].get("msg_id") != msg_id:
                        continue
                    mtype, content = msg["msg_type"], msg["content"]
                    if mtype == "stream":
                        run.console(content["name"], content["text"])
                    elif mtype in ("display_data", "execute_result"):
                        for rec in _media_records(
                            content.get("data", {}), mtype == "execute_result"
                        ):
                            run.console(*rec)
                    elif mtype == "error":
                        errored = True
                        run.console("stderr", "\n".join(content.get("traceback", [])) + "\n")
                    elif mtype == "status" and content["execution_state"] == "idle":
                        break
            finally:
                stdin_task.cancel()
            run.status("finished", self.exit_code_on_error if errored else 0)

    async def _stdin_loop(self, run: Run, msg_id: str) -> None:
        kc = self.kc
        while True:
            try:
                msg = await kc.get_stdin_msg(timeout=0.5)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id or msg["msg_type"] != "input_request":
                continue
            await asyncio.sleep(0.05)  # let already-flushed iopub output land first
            prompt = msg["content"].get("prompt", "")
            if prompt:
                run.console("stdout", prompt)
            run.status("waiting-input", None, {"is_password": bool(msg["content"].get("password"))})
            text = await run.inputs.get()
            run.waiting_input = False
            kc.input(text)

    async def _sh(self, run: Run, cmd: str, timeout: float | None = None) -> int | None:
        proc = await asyncio.create_subprocess_shell(
            cmd,
            cwd=self.workdir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        run.procs.append(proc)

        async def pump(stream: asyncio.StreamReader, name: str) -> None:
            while chunk := await stream.read(4096):
                run.console(name, chunk.decode(errors="replace"))

        pumps = asyncio.gather(pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr"))  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            await pumps
            return None
        await pumps
        run.procs.remove(proc)
        return proc.returncode

    async def _batch(self, run: Run, options: dict[str, Any]) -> None:
        async with self.lock:
            clean = options.get("clean")
            if clean == "*":  # the python runtime has no default clean step
                clean = None
            code = await self._sh(run, clean) if clean else 0
            run.status("clean-finished", code)
            build = options.get("build")
            if build == "*":
                build = "make" if (self.workdir / "Makefile").exists() else None
            code = await self._sh(run, build) if build else 0
            run.status("build-finished", code)
            if code != 0:
                run.status("finished", 127)
                return
            exe = options.get("exec")
            if not exe:
                run.status("finished", 0)
                return
            if exe == "*":
                if not (self.workdir / "main.py").exists():
                    run.console("stderr", "main.py: not found\n")
                    run.status("finished", 127)
                    return
                exe = "python main.py"
            code = await self._sh(run, exe, self.exec_timeout)
            if code is None:
                run.status("exec-timeout", None)
            else:
                run.status("finished", code)
