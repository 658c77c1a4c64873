"""Spare kernels: one started Python kernel kept per kernelspec a session was opened with,
so that the next session of that kernelspec opens without waiting for a kernel start.

A spare is a :class:`LocalKernel` started like any other (IPC transport, private
connection file in the backend's runtime folder, guardian watch, its own process
session, XPUB_NODROP), with a folder and a log of its own in the runtime folder. A
session takes it through :meth:`LocalKernel.adopt`; a spare found dead is stopped and
never handed out. Spares are stopped by :meth:`SparePool.aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runbridge.backends.local.kernel import LocalKernel

log = logging.getLogger(__name__)

#: Env vars read when an interpreter or ipykernel starts, not later: a session whose env
#: sets one of these gets a fresh kernel (a spare started without them would differ).
STARTUP_ENV_PREFIXES = ("PYTHON", "LD_", "DYLD_", "JUPYTER", "IPYTHON", "JPY_", "MPLBACKEND")
STARTUP_ENV_NAMES = frozenset({"PATH", "HOME", "TMPDIR"})
#: How long a kernel start is expected to take before one was measured.
_FIRST_START_GUESS_S = 1.0


def spare_fits(env: dict[str, str]) -> bool:
    """Whether a spare can become the kernel of a session opened with ``env``."""
    return not any(key in STARTUP_ENV_NAMES or key.startswith(STARTUP_ENV_PREFIXES) for key in env)


@dataclass
class _Spares:
    """The spares of one kernelspec."""

    ready: list[LocalKernel] = field(default_factory=list)
    #: spares being started, with the monotonic time their start began
    starting: dict[asyncio.Task[None], float] = field(default_factory=dict)
    #: how long the last kernel start of this kernelspec took
    start_s: float = _FIRST_START_GUESS_S


class SparePool:
    """Up to ``per_kernelspec`` started spares for each kernelspec a session used."""

    def __init__(self, runtime_dir: Path, per_kernelspec: int) -> None:
        self._runtime = runtime_dir
        self.per_kernelspec = per_kernelspec
        self._specs: dict[str, _Spares] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._closed = False

    def spares(self, kernel_name: str) -> list[LocalKernel]:
        """The ready spares of ``kernel_name`` (a copy)."""
        spares = self._specs.get(kernel_name)
        return list(spares.ready) if spares else []

    async def take(
        self,
        kernel_name: str,
        workdir: Path,
        env: dict[str, str],
        log_path: Path,
        on_dead: Callable[[], None],
    ) -> LocalKernel | None:
        """A ready spare of ``kernel_name`` made the session's kernel, or None (then the
        caller starts a kernel itself). A spare still starting is waited for only as long
        as a fresh start would still take."""
        spares = self._specs.get(kernel_name)
        if spares is None or self._closed or not spare_fits(env):
            return None
        kernel = await self._adopt_ready(spares, workdir, env, log_path, on_dead)
        if kernel is not None or not spares.starting:
            return kernel
        task, began = next(iter(spares.starting.items()))
        remaining = spares.start_s - (time.monotonic() - began)
        if remaining > 0:
            await asyncio.wait({task}, timeout=remaining)
        return await self._adopt_ready(spares, workdir, env, log_path, on_dead)

    async def _adopt_ready(
        self,
        spares: _Spares,
        workdir: Path,
        env: dict[str, str],
        log_path: Path,
        on_dead: Callable[[], None],
    ) -> LocalKernel | None:
        while spares.ready:
            spare = spares.ready.pop(0)
            spare_dir = spare.workdir
            try:
                adopted = await spare.adopt(workdir, env, log_path, on_dead)
            except BaseException:
                self._stop_later(spare)
                raise
            if adopted:
                with contextlib.suppress(OSError):
                    spare_dir.rmdir()
                return spare
            log.info("spare kernel %s could not be taken (dead?); stopped", spare.pid)
            self._stop_later(spare)
        return None

    def replenish(self, kernel_name: str, language: str, start_s: float | None = None) -> None:
        """A session of ``kernel_name`` opened (its kernel started in ``start_s`` seconds,
        when it was not a spare): start spares until it has ``per_kernelspec`` of them.
        Only Python kernels get spares."""
        if self._closed or self.per_kernelspec <= 0 or language != "python":
            return
        spares = self._specs.setdefault(kernel_name, _Spares())
        if start_s is not None:
            spares.start_s = start_s
        for _ in range(self.per_kernelspec - len(spares.ready) - len(spares.starting)):
            task = asyncio.create_task(self._start(kernel_name, spares), name="spare kernel")
            spares.starting[task] = time.monotonic()

    async def _start(self, kernel_name: str, spares: _Spares) -> None:
        key = uuid.uuid4().hex[:12]
        kernel = LocalKernel(
            kernel_name,
            self._runtime / f"spare-{key}",
            {},
            self._runtime,
            self._runtime / f"spare-{key}.log",
            on_dead=lambda: None,
        )
        began = time.monotonic()
        try:
            await kernel.start()
        except Exception as exc:
            log.warning("a spare kernel %r did not start: %s", kernel_name, exc)
            await kernel.stop()
            return
        finally:
            spares.starting.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
        spares.start_s = time.monotonic() - began
        if self._closed:
            await kernel.stop()
        else:
            spares.ready.append(kernel)
            log.info("spare kernel %d of %r ready", kernel.pid, kernel_name)

    def _stop_later(self, kernel: LocalKernel) -> None:
        task = asyncio.create_task(kernel.stop(), name="stop spare kernel")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def aclose(self) -> None:
        """Stop every spare (those still starting once started)."""
        self._closed = True
        starting = [task for spares in self._specs.values() for task in spares.starting]
        await asyncio.gather(*starting, return_exceptions=True)
        ready = [kernel for spares in self._specs.values() for kernel in spares.ready]
        for spares in self._specs.values():
            spares.ready.clear()
        await asyncio.gather(
            *(kernel.stop() for kernel in ready), *self._stopping, return_exceptions=True
        )
