"""Batch jobs on a Jupyter session: ``build``, ``exec`` then ``clean``, run on the server.

Mechanism: **through the session's (Python) kernel**, in one execute request.
A small helper, sent as the cell's code, runs each step as ``/bin/sh -c <step>``
with ``subprocess.Popen`` in the session folder on the server (its own process
group, stdin closed) and copies the step's stdout and stderr to the kernel's
``sys.stdout``/``sys.stderr`` as they come (decoded incrementally), so they
stream back as ordinary ``stream`` messages. Why the kernel rather than a
terminal: it works on every server that runs kernels (Kernel and Enterprise
Gateways have no terminals), keeps stdout and stderr apart, and needs no
shell-prompt scraping.

- Semantics follow :mod:`runbridge.backends.local.batch`: the first failing
  step's exit code, a failing build skips exec, ``clean`` always runs (60 s),
  ``build: "*"`` is ``make`` / a ``.venv`` + ``pip install -r requirements.txt`` /
  ``pip install .`` decided by the files *on the server* (the venv is made with
  the kernel's Python), ``exec: "*"`` is ``python main.py``, steps see
  ``.venv/bin`` and then the kernel's Python first on ``PATH``. Code sent in batch
  mode is written by the helper to ``.runbridge/batch-<id>.<ext>`` in the session
  folder (``$RUNBRIDGE_BATCH_FILE``) and, without ``exec``, run with the
  interpreter for its language.
- ``options.timeout`` is enforced by the helper (SIGKILL to the step's process
  group → ``exec-timeout``, exit code 124).
- An interrupt (the kernel's SIGINT) raises ``KeyboardInterrupt`` in the helper,
  which sends SIGINT, then SIGTERM, then SIGKILL (1.5 s apart) to the step's
  process group → ``interrupted``, exit code 130; ``clean`` still runs.
- The user's namespace is untouched: the helper is one uniquely named function
  that the cell deletes in a ``finally``. The result (status, exit code) is
  printed after the steps' output as one marker line,
  ``\\x1e<unique token>{json}\\n``, which :class:`MarkerSink` strips from
  stdout before the editor sees it. The helper also writes it to
  ``.runbridge/batch-<id>.status``; if the marker line was lost (e.g. dropped by
  the server's ``iopub_data_rate_limit`` after a flood of output), a second tiny
  request prints it again from that file (retried once after the server's
  3 s rate-limit window).

Non-Python kernels raise :class:`~runbridge.errors.Unsupported`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Protocol

from runbridge.backends.base import RunSink
from runbridge.errors import Unsupported
from runbridge.languages import batch_file
from runbridge.model import BatchOptions, Display, RunOutcome, RunStatus

log = logging.getLogger(__name__)

#: Jupyter Server's ``rate_limit_window`` (3 s): after it, output flows again.
RATE_LIMIT_WINDOW_S = 3.0

#: Seconds ``clean`` is given.
CLEAN_TIMEOUT_S = 60.0
#: Extra seconds the execute request is given past ``options.timeout`` (clean, kill grace).
BACKSTOP_S = CLEAN_TIMEOUT_S + 30.0

_HELPER = r"""
def {fn}(spec):
    import codecs, json, os, selectors, shlex, signal, subprocess, sys, time
    cwd = spec["cwd"] or os.getcwd()
    env = dict(os.environ)
    env.update(spec["env"])
    bindir = os.path.dirname(sys.executable)
    venv = os.path.join(cwd, ".venv")
    state_dir = os.path.join(cwd, ".runbridge")

    def step_env():
        e = dict(env)
        path = [bindir, e.get("PATH", "")]
        if os.path.isdir(venv):
            path.insert(0, os.path.join(venv, "bin"))
            e["VIRTUAL_ENV"] = venv
        e["PATH"] = os.pathsep.join(p for p in path if p)
        e["PYTHONUNBUFFERED"] = "1"
        return e

    def say(text):
        sys.stderr.write("runbridge: " + text + "\n")
        sys.stderr.flush()

    def kill(proc, sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def relay(sel, outs, wait):
        for key, _ in sel.select(wait):
            stream, dec = outs[key.fd]
            data = os.read(key.fd, 65536)
            text = dec.decode(data, final=not data)
            if text:
                stream.write(text)
                stream.flush()
            if not data:
                sel.unregister(key.fd)
                del outs[key.fd]

    def run(command, timeout):
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command], cwd=cwd, env=step_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        sel = selectors.DefaultSelector()
        outs = {{}}
        for pipe, stream in ((proc.stdout, sys.stdout), (proc.stderr, sys.stderr)):
            outs[pipe.fileno()] = (stream, codecs.getincrementaldecoder("utf-8")("replace"))
            sel.register(pipe.fileno(), selectors.EVENT_READ)
        deadline = None if timeout is None else time.monotonic() + timeout
        state = "finished"
        try:
            while outs:
                wait = 0.25
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        state = "exec-timeout"
                        kill(proc, signal.SIGKILL)
                        break
                    wait = min(wait, left)
                relay(sel, outs, wait)
        except KeyboardInterrupt:
            state = "interrupted"
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                kill(proc, sig)
                try:
                    proc.wait(1.5)
                    break
                except subprocess.TimeoutExpired:
                    continue
        end = time.monotonic() + 2.0
        while outs and time.monotonic() < end:
            relay(sel, outs, 0.1)
        sel.close()
        code = proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        return code, state

    def default_build():
        if os.path.exists(os.path.join(cwd, "Makefile")) or os.path.exists(
            os.path.join(cwd, "makefile")
        ):
            return "make"
        make_venv = shlex.quote(sys.executable) + " -m venv --system-site-packages .venv"
        pip = ".venv/bin/python -m pip install --disable-pip-version-check"
        if os.path.exists(os.path.join(cwd, "requirements.txt")):
            return make_venv + " && " + pip + " -r requirements.txt"
        if os.path.exists(os.path.join(cwd, "pyproject.toml")) or os.path.exists(
            os.path.join(cwd, "setup.py")
        ):
            return make_venv + " && " + pip + " ."
        return None

    result = {{"status": "finished", "exit": 0, "message": None}}
    try:
        steps = []
        build = spec["build"]
        if build == "*":
            build = default_build()
            if build is None:
                say("default build: nothing to build")
        if build:
            steps.append(("build", build))
        exec_cmd = spec["exec"]
        if spec["code"]:
            os.makedirs(state_dir, exist_ok=True)
            name = "batch-" + spec["id"] + "." + spec["ext"]
            saved = os.path.join(state_dir, name)
            with open(saved, "w", encoding="utf-8") as f:
                f.write(spec["code"])
            env["RUNBRIDGE_BATCH_FILE"] = saved
            if not exec_cmd:
                if spec["interpreter"] is None:
                    why = "no interpreter known for language %r; pass exec" % spec["language"]
                    say(why)
                    result = {{"status": "finished", "exit": 2, "message": why}}
                    steps = []
                else:
                    exec_cmd = spec["interpreter"] + " " + shlex.quote(".runbridge/" + name)
        if exec_cmd == "*":
            exec_cmd = "python main.py"
        if exec_cmd and result["exit"] == 0:
            steps.append(("exec", exec_cmd))
        timeout = spec["timeout"]
        deadline = None if timeout is None else time.monotonic() + timeout
        for step, command in steps:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            code, state = run(command, left)
            if state == "exec-timeout":
                result = {{"status": state, "exit": 124, "message": step + " exceeded the timeout"}}
                break
            if state == "interrupted":
                result = {{"status": state, "exit": 130, "message": step + " was interrupted"}}
                break
            if code != 0:
                message = "%s exited with code %d" % (step, code)
                result = {{"status": "finished", "exit": code, "message": message}}
                break
    except KeyboardInterrupt:
        result = {{"status": "interrupted", "exit": 130, "message": "interrupted"}}
    except Exception as exc:
        message = "batch failed on the server: %s: %s" % (type(exc).__name__, exc)
        say(message)
        result = {{"status": "failed", "exit": None, "message": message}}
    if spec["clean"]:
        try:
            code, state = run(spec["clean"], spec["clean_timeout"])
            if code != 0:
                say("clean exited with code %d" % code)
        except KeyboardInterrupt:
            say("clean was interrupted")
        except Exception as exc:
            say("clean failed: %s: %s" % (type(exc).__name__, exc))
    line = json.dumps(result)
    try:
        os.makedirs(state_dir, exist_ok=True)
        with open(os.path.join(state_dir, "batch-" + spec["id"] + ".status"), "w") as f:
            f.write(line)
    except OSError:
        pass
    sys.stderr.flush()
    sys.stdout.flush()
    sys.stdout.write(spec["marker"] + line + "\n")
    sys.stdout.flush()


try:
    {fn}(__import__("json").loads({spec!r}))
finally:
    del {fn}
"""

_RECALL = r"""
def {fn}(cwd, run_id, marker):
    import os, sys
    path = os.path.join(cwd or os.getcwd(), ".runbridge", "batch-" + run_id + ".status")
    try:
        with open(path) as f:
            sys.stdout.write(marker + f.read() + "\n")
    except OSError:
        pass
    sys.stdout.flush()


try:
    {fn}({cwd!r}, {run_id!r}, {marker!r})
finally:
    del {fn}
"""

_FORGET = r"""
def {fn}(cwd, run_id):
    import os
    try:
        os.remove(os.path.join(cwd or os.getcwd(), ".runbridge", "batch-" + run_id + ".status"))
    except OSError:
        pass


try:
    {fn}({cwd!r}, {run_id!r})
finally:
    del {fn}
"""


class BatchSession(Protocol):
    """What :func:`run_batch` needs of the Jupyter backend session."""

    @property
    def cwd(self) -> str | None: ...

    @property
    def language(self) -> str | None: ...

    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome: ...


class MarkerSink:
    """Passes output on to ``sink``, taking out the helper's result line from stdout.

    The line is ``<marker><json>\\n``; it may arrive split over several stream
    messages, so a stdout tail that could be the start of the marker is held
    back until the next piece shows what it is.
    """

    def __init__(self, sink: RunSink, marker: str) -> None:
        self._sink = sink
        self._marker = marker
        self._held = ""
        self.result: dict[str, Any] | None = None

    def emit(self, kind: str, data: str, display: Display | None = None) -> None:
        if kind != "stdout" or display is not None:
            self.flush()
            self._sink.emit(kind, data, display)
            return
        text = self._held + data
        self._held = ""
        while text:
            at = text.find(self._marker)
            if at < 0:
                keep = _prefix_overlap(text, self._marker)
                if len(text) > keep:
                    self._sink.emit("stdout", text[: len(text) - keep])
                self._held = text[len(text) - keep :]
                return
            if at:
                self._sink.emit("stdout", text[:at])
            rest = text[at + len(self._marker) :]
            end = rest.find("\n")
            if end < 0:
                self._held = text[at:]
                return
            try:
                parsed = json.loads(rest[:end])
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                self.result = parsed
            text = rest[end + 1 :]

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, ""
            self._sink.emit("stdout", held)

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        return await self._sink.ask_input(prompt, password)


def _prefix_overlap(text: str, marker: str) -> int:
    """The length of the longest end of ``text`` that begins ``marker`` (shorter than it)."""
    for size in range(min(len(text), len(marker) - 1), 0, -1):
        if text.endswith(marker[:size]):
            return size
    return 0


def helper_code(options: BatchOptions, code: str, cwd: str | None, run_id: str, marker: str) -> str:
    """The cell that runs the batch job in a Python kernel."""
    ext, interpreter = batch_file(options.language)
    spec: dict[str, Any] = {
        "id": run_id,
        "marker": marker,
        "cwd": cwd,
        "env": {},
        "build": options.build or None,
        "exec": options.exec or None,
        "clean": options.clean or None,
        "timeout": options.timeout,
        "clean_timeout": CLEAN_TIMEOUT_S,
        "code": code or None,
        "ext": ext,
        "interpreter": interpreter,
        "language": options.language,
    }
    fn = f"_runbridge_batch_{run_id}"
    return _HELPER.format(fn=fn, spec=json.dumps(spec))


def _outcome(result: dict[str, Any]) -> RunOutcome:
    raw_status = result.get("status")
    try:
        status = RunStatus(str(raw_status))
    except ValueError:
        status = RunStatus.FAILED
    code = result.get("exit")
    message = result.get("message")
    return RunOutcome(
        status,
        code if isinstance(code, int) else None,
        message=message if isinstance(message, str) else None,
    )


def _is_python(language: str | None) -> bool:
    return (language or "").lower().startswith("python")


async def run_batch(
    session: BatchSession, options: BatchOptions, code: str, sink: RunSink
) -> RunOutcome:
    """Run ``options``' steps (and ``code``) in the session folder on the server."""
    if not _is_python(session.language):
        raise Unsupported(
            f"batch mode on a Jupyter server needs a Python kernel; this session's kernel "
            f"runs {session.language or 'an unknown language'}"
        )
    run_id = uuid.uuid4().hex[:12]
    marker = f"\x1erunbridge-batch-{uuid.uuid4().hex}:"
    filtered = MarkerSink(sink, marker)
    backstop = None if options.timeout is None else options.timeout + BACKSTOP_S
    outcome = await session.execute(
        helper_code(options, code, session.cwd, run_id, marker), filtered, backstop
    )
    filtered.flush()
    fn = f"_runbridge_batch_status_{run_id}"
    if filtered.result is None and outcome.status == RunStatus.FINISHED and outcome.error is None:
        # The marker line was lost on the way (rate-limited output): ask for it again,
        # once at once and once after the server's rate-limit window has passed.
        log.info("batch %s: no result line came back; reading it from the status file", run_id)
        recall = _RECALL.format(fn=fn, cwd=session.cwd, run_id=run_id, marker=marker)
        for attempt in range(2):
            if attempt:
                await asyncio.sleep(RATE_LIMIT_WINDOW_S)
            await session.execute(recall, filtered, 30.0)
            filtered.flush()
            if filtered.result is not None:
                break
    forget = _FORGET.format(fn=fn, cwd=session.cwd, run_id=run_id)
    await session.execute(forget, filtered, 30.0)
    filtered.flush()
    if outcome.status == RunStatus.EXEC_TIMEOUT:  # the backstop fired: the helper hung
        return outcome
    if filtered.result is not None:
        return _outcome(filtered.result)
    if outcome.status != RunStatus.FINISHED or outcome.error is not None:
        return outcome
    return RunOutcome(
        RunStatus.FAILED,
        None,
        message="the batch job ended without reporting its exit status",
    )
