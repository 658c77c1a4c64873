"""One named session on a Jupyter server behind runbridge's :class:`BackendSession` contract.

* ``start``: on a Jupyter Server (sessions and contents APIs), the name maps to
  the server-side session of path ``runbridge/NAME/session`` (type ``console``):
  the folder ``runbridge/NAME`` is created through the contents API, the kernel's
  cwd is that folder, and reopening the name later (even from another daemon)
  reattaches to the same kernel with its variables (``created: false``). On a
  gateway (no sessions API), a JSON state file under runbridge's state folder maps
  ``server URL → name → kernel id``; the entry is checked with
  ``GET /api/kernels/{id}`` on reattach and a stale one starts a fresh kernel.
* runs go over the kernel channels websocket (:mod:`.channels`) with a stable
  ``session_id``; messages whose parent is the run's ``execute_request`` become
  console records as on the local backend (:mod:`runbridge.mime`); a run ends when
  both its ``execute_reply`` and its ``status: idle`` arrived.
* ``interrupt`` / ``restart``: REST; a kernel that dies (``status: restarting`` or
  ``dead``, or gone from the server) ends the run ``failed`` and the session
  ``dead``; the next run or a restart brings a kernel back.
* files, terminals and batch jobs: :mod:`.files`, :mod:`.terminal`, :mod:`.batch`.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from runbridge import paths
from runbridge.ansi import strip_ansi
from runbridge.backends.base import (
    ProgressCallback,
    RunSink,
    StateCallback,
    Terminal,
    TerminalExit,
    TerminalOutput,
)
from runbridge.backends.jupyter.channels import KernelChannels, KernelMessage
from runbridge.backends.jupyter.client import JupyterClient, ServerFeatures, quote_path
from runbridge.backends.jupyter.errors import JupyterError, JupyterNotFound
from runbridge.backends.local.kernel import KernelRun
from runbridge.errors import BackendError, KernelSpecNotFound, SessionConflict, quote
from runbridge.model import (
    BatchOptions,
    Display,
    FileEntry,
    FolderEntry,
    RunOutcome,
    RunStatus,
    SessionState,
    UserError,
)

log = logging.getLogger(__name__)

#: Top folder of runbridge's sessions on the server (contents-API path).
ROOT_FOLDER = "runbridge"
#: The server-side session's path inside the session folder.
SESSION_FILE = "session"
#: After execute_reply, a run whose IOPub stays silent this long without its idle ends.
IDLE_GRACE_S = 5.0
#: A run silent this long makes the session check that its kernel still exists.
LIVENESS_CHECK_S = 3.0
#: Longest wait for the IOPub barrier before an input prompt is shown.
BARRIER_TIMEOUT_S = 0.5
#: How often a waiting run wakes up (timeouts, the idle grace).
WAIT_TICK_S = 0.5
#: After a restart, the kernel's channels websocket must open within this, else the
#: kernel is replaced. Jupyter Server holds the upgrade until it has "nudged" the kernel
#: (up to its kernel_info_timeout, 60 s); once, after a crash and a restart, it held it
#: for all of that.
RESTART_CONNECT_S = 30.0

#: Silent setup cell for Python kernels: the session's env, the kernel's cwd.
_PY_SETUP = "import os as _rb_os\n_rb_os.environ.update({env})\ndel _rb_os\n"


def session_root(name: str) -> str:
    """The session's folder as a contents-API path (``runbridge/NAME``)."""
    return f"{ROOT_FOLDER}/{paths.safe_name(name)}"


# -- the gateway state file ----------------------------------------------------------
class KernelStore:
    """``{server URL: {session name: {"kernel_id", "kernel_name"}}}`` in a JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.state_dir() / "jupyter-kernels.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, server: str, name: str) -> dict[str, Any] | None:
        entry = self._load().get(server, {}).get(name)
        return entry if isinstance(entry, dict) and entry.get("kernel_id") else None

    def put(self, server: str, name: str, entry: dict[str, Any] | None) -> None:
        data = self._load()
        names = data.setdefault(server, {})
        if not isinstance(names, dict):
            names = data[server] = {}
        if entry is None:
            names.pop(name, None)
            if not names:
                data.pop(server, None)
        else:
            names[name] = entry
        text = json.dumps(data, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # a new 0600 file under a random name (O_EXCL), renamed onto the store
            fd, partial = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(text)
                os.replace(partial, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
                raise
        except OSError as exc:
            log.warning(
                "cannot record the kernel of session %s in %s (%s): reopening the name "
                "in a new daemon will not find it",
                quote(name),
                self.path,
                exc.strerror or exc,
            )


# -- runs ---------------------------------------------------------------------------
class _ActiveRun(KernelRun):
    def __init__(self, msg_id: str, sink: RunSink) -> None:
        super().__init__(msg_id, sink)
        self.interrupt_sent = False
        #: The session was closed (or detached) while the run executed.
        self.closed = False


class JupyterSession:
    """A kernel on a Jupyter server; implements :class:`runbridge.backends.base.BackendSession`."""

    def __init__(
        self,
        client: JupyterClient,
        name: str,
        image: str,
        env: dict[str, str],
        on_state: StateCallback,
        *,
        store: KernelStore | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.image = image
        self.env = dict(env)
        self._on_state = on_state
        self._store = store or KernelStore()
        #: The session folder, relative to the server's root (contents-API path).
        self.root = session_root(name)
        self.workdir = self.root
        #: False when start() reattached to a kernel that already existed.
        self.created: bool | None = None
        self.kernel_id: str | None = None
        #: The server-side session (sessions API), when there is one.
        self.server_session_id: str | None = None
        #: The websocket session id: stable for this object, reused on reconnects.
        self.session_id = uuid.uuid4().hex
        #: The kernel's language (kernelspec), e.g. "python".
        self.language: str | None = None
        #: The kernel's working folder as the kernel sees it (Python kernels).
        self.cwd: str | None = None
        self.features: ServerFeatures | None = None
        self._channels: KernelChannels | None = None
        self._run: _ActiveRun | None = None
        self._terminals: list[Terminal] = []
        #: Why the kernel is unusable (it died, or is gone from the server).
        self.dead: str | None = None
        self._kernel_gone = False
        self._restarting = False
        #: IOPub barriers in flight: control request msg_id -> its IOPub idle.
        self._barriers: dict[str, asyncio.Future[None]] = {}

    # -- naming ------------------------------------------------------------------
    @property
    def _session_path(self) -> str:
        return f"{self.root}/{SESSION_FILE}"

    def _what(self, doing: str) -> str:
        return f"{doing} for session {self.name!r}"

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        self.features = await self.client.features()
        self.language = await self._kernel_language()
        if self.features.contents_api:
            if self.features.sessions_api:
                await self._move_legacy_folder()
            await self._ensure_folders()
        if self.features.sessions_api:
            await self._attach_server_session()
        else:
            await self._attach_kernel()
        try:
            await self._connect()
        except JupyterNotFound:
            if self.created:
                raise
            # the kernel vanished between the lookup and the websocket: start afresh
            log.info(
                "session %r: kernel %s vanished; starting a new one", self.name, self.kernel_id
            )
            await self._create_kernel()
            await self._connect()
        await self._setup()

    async def _kernel_language(self) -> str | None:
        what = self._what(f"looking up kernelspec {self.image!r}")
        body = await self.client.get_json("/api/kernelspecs", what=what)
        specs = body.get("kernelspecs") if isinstance(body, dict) else None
        if not isinstance(specs, dict):
            return None
        spec = specs.get(self.image)
        if not isinstance(spec, dict):
            known = self.client.quote(", ".join(sorted(map(str, specs))) or "none")
            raise KernelSpecNotFound(
                f"the {self.client.where} has no kernelspec {self.image!r} (it has: {known})",
                image=self.image,
                profile=self.client.profile_name,
            )
        inner = spec.get("spec")
        language = inner.get("language") if isinstance(inner, dict) else None
        return str(language).lower() if language else None

    async def _move_legacy_folder(self) -> None:
        """Move the folder that runbridge 0.1.0 gave this name (:func:`paths.legacy_safe_name`)
        to :attr:`root`, when nothing is at :attr:`root` and no server-side session lives in
        the old folder (the session of the name that shared it, or a kernel left running:
        both keep it, and this session starts in a new folder)."""
        legacy = paths.legacy_safe_name(self.name)
        if legacy is None or legacy == paths.safe_name(self.name):
            return
        old = f"{ROOT_FOLDER}/{legacy}"
        sessions = await self.client.get_json(
            "/api/sessions", what=self._what("listing the server's sessions")
        )
        for item in sessions if isinstance(sessions, list) else []:
            path = item.get("path") if isinstance(item, dict) else None
            if isinstance(path, str) and path.startswith(old + "/"):
                return
        if await self._folder_type(self.root) is not None:
            return
        if await self._folder_type(old) != "directory":
            return
        try:
            await self.client.request(
                "PATCH",
                f"/api/contents/{quote_path(old)}",
                json={"path": self.root},
                what=self._what(f"moving the folder {old!r} to {self.root!r}"),
            )
        except JupyterError as exc:
            log.warning("session %r: folder %r not moved: %s", self.name, old, exc.message)
            return
        log.info("session %r: moved the folder %r to %r", self.name, old, self.root)

    async def _folder_type(self, path: str) -> str | None:
        """The contents-API type of ``path`` (``None`` when nothing is there)."""
        try:
            model = await self.client.get_json(
                f"/api/contents/{quote_path(path)}",
                params={"content": "0"},
                what=self._what(f"looking up {path!r}"),
            )
        except JupyterNotFound:
            return None
        kind = model.get("type") if isinstance(model, dict) else None
        return str(kind) if kind else "unknown"

    async def _ensure_folders(self) -> None:
        path = ""
        for part in self.root.split("/"):
            path = f"{path}/{part}" if path else part
            await self.client.request(
                "PUT",
                f"/api/contents/{quote_path(path)}",
                json={"type": "directory"},
                what=self._what(f"creating the folder {path!r}"),
            )

    async def _attach_server_session(self) -> None:
        sessions = await self.client.get_json(
            "/api/sessions", what=self._what("listing the server's sessions")
        )
        for item in sessions if isinstance(sessions, list) else []:
            if not isinstance(item, dict) or item.get("path") != self._session_path:
                continue
            kernel = item.get("kernel")
            if not isinstance(kernel, dict) or not kernel.get("id"):
                continue
            kernel_name = kernel.get("name")
            if kernel_name and kernel_name != self.image:
                raise SessionConflict(
                    f"session {self.name!r} already exists on the {self.client.where} with "
                    f"kernel {self.client.quote(repr(kernel_name), 100)}, not {self.image!r}; "
                    "close it first or pick another name",
                    session=self.name,
                )
            self.server_session_id = str(item["id"])
            self.kernel_id = str(kernel["id"])
            self.created = False
            log.info("session %r: reattached to kernel %s", self.name, self.kernel_id)
            return
        await self._create_kernel()

    async def _attach_kernel(self) -> None:
        entry = self._store.get(self.client.endpoint, self.name)
        if entry is not None:
            kernel_id = str(entry["kernel_id"])
            try:
                model = await self.client.get_json(
                    f"/api/kernels/{kernel_id}", what=self._what(f"looking up kernel {kernel_id}")
                )
            except JupyterNotFound:
                log.info("session %r: kernel %s is gone; starting a new one", self.name, kernel_id)
                self._store.put(self.client.endpoint, self.name, None)
            else:
                kernel_name = model.get("name") if isinstance(model, dict) else None
                if kernel_name and kernel_name != self.image:
                    raise SessionConflict(
                        f"session {self.name!r} already exists on the {self.client.where} with "
                        f"kernel {self.client.quote(repr(kernel_name), 100)}, "
                        f"not {self.image!r}; close it first or pick another name",
                        session=self.name,
                    )
                self.kernel_id = kernel_id
                self.created = False
                log.info("session %r: reattached to kernel %s", self.name, kernel_id)
                return
        await self._create_kernel()

    def _kernel_env(self) -> dict[str, str]:
        env = dict(self.env)
        username = self.client.config.username
        if username:
            env.setdefault("KERNEL_USERNAME", username)
        return env

    async def _create_kernel(self) -> None:
        """A new kernel (through a server-side session when the server has them)."""
        timeout = self.client.config.start_timeout
        if self.features is not None and self.features.sessions_api:
            response = await self.client.request(
                "POST",
                "/api/sessions",
                json={
                    "path": self._session_path,
                    "type": "console",
                    "name": self.name,
                    "kernel": {"name": self.image},
                },
                what=self._what(f"starting a {self.image!r} kernel"),
                timeout=timeout,
            )
            body = self.client.parse_json(response, "starting a kernel")
            kernel = body.get("kernel") if isinstance(body, dict) else None
            if not isinstance(kernel, dict) or not kernel.get("id"):
                raise JupyterError(
                    f"the {self.client.where} answered a new session without a kernel",
                    profile=self.client.profile_name,
                )
            self.server_session_id = str(body["id"])
            self.kernel_id = str(kernel["id"])
        else:
            request: dict[str, Any] = {"name": self.image}
            env = self._kernel_env()
            if env:
                request["env"] = env
            response = await self.client.request(
                "POST",
                "/api/kernels",
                json=request,
                what=self._what(f"starting a {self.image!r} kernel"),
                timeout=timeout,
            )
            body = self.client.parse_json(response, "starting a kernel")
            if not isinstance(body, dict) or not body.get("id"):
                raise JupyterError(
                    f"the {self.client.where} answered a new kernel without an id",
                    profile=self.client.profile_name,
                )
            self.kernel_id = str(body["id"])
            self._store.put(
                self.client.endpoint,
                self.name,
                {"kernel_id": self.kernel_id, "kernel_name": self.image},
            )
        self.created = True if self.created is None else self.created
        self._kernel_gone = False
        log.info("session %r: kernel %s started", self.name, self.kernel_id)

    async def _connect(self) -> None:
        assert self.kernel_id is not None
        channels = KernelChannels(
            self.client,
            self.kernel_id,
            self.session_id,
            self._on_message,
            self._on_lost,
            username=self.client.config.username or "runbridge",
            reconnect_timeout=max(30.0, self.client.config.connect_timeout * 3),
        )
        await channels.connect()
        self._channels = channels
        self.dead = None

    async def _setup(self) -> None:
        """Python kernels: apply the session's env, learn the kernel's cwd (silently)."""
        if self.language != "python":
            return
        code = _PY_SETUP.format(env=repr(self.env)) if self.env else ""
        reply = await self._silent(code, {"cwd": "__import__('os').getcwd()"})
        value = (reply.get("user_expressions") or {}).get("cwd") or {}
        text = (value.get("data") or {}).get("text/plain") if isinstance(value, dict) else None
        if isinstance(text, str) and len(text) >= 2 and text[0] in "'\"":
            with contextlib.suppress(ValueError, SyntaxError):
                self.cwd = str(ast.literal_eval(text))

    async def _silent(self, code: str, expressions: dict[str, str]) -> dict[str, Any]:
        """Run ``code`` silently; the execute_reply content ({} if it does not come in 30 s)."""
        channels = self._channels
        if channels is None:
            return {}
        msg_id = uuid.uuid4().hex
        run = _ActiveRun(msg_id, _NullSink())
        self._run = run
        try:
            await channels.send(
                "shell",
                "execute_request",
                {
                    "code": code,
                    "silent": True,
                    "store_history": False,
                    "user_expressions": expressions,
                    "allow_stdin": False,
                    "stop_on_error": False,
                },
                msg_id=msg_id,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.done.wait(), 30)
        finally:
            if self._run is run:
                self._run = None
        return run.reply or {}

    async def _confirm_foreign_interrupt(self, run: _ActiveRun) -> None:
        """A KeyboardInterrupt nobody here asked for: a server shutting the kernel down
        (another client, a culler) interrupts it first. Give the server a moment to show
        whether the kernel is gone, so such a run ends ``failed``, not ``interrupted``."""
        reply = run.reply or {}
        ename = reply.get("ename") or (run.error.ename if run.error else "")
        interrupted = ename == "KeyboardInterrupt" or reply.get("status") == "aborted"
        if not interrupted or run.interrupt_sent or run.input_cancelled or run.closed:
            return
        for _ in range(4):
            if run.aborted is not None or self._kernel_gone:
                break
            await asyncio.sleep(0.25)
            await self._check_kernel()
        if self._kernel_gone and run.aborted is None:
            run.aborted = f"the kernel was shut down on the {self.client.where} during the run"

    async def interrupt(self) -> None:
        if self._run is not None:  # this interrupt is ours: the run ends "interrupted"
            self._run.interrupt_sent = True
        if self.kernel_id is None or self._kernel_gone:
            return
        await self.client.request(
            "POST",
            f"/api/kernels/{self.kernel_id}/interrupt",
            what=self._what("interrupting the kernel"),
        )

    async def _quiet_interrupt(self, run: _ActiveRun) -> None:
        if run.interrupt_sent:
            return
        run.interrupt_sent = True
        with contextlib.suppress(Exception):
            await asyncio.shield(self.interrupt())

    async def restart(self) -> None:
        """Restart the kernel (``POST .../restart``); a kernel gone from the server is replaced."""
        run = self._run
        if run is not None:
            run.aborted = "the kernel was restarted during the run"
            run.done.set()
        self._restarting = True
        try:
            if self.features is None:
                self.features = await self.client.features()
            restarted = False
            if self.kernel_id is not None and not self._kernel_gone:
                try:
                    await self.client.request(
                        "POST",
                        f"/api/kernels/{self.kernel_id}/restart",
                        what=self._what("restarting the kernel"),
                        timeout=self.client.config.start_timeout,
                    )
                    restarted = True
                except JupyterNotFound:
                    self._kernel_gone = True
                except JupyterError as exc:
                    if exc.status is None:  # unreachable: nothing to do here
                        raise
                    # e.g. 500 while the server's own auto-restart of a crashed kernel
                    # is under way: replace the kernel instead
                    log.info("session %r: restart refused (%s); new kernel", self.name, exc)
            await self._close_channels()
            if not restarted:
                await self._replace_kernel()
            try:
                async with asyncio.timeout(RESTART_CONNECT_S):
                    await self._connect()
            except TimeoutError:
                log.warning(
                    "session %r: the %s did not open kernel %s's channels within %g s of "
                    "its restart; starting a new kernel",
                    self.name,
                    self.client.where,
                    self.kernel_id,
                    RESTART_CONNECT_S,
                )
                await self._replace_kernel()
                await self._connect()
        finally:
            self._restarting = False
        await self._setup()

    async def _replace_kernel(self) -> None:
        await self._discard_kernel()
        await self._create_kernel()

    async def _discard_kernel(self) -> None:
        """Before replacing the kernel: shut down what is left of it (errors ignored)."""
        session_id, self.server_session_id = self.server_session_id, None
        kernel_id = self.kernel_id
        with contextlib.suppress(JupyterError):
            if session_id is not None:
                await self.client.request(
                    "DELETE",
                    f"/api/sessions/{session_id}",
                    what=self._what("removing the old server session"),
                )
            elif kernel_id is not None and not self._kernel_gone:
                await self.client.request(
                    "DELETE",
                    f"/api/kernels/{kernel_id}",
                    what=self._what("shutting the old kernel down"),
                )

    async def _close_channels(self) -> None:
        channels, self._channels = self._channels, None
        if channels is not None:
            await channels.close()

    async def _release(self) -> None:
        """Close this session's terminals and websocket (the kernel keeps running).

        A run in progress ends ``interrupted`` ("the session was closed").
        """
        run = self._run
        if run is not None and not run.done.is_set():
            run.closed = True
            run.done.set()
        await asyncio.gather(*(t.close() for t in self._terminals), return_exceptions=True)
        self._terminals = []
        await self._close_channels()

    async def detach(self) -> None:
        """The daemon is exiting: leave the kernel running on the server.

        Reopening the same name later, from this or another daemon, reattaches to it
        (``created: false``, variables kept). With ``keep_sessions = false`` in the
        profile this is :meth:`close`.
        """
        if not self.client.config.keep_sessions:
            await self.close()
            return
        run = self._run
        if run is not None and not run.done.is_set():
            await self._quiet_interrupt(run)  # the kernel is kept, its run is not
        await self._release()

    async def close(self) -> None:
        """Shut the kernel down on the server (its session, or the kernel itself)."""
        await self._release()
        kernel_id, self.kernel_id = self.kernel_id, None
        session_id, self.server_session_id = self.server_session_id, None
        try:
            if session_id is not None:
                await self.client.request(
                    "DELETE",
                    f"/api/sessions/{session_id}",
                    what=self._what("closing the server session"),
                )
            elif kernel_id is not None:
                await self.client.request(
                    "DELETE",
                    f"/api/kernels/{kernel_id}",
                    what=self._what("shutting the kernel down"),
                )
        except JupyterError as exc:
            if exc.status not in (404, 410):  # already gone is fine
                raise
        finally:
            if self.features is not None and not self.features.sessions_api:
                with contextlib.suppress(OSError):
                    self._store.put(self.client.endpoint, self.name, None)

    # -- kernel messages ------------------------------------------------------------
    def _kernel_died(self, reason: str) -> None:
        if self._restarting:
            return
        self.dead = reason
        run = self._run
        if run is not None and not run.done.is_set():
            run.aborted = reason
            run.done.set()
        self._on_state(SessionState.DEAD)

    def _on_lost(self, reason: str) -> None:
        self._kernel_gone = True
        self._kernel_died(reason)

    def _on_message(self, msg: KernelMessage) -> None:
        kind = msg.msg_type
        content = msg.content
        if self._barriers and msg.channel == "iopub" and kind == "status":
            barrier = self._barriers.get(msg.parent_id or "")
            if barrier is not None and content.get("execution_state") == "idle":
                if not barrier.done():
                    barrier.set_result(None)
                return
        if msg.channel == "iopub" and kind == "status":
            state = content.get("execution_state")
            if state == "restarting":
                self._kernel_died(
                    "the kernel died during the run (the server is restarting it; "
                    "variables are lost)"
                )
                return
            if state == "dead":
                self._kernel_died("the kernel died and the server could not restart it")
                return
        run = self._run
        if run is None or msg.parent_id != run.msg_id:
            return
        run.last_activity = asyncio.get_running_loop().time()
        if msg.channel == "iopub":
            run.on_iopub(kind, content)
        elif msg.channel == "shell":
            if kind == "execute_reply":
                run.reply = content
                run.check_done()
        elif msg.channel == "stdin" and kind == "input_request":
            run.input_task = asyncio.create_task(
                self._answer_input(
                    run, msg.header, str(content.get("prompt", "")), bool(content.get("password"))
                )
            )

    async def _iopub_barrier(self) -> None:
        """Wait until the IOPub output sent before now has arrived.

        The kernel flushes stdout before it asks for input, but IOPub and stdin are
        separate sockets, and the server may forward the ``input_request`` ahead of
        the output printed just before it. A ``kernel_info_request`` on the control
        channel makes ipykernel publish ``status`` on IOPub, behind that output: once
        its ``idle`` arrives, everything printed earlier has too. (Bounded: a kernel
        that publishes nothing for control requests costs :data:`BARRIER_TIMEOUT_S`.)
        """
        channels = self._channels
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

    async def _answer_input(
        self, run: _ActiveRun, request: dict[str, Any], prompt: str, password: bool
    ) -> None:
        await self._iopub_barrier()
        try:
            value = await run.sink.ask_input(prompt, password)
        except Exception as exc:
            log.warning("input request failed: %s", exc)
            value = None
        if run.done.is_set():
            return
        if value is None:
            run.input_cancelled = True
            await self._quiet_interrupt(run)
            return
        channels = self._channels
        if channels is not None:
            with contextlib.suppress(JupyterError):
                await channels.send(
                    "stdin", "input_reply", {"value": value, "status": "ok"}, parent=request
                )

    # -- runs -------------------------------------------------------------------------
    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        if self._channels is None or self.dead is not None:
            await self.restart()
        channels = self._channels
        if channels is None:
            raise BackendError(f"session {self.name!r} has no kernel connection", session=self.name)
        msg_id = uuid.uuid4().hex
        run = _ActiveRun(msg_id, sink)
        run.last_activity = asyncio.get_running_loop().time()
        self._run = run
        try:
            try:
                await channels.send(
                    "shell",
                    "execute_request",
                    {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": True,
                        "stop_on_error": False,
                    },
                    msg_id=msg_id,
                )
                timed_out = await self._wait(run, timeout)
                await self._confirm_foreign_interrupt(run)
            except asyncio.CancelledError:
                await self._quiet_interrupt(run)
                raise
        finally:
            if self._run is run:
                self._run = None
            if run.input_task is not None and not run.input_task.done():
                run.input_task.cancel()
        return self._outcome(run, timed_out, timeout)

    async def _wait(self, run: _ActiveRun, timeout: float | None) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        timed_out = False
        last_check = loop.time()
        while not run.done.is_set():
            wait = WAIT_TICK_S
            if deadline is not None and not timed_out:
                wait = max(0.0, min(wait, deadline - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.done.wait(), wait)
            if run.done.is_set():
                break
            quiet = loop.time() - max(run.last_activity, last_check)
            if run.reply is None and quiet > LIVENESS_CHECK_S:
                # Some servers (Kernel Gateway) keep the websocket open when the kernel
                # is shut down or culled: ask whether the kernel still exists.
                last_check = loop.time()
                await self._check_kernel()
                continue
            if run.reply is not None and loop.time() - run.last_activity > IDLE_GRACE_S:
                log.warning("run %s: no status idle after the reply; ending it", run.msg_id)
                break
            if deadline is not None and not timed_out and loop.time() >= deadline:
                timed_out = True
                await self._quiet_interrupt(run)
        return timed_out

    async def _check_kernel(self) -> None:
        """End the session's kernel when the server no longer has it (or says it is dead)."""
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

    def _outcome(self, run: _ActiveRun, timed_out: bool, timeout: float | None) -> RunOutcome:
        if run.closed:
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="the session was closed")
        if run.aborted is not None:
            return RunOutcome(RunStatus.FAILED, None, message=run.aborted)
        if timed_out:
            return RunOutcome(
                RunStatus.EXEC_TIMEOUT,
                124,
                message=f"the run exceeded its timeout of {timeout:g} s and was interrupted"
                if timeout is not None
                else "the run exceeded its timeout",
            )
        reply = run.reply or {}
        status = reply.get("status", "ok")
        if status == "error" or run.error is not None:
            ename = reply.get("ename") or (run.error.ename if run.error else "")
            if ename == "KeyboardInterrupt":
                why = "input cancelled" if run.input_cancelled else "interrupted"
                return RunOutcome(RunStatus.INTERRUPTED, 130, message=why)
            error = run.error or UserError(
                ename=str(ename),
                evalue=str(reply.get("evalue", "")),
                traceback=[strip_ansi(str(line)) for line in reply.get("traceback") or []],
            )
            return RunOutcome(RunStatus.FINISHED, 1, error=error)
        if status == "aborted":
            return RunOutcome(RunStatus.INTERRUPTED, 130, message="the kernel aborted the run")
        return RunOutcome(RunStatus.FINISHED, 0)

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        from runbridge.backends.jupyter import batch

        return await batch.run_batch(self, options, code, sink)

    # -- files and terminals ---------------------------------------------------------
    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        from runbridge.backends.jupyter import files as contents

        return await contents.upload(self.client, self.root, files, dest, progress)

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        from runbridge.backends.jupyter import files as contents

        return await contents.download(self.client, self.root, files, dest, progress)

    async def list_files(self, path: str) -> list[FolderEntry]:
        from runbridge.backends.jupyter import files as contents

        return await contents.list_folder(self.client, self.root, path)

    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal:
        from runbridge.backends.jupyter import terminal

        cwd = self.root if self.features is not None and self.features.contents_api else None
        opened = await terminal.open_terminal(self.client, cwd, rows, cols, on_output, on_exit)
        self._terminals.append(opened)
        return opened


class _NullSink:
    def emit(self, kind: str, data: str, display: Display | None = None) -> None:
        pass

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        return None
