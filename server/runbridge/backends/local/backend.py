"""The embedded ``local`` backend: kernels, batch jobs, files and a shell on this machine.

Each session gets a work folder under the platformdirs data folder (the
analogue of Backend.AI's ``/home/work``): the kernel's cwd, the upload
destination, the batch jobs' and the terminal's cwd.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runbridge import paths
from runbridge.backends.apps import AppForward, ServiceApp, no_apps
from runbridge.backends.base import (
    Backend,
    BackendSession,
    ProgressCallback,
    RunSink,
    StateCallback,
    StatusCallback,
    Terminal,
    TerminalExit,
    TerminalOutput,
)
from runbridge.backends.local import files as local_files
from runbridge.backends.local.batch import BatchRunner
from runbridge.backends.local.kernel import LocalKernel, find_kernelspec
from runbridge.backends.local.spares import SparePool
from runbridge.backends.local.terminal import PtyTerminal
from runbridge.config import DEFAULT_SPARE_KERNELS, Profile
from runbridge.errors import Unsupported
from runbridge.model import (
    NO_INSPECTION,
    BatchOptions,
    Completions,
    FileEntry,
    FolderEntry,
    Inspection,
    RemoteSession,
    RunOutcome,
    SessionState,
    Variables,
    no_completions,
)
from runbridge.session_options import SessionOptions, refuse_options

DEFAULT_IMAGE = "python3"
#: Progress callbacks from copy threads are forwarded at most this often.
_PROGRESS_INTERVAL_S = 0.1


class LocalSession:
    def __init__(
        self,
        name: str,
        image: str | None,
        env: dict[str, str],
        on_state: StateCallback,
        runtime_dir: Path,
        spares: SparePool,
    ) -> None:
        self.name = name
        self.image = image or DEFAULT_IMAGE
        self.env = dict(env)
        self._on_state = on_state
        self._workdir = paths.session_workdir(name)
        self.workdir = str(self._workdir)
        self._spares = spares
        self.kernel = LocalKernel(
            self.image,
            self._workdir,
            self.env,
            runtime_dir,
            paths.kernel_logs_dir() / f"{paths.safe_name(name)}.log",
            on_dead=lambda: on_state(SessionState.DEAD),
        )
        self._batch = BatchRunner(self._workdir, self.env)
        self._terminals: list[PtyTerminal] = []
        #: A local session is always new: its kernel ends with the daemon.
        self.created: bool | None = None

    @property
    def remote_id(self) -> str | None:
        """Local kernels have no server id."""
        return None

    async def start(self) -> None:
        """Take a spare kernel of this kernelspec when one is ready, else start one; then
        the next spare starts in the background."""
        kernel = self.kernel
        spare = await self._spares.take(
            kernel.kernel_name, kernel.workdir, kernel.env, kernel.log_path, kernel.on_dead
        )
        start_s = None
        if spare is not None:
            self.kernel = spare
        else:
            began = time.monotonic()
            await kernel.start()
            start_s = time.monotonic() - began
        self._spares.replenish(self.kernel.kernel_name, self.kernel.language, start_s)
        self.created = True

    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        return await self.kernel.execute(code, sink, timeout)

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        return await self._batch.run(options, code, sink)

    async def complete(self, code: str, cursor: int) -> Completions:
        if not self.kernel.started:
            return no_completions(cursor)
        return await self.kernel.core.complete(code, cursor)

    async def inspect(self, code: str, cursor: int, detail: int) -> Inspection:
        if not self.kernel.started:
            return NO_INSPECTION
        return await self.kernel.core.inspect(code, cursor, detail)

    async def variables(self, busy: bool) -> Variables:
        return await self.kernel.variables(busy, self.name)

    async def interrupt(self) -> None:
        await self._batch.interrupt()
        await self.kernel.interrupt()

    async def restart(self) -> None:
        self._batch.kill()
        await self.kernel.restart()

    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return await _in_thread(local_files.copy_in, self._workdir, files, dest, progress)

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return await _in_thread(local_files.copy_out, self._workdir, files, dest, progress)

    async def list_files(self, path: str) -> list[FolderEntry]:
        return await asyncio.to_thread(local_files.list_folder, self._workdir, path)

    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal:
        terminal = PtyTerminal(on_output, on_exit)
        terminal.start(self._workdir, self.env, rows, cols)
        self._terminals.append(terminal)
        return terminal

    async def close(self, destroy: bool = False) -> None:
        self._batch.kill()
        await asyncio.gather(
            self.kernel.close(), *(t.close() for t in self._terminals), return_exceptions=True
        )

    async def detach(self) -> None:
        """Nothing outlives the daemon here: detaching closes."""
        await self.close()

    async def list_apps(self) -> list[ServiceApp]:
        raise no_apps(self.name, "local")

    async def open_app(self, app: str, local_port: int | None, port: int | None) -> AppForward:
        raise no_apps(self.name, "local")


class _TransferCancelled(Exception):
    """Raised in the copying thread when its request was cancelled."""


def _threadsafe(progress: ProgressCallback, stop: threading.Event) -> ProgressCallback:
    """Wrap a loop-side progress callback so a worker thread can call it (throttled).

    Once ``stop`` is set, the next call raises in the thread: the copy stops at the next
    chunk and its partial file is removed.
    """
    loop = asyncio.get_running_loop()
    last = [0.0]

    def report(done: int, total: int) -> None:
        if stop.is_set():
            raise _TransferCancelled
        now = time.monotonic()
        if done >= total or now - last[0] >= _PROGRESS_INTERVAL_S:
            last[0] = now
            loop.call_soon_threadsafe(progress, done, total)

    return report


async def _in_thread(
    copy: Callable[[Path, list[str], str, ProgressCallback], list[FileEntry]],
    workdir: Path,
    files: list[str],
    dest: str,
    progress: ProgressCallback,
) -> list[FileEntry]:
    """Run a file copy in a thread; cancelling the caller stops the copy too."""
    stop = threading.Event()
    try:
        return await asyncio.to_thread(copy, workdir, files, dest, _threadsafe(progress, stop))
    except asyncio.CancelledError:
        stop.set()
        raise


#: Kernel connection files and IPC sockets: ``<temp>/runbridge-kernels-<daemon pid>-<random>``.
RUNTIME_PREFIX = "runbridge-kernels-"
_RUNTIME_NAME = re.compile(re.escape(RUNTIME_PREFIX) + r"(\d+)-[A-Za-z0-9_]+")


def remove_stale_runtime_folders() -> None:
    """Remove the runtime folders of this user's daemons that died without cleaning up
    (``kill -9``): a folder is removed only when its name is one of ours, it is a real
    folder owned by this user, and no process has its daemon's pid."""
    temp = tempfile.gettempdir()
    try:
        entries = list(os.scandir(temp))
    except OSError:
        return
    for entry in entries:
        found = _RUNTIME_NAME.fullmatch(entry.name)
        if found is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
            continue  # that daemon (or a process with its pid) is alive: leave it
        except ProcessLookupError:
            pass
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)  # never follows links inside


class LocalBackend:
    name = "local"

    def __init__(self, profile: Profile | None = None) -> None:
        self.profile_name = "local" if profile is None else profile.name
        # IPC socket paths must stay short (~100 bytes), so they live in /tmp.
        remove_stale_runtime_folders()
        self._runtime = Path(tempfile.mkdtemp(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-"))
        per_kernelspec = DEFAULT_SPARE_KERNELS if profile is None else profile.spare_kernels
        #: started kernels kept for the next sessions (``spare_kernels`` of the profile)
        self.spares = SparePool(self._runtime, per_kernelspec)

    def open(
        self,
        name: str,
        image: str | None,
        env: dict[str, str],
        on_state: StateCallback,
        on_status: StatusCallback | None = None,
        *,
        options: SessionOptions | None = None,
        attach: str | None = None,
    ) -> LocalSession:
        refuse_options(options, self.profile_name, self.name)
        if attach is not None:
            raise Unsupported(
                "attaching to a running kernel is not supported on local profiles (their "
                "kernels are runbridge's own)",
                field="attach",
            )
        return LocalSession(name, image, env, on_state, self._runtime, self.spares)

    async def list_remote(self) -> list[RemoteSession]:
        """Local profiles have no server: nothing to attach to."""
        return []

    async def check(self, image: str | None) -> str:
        name = image or DEFAULT_IMAGE
        spec = await asyncio.to_thread(find_kernelspec, name)
        return f"kernelspec {name!r} ({spec.display_name}) is installed on this machine"

    async def aclose(self) -> None:
        await self.spares.aclose()
        with contextlib.suppress(OSError):
            shutil.rmtree(self._runtime)


if TYPE_CHECKING:  # both classes satisfy the contract of runbridge.backends.base

    def _is_backend(backend: LocalBackend) -> Backend:
        return backend

    def _is_session(session: LocalSession) -> BackendSession:
        return session
