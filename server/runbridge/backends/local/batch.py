"""Batch jobs on this machine: ``build`` then ``exec`` (then ``clean``) shell commands.

The commands run with ``/bin/sh -c`` in the session's work folder, with stdin
closed, in a process session of their own (which the guardian ends if the daemon
dies). Their stdout and stderr are streamed as they come (decoded incrementally,
so a multi-byte character is never split).

``build: "*"`` is the default build; see :func:`default_build_command`.
``exec: "*"`` is the default exec: ``python main.py``.

Code sent with a batch run is saved as ``.runbridge/batch-<id>.<ext>`` in the
work folder (its path is in ``$RUNBRIDGE_BATCH_FILE`` for the steps); without
an ``exec``, that file is run with the interpreter for its language.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shlex
import signal
import sys
import uuid
from pathlib import Path
from typing import BinaryIO

from runbridge.backends.base import RunSink
from runbridge.backends.local import guardian
from runbridge.confined_paths import Place, open_folder, open_root, write_file
from runbridge.languages import batch_file
from runbridge.model import BatchOptions, RunOutcome, RunStatus

_CHUNK = 65536
#: Where batch code is saved in the work folder.
_CODE_FOLDER = ".runbridge"
#: How long each signal of an interrupt (SIGINT, SIGTERM, SIGKILL) is given.
_INTERRUPT_GRACE_S = 1.5


def default_build_command(workdir: Path) -> str | None:
    """What ``build: "*"`` runs in ``workdir``; None when there is nothing to build.

    - a ``Makefile`` (or ``makefile``): ``make``;
    - a ``requirements.txt``: a virtual environment ``.venv`` in the work folder
      (with access to the system site-packages) and ``pip install -r requirements.txt`` in it;
    - a ``pyproject.toml`` or ``setup.py``: the same ``.venv`` and ``pip install .``.

    Nothing is ever installed into runbridge's own environment: the venv lives
    in the work folder and the exec step finds it first on ``PATH``.
    """
    if (workdir / "Makefile").exists() or (workdir / "makefile").exists():
        return "make"
    python = shlex.quote(sys.executable)
    make_venv = f"{python} -m venv --system-site-packages .venv"
    pip = ".venv/bin/python -m pip install --disable-pip-version-check"
    if (workdir / "requirements.txt").exists():
        return f"{make_venv} && {pip} -r requirements.txt"
    if (workdir / "pyproject.toml").exists() or (workdir / "setup.py").exists():
        return f"{make_venv} && {pip} ."
    return None


def default_exec_command() -> str:
    return "python main.py"


def save_batch_code(workdir: Path, code: str, language: str | None) -> tuple[Path, str | None]:
    """Write batch ``code`` to a file in the work folder; return it and how to run it."""
    ext, interpreter = batch_file(language)
    name = f"batch-{uuid.uuid4().hex[:8]}.{ext}"
    relative = f"{_CODE_FOLDER}/{name}"
    # the work folder is the session's: a link planted at .runbridge is refused, not followed
    place = Place("batch code file", "the session work folder")
    with (
        open_root(workdir, place) as root,
        open_folder(root, [_CODE_FOLDER], relative, place, create=True) as folder,
    ):

        def fill(out: BinaryIO) -> None:
            out.write(code.encode("utf-8", "surrogateescape"))

        write_file(folder, name, fill, relative, place)
    path = workdir / relative
    run = f"{interpreter} {shlex.quote(relative)}" if interpreter else None
    return path, run


def batch_env(workdir: Path, session_env: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **session_env}
    path = [str(Path(sys.executable).parent), env.get("PATH", "")]
    venv = workdir / ".venv"
    if venv.is_dir():
        path.insert(0, str(venv / "bin"))
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join(p for p in path if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class BatchRunner:
    """Runs the steps of one batch job; ``interrupt`` stops the current step."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self._process: asyncio.subprocess.Process | None = None
        self._running = False
        self._interrupted = False
        #: The escalation started for a step interrupted while it was starting.
        self._stopping: asyncio.Future[None] | None = None

    async def run(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        self._interrupted = False
        self._running = True
        try:
            return await self._run(options, code, sink)
        finally:
            self._running = False
            self._interrupted = False

    async def _run(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        loop = asyncio.get_running_loop()
        deadline = None if options.timeout is None else loop.time() + options.timeout
        steps: list[tuple[str, str]] = []
        if options.build:
            build = options.build
            if build == "*":
                found = default_build_command(self.workdir)
                if found is None:
                    sink.emit("stderr", "runbridge: default build: nothing to build\n")
                build = found or ""
            if build:
                steps.append(("build", build))
        exec_cmd = options.exec
        extra_env: dict[str, str] = {}
        if code:
            saved, run_saved = save_batch_code(self.workdir, code, options.language)
            extra_env["RUNBRIDGE_BATCH_FILE"] = str(saved)
            if not exec_cmd:
                if run_saved is None:
                    why = f"no interpreter known for language {options.language!r}; pass exec"
                    sink.emit("stderr", f"runbridge: {why}\n")
                    return RunOutcome(RunStatus.FINISHED, 2, message=why)
                exec_cmd = run_saved
        if exec_cmd == "*":
            exec_cmd = default_exec_command()
        if exec_cmd:
            steps.append(("exec", exec_cmd))
        exit_code = 0
        status = RunStatus.FINISHED
        message: str | None = None
        for step, command in steps:
            if self._interrupted:
                status, message, exit_code = (
                    RunStatus.INTERRUPTED,
                    f"interrupted before {step}",
                    130,
                )
                break
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            exit_code, timed_out = await self._step(command, sink, remaining, extra_env)
            if timed_out:
                status, message = RunStatus.EXEC_TIMEOUT, f"{step} exceeded the timeout"
                exit_code = 124
                break
            if self._interrupted:
                status, message = RunStatus.INTERRUPTED, f"{step} was interrupted"
                exit_code = 130
                break
            if exit_code != 0:
                message = f"{step} exited with code {exit_code}"
                break
        if options.clean:
            clean_code, _ = await self._step(options.clean, sink, 60.0, extra_env)
            if clean_code != 0:
                sink.emit("stderr", f"runbridge: clean exited with code {clean_code}\n")
        return RunOutcome(status, exit_code, message=message)

    async def _step(
        self, command: str, sink: RunSink, timeout: float | None, extra_env: dict[str, str]
    ) -> tuple[int, bool]:
        env = batch_env(self.workdir, {**self.env, **extra_env})
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            cwd=str(self.workdir),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self._process = process
        guardian.watch(process.pid)
        if self._interrupted:  # the interrupt came while the process was being started
            # the same escalation as interrupt(): a SIGINT that lands while the step is
            # still starting can be lost (or ignored), and the step must end all the same
            self._stopping = asyncio.ensure_future(self._stop(process))
        assert process.stdout is not None and process.stderr is not None
        readers = asyncio.gather(
            _relay(process.stdout, "stdout", sink), _relay(process.stderr, "stderr", sink)
        )
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(readers), timeout)
        except TimeoutError:
            timed_out = True
            self._kill(signal.SIGKILL)
            await readers
        except asyncio.CancelledError:
            self._kill(signal.SIGKILL)
            raise
        finally:
            code = await process.wait()
            self._process = None
            guardian.forget(process.pid)
        return code, timed_out

    def _kill(self, sig: int) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)

    async def interrupt(self) -> None:
        """SIGINT to the step's process group; SIGTERM, then SIGKILL, if it lingers."""
        if not self._running:
            return
        self._interrupted = True
        process = self._process
        if process is None:  # between steps, or starting one: the run loop sees the flag
            return
        await self._stop(process)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """SIGINT to the step's process group; SIGTERM, then SIGKILL, if it lingers."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            self._kill(sig)
            try:
                await asyncio.wait_for(asyncio.shield(process.wait()), _INTERRUPT_GRACE_S)
                return
            except TimeoutError:
                continue

    def kill(self) -> None:
        self._kill(signal.SIGKILL)


async def _relay(stream: asyncio.StreamReader, kind: str, sink: RunSink) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            tail = decoder.decode(b"", final=True)
            if tail:
                sink.emit(kind, tail)
            return
        text = decoder.decode(chunk)
        if text:
            sink.emit(kind, text)
