"""One named session on a Jupyter server behind runbridge's :class:`BackendSession` contract.

* ``start``: on a Jupyter Server (sessions and contents APIs), the name maps to
  the server-side session of path ``runbridge/NAME/session`` (type ``console``):
  the folder ``runbridge/NAME`` is created through the contents API, the kernel's
  cwd is that folder, and reopening the name later (even from another daemon)
  reattaches to the same kernel with its variables (``created: false``). On a
  gateway (no sessions API), a JSON state file under runbridge's state folder maps
  ``server URL → name → kernel id``; the entry is checked with
  ``GET /api/kernels/{id}`` on reattach and a stale one starts a fresh kernel.
* runs: the kernel run core (:mod:`runbridge.backends.kernel`) over the kernel's
  channels websocket (:class:`~runbridge.backends.jupyter.kernel.JupyterKernel`, with
  a stable ``session_id``), as on the local backend.
* ``interrupt`` / ``restart``: REST; a kernel that dies (``status: restarting`` or
  ``dead``, or gone from the server) ends the run ``failed`` and the session
  ``dead``; the next run or a restart brings a kernel back.
* the gateway state file: :mod:`.kernel_store`.
* files, terminals and batch jobs: :mod:`.files`, :mod:`.terminal`, :mod:`.batch`.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import posixpath
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from runbridge import paths
from runbridge.backends.apps import AppForward, ServiceApp, no_apps
from runbridge.backends.base import (
    ProgressCallback,
    RunSink,
    StateCallback,
    StatusCallback,
    Terminal,
    TerminalExit,
    TerminalOutput,
)
from runbridge.backends.jupyter.client import JupyterClient, ServerFeatures, quote_path
from runbridge.backends.jupyter.errors import JupyterError, JupyterNotFound, JupyterTimeout
from runbridge.backends.jupyter.kernel import JupyterKernel
from runbridge.backends.jupyter.kernel_store import KernelStore
from runbridge.backends.kernel.variables import VariableReader
from runbridge.errors import (
    BackendError,
    InvalidParams,
    KernelSpecNotFound,
    SessionConflict,
    Unsupported,
)
from runbridge.model import (
    NO_INSPECTION,
    BatchOptions,
    Completions,
    FileEntry,
    FolderEntry,
    Inspection,
    RunOutcome,
    SessionState,
    Variables,
    no_completions,
)

log = logging.getLogger(__name__)

#: Top folder of runbridge's sessions on the server (contents-API path).
ROOT_FOLDER = "runbridge"
#: The server-side session's path inside the session folder.
SESSION_FILE = "session"
#: After a restart, the kernel's channels websocket must open within this, else the
#: kernel is replaced. Jupyter Server holds the upgrade until it has "nudged" the kernel
#: (up to its kernel_info_timeout, 60 s); once, after a crash and a restart, it held it
#: for all of that.
RESTART_CONNECT_S = 30.0
#: Longest wait for the silent setup cell of a Python kernel.
SETUP_TIMEOUT_S = 30.0

#: What a kernel id may hold (Jupyter's are UUIDs): it goes into URL paths.
_KERNEL_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
#: How often the status of a start in progress is told (its elapsed seconds).
STATUS_TICK_S = 1.0

#: Kernel starts abandoned while their request was in flight: each deletes the kernel
#: the server starts anyway (kept here so that the task is not collected).
_LATE_CLEANUPS: set[asyncio.Task[None]] = set()
#: How much longer than ``start_timeout`` a start runbridge gave up on is still waited
#: for, to delete the kernel the server starts in the end.
LATE_START_S = 600.0

#: Silent setup cell for Python kernels: the session's env, the kernel's cwd.
_PY_SETUP = "import os as _rb_os\n_rb_os.environ.update({env})\ndel _rb_os\n"


def session_root(name: str) -> str:
    """The session's folder as a contents-API path (``runbridge/NAME``)."""
    return f"{ROOT_FOLDER}/{paths.safe_name(name)}"


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
        attach: str | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.client = client
        self._on_status = on_status
        #: What the start is doing now (told with its elapsed seconds).
        self._phase = ""
        #: True once start() has ended (phases are no longer told).
        self._started = False
        self._told = ""
        self.name = name
        self.image = image
        self.env = dict(env)
        self._on_state = on_state
        self._store = store or KernelStore()
        #: The kernel id of ``openSession {attach}``: a kernel runbridge did not create,
        #: only let go of on close (unless destroyed).
        self.attach_id = attach
        #: The session folder, relative to the server's root (contents-API path); None for
        #: an attached kernel whose folder the server does not say.
        self.root: str | None = session_root(name) if attach is None else None
        self.workdir: str | None = self.root
        #: False when start() reattached to a kernel that already existed.
        self.created: bool | None = None
        #: The session's kernel on the server, and the runs on it.
        self.kernel = JupyterKernel(client, name, lambda: on_state(SessionState.DEAD))
        self.variables_reader = VariableReader(self.kernel.core, self.kernel)
        #: The server-side session (sessions API), when there is one (of an attached
        #: kernel: its notebook's or console's).
        self.server_session_id: str | None = None
        #: The websocket session id: stable for this object, reused on reconnects.
        self.session_id = uuid.uuid4().hex
        #: The kernel's language (kernelspec), e.g. "python".
        self.language: str | None = None
        #: The kernel's working folder as the kernel sees it (Python kernels).
        self.cwd: str | None = None
        self.features: ServerFeatures | None = None
        self._terminals: list[Terminal] = []

    @property
    def kernel_id(self) -> str | None:
        """The server's id of the session's kernel."""
        return self.kernel.kernel_id

    remote_id = kernel_id

    # -- naming ------------------------------------------------------------------
    @property
    def _session_path(self) -> str:
        return f"{session_root(self.name)}/{SESSION_FILE}"

    def _what(self, doing: str) -> str:
        return f"{doing} for session {self.name!r}"

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        async with self._telling_status():
            await self._start()

    @contextlib.asynccontextmanager
    async def _telling_status(self) -> AsyncIterator[None]:
        """While the session starts, tell ``on_status`` what it is doing and for how long
        ("starting a 'python3' kernel on http://host:8888, 12 s"), every
        :data:`STATUS_TICK_S` seconds (a gateway may take minutes to schedule a kernel)."""
        if self._on_status is None:
            yield
            return
        started = time.monotonic()

        async def tick() -> None:
            while True:
                await asyncio.sleep(STATUS_TICK_S)
                if self._phase:
                    self._tell(f"{self._phase}, {time.monotonic() - started:.0f} s")

        ticker = asyncio.ensure_future(tick())
        try:
            yield
        finally:
            ticker.cancel()
            self._phase = ""
        self._tell_kernel()

    def _enter_phase(self, phase: str) -> None:
        """Tell what the start does now (not during a restart: the session is open)."""
        self._phase = phase
        if not self._started:
            self._tell(phase)

    def _tell_kernel(self) -> None:
        """The session's status once it runs: which kernel, on which server."""
        self._started = True
        if self.kernel_id is not None:
            self._tell(f"kernel {self.kernel_id} on {self.client.endpoint}")

    def _tell(self, status: str) -> None:
        if self._on_status is not None and status != self._told:
            self._told = status
            self._on_status(status)

    async def _start(self) -> None:
        self.features = await self.client.features()
        if self.attach_id is not None:
            await self._attach_running(self.attach_id)
            return
        self.language = await self._kernel_language()
        if self.features.contents_api:
            if self.features.sessions_api:
                await self._move_legacy_folder()
            await self._ensure_folders()
        if self.features.sessions_api:
            await self._attach_server_session()
        else:
            await self._attach_kernel()
        self._enter_phase(f"waiting for kernel {self.kernel_id} on {self.client.endpoint}")
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

    async def _attach_running(self, kernel_id: str) -> None:
        """Bind to kernel ``kernel_id`` as it runs: nothing is started or restarted. On a
        Jupyter Server its notebook's (or console's) folder is the work folder."""
        if not _KERNEL_ID.fullmatch(kernel_id):  # it goes into URL paths: no '/', no '..'
            raise InvalidParams(
                f"field 'attach' is not a kernel id (letters, digits, '_' and '-'): "
                f"{self.client.quote(repr(kernel_id), 80)}",
                field="attach",
                session=self.name,
            )
        what = self._what(f"looking up kernel {self.client.quote(kernel_id, 80)}")
        try:
            model = await self.client.get_json(f"/api/kernels/{quote_path(kernel_id)}", what=what)
        except JupyterNotFound:
            raise BackendError(
                f"the {self.client.where} has no kernel {self.client.quote(repr(kernel_id), 80)} "
                "(runbridge/listRemote lists the ones it has)",
                session=self.name,
                endpoint=self.client.endpoint,
            ) from None
        kernel_name = model.get("name") if isinstance(model, dict) else None
        if isinstance(kernel_name, str) and kernel_name:
            self.image = self.client.quote(kernel_name, 200)
        self.kernel.kernel_id = kernel_id
        self.created = False
        features = self.features
        if features is not None and features.sessions_api:
            sessions = await self.client.get_json(
                "/api/sessions", what=self._what("listing the server's sessions")
            )
            for item in sessions if isinstance(sessions, list) else []:
                kernel = item.get("kernel") if isinstance(item, dict) else None
                if isinstance(kernel, dict) and kernel.get("id") == kernel_id:
                    path = item.get("path")
                    self.server_session_id = str(item.get("id") or "") or None
                    if isinstance(path, str) and features.contents_api:
                        self.root = posixpath.dirname(path)  # "" at the server's root
                        self.workdir = self.root or "."
                    break
        with contextlib.suppress(KernelSpecNotFound):
            self.language = await self._kernel_language()
        await self._connect()
        await self._setup()
        log.info("session %r: attached to kernel %s", self.name, kernel_id)

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
        if await self._folder_type(session_root(self.name)) is not None:
            return
        if await self._folder_type(old) != "directory":
            return
        try:
            await self.client.request(
                "PATCH",
                f"/api/contents/{quote_path(old)}",
                json={"path": session_root(self.name)},
                what=self._what(f"moving the folder {old!r} to {session_root(self.name)!r}"),
            )
        except JupyterError as exc:
            log.warning("session %r: folder %r not moved: %s", self.name, old, exc.message)
            return
        log.info("session %r: moved the folder %r to %r", self.name, old, session_root(self.name))

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
        for part in session_root(self.name).split("/"):
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
            self.kernel.kernel_id = str(kernel["id"])
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
                self.kernel.kernel_id = kernel_id
                self.created = False
                log.info("session %r: reattached to kernel %s", self.name, kernel_id)
                return
        await self._create_kernel()

    def _kernel_env(self) -> dict[str, str]:
        """The ``env`` of a new kernel on a gateway: the profile's ``kernel_env``, the
        session's env over it, and ``KERNEL_USERNAME`` from the profile's ``username``."""
        env = {**self.client.config.kernel_env, **self.env}
        username = self.client.config.username
        if username:
            env.setdefault("KERNEL_USERNAME", username)
        return env

    async def _post_start(
        self, path: str, body: dict[str, Any], delete: Callable[[Any], str | None]
    ) -> httpx.Response:
        """``POST path`` that starts a kernel, told as a phase of the start.

        When the start is abandoned while the request is in flight (the open is cancelled,
        or ``start_timeout`` passed), the server starts the kernel anyway: the request is
        left to finish (for up to :data:`LATE_START_S` more) and what it started is deleted
        (``delete`` gives the path to ``DELETE`` from the answer's JSON).
        """
        self._enter_phase(f"starting a {self.image!r} kernel on {self.client.endpoint}")
        start_timeout = self.client.config.start_timeout
        post: asyncio.Task[httpx.Response] = asyncio.ensure_future(
            self.client.request(
                "POST",
                path,
                json=body,
                what=self._what(f"starting a {self.image!r} kernel"),
                timeout=start_timeout + LATE_START_S,
            )
        )
        try:
            return await asyncio.wait_for(asyncio.shield(post), start_timeout)
        except TimeoutError:
            self._abandon(post, delete)
            raise JupyterTimeout(
                f"the {self.client.where} did not start the {self.image!r} kernel within "
                f"start_timeout ({start_timeout:g} s) for session {self.name!r}; raise "
                "start_timeout in the profile (a gateway on a cluster may take minutes; "
                "runbridge deletes the kernel if the server still starts it)",
                endpoint=self.client.endpoint,
                profile=self.client.profile_name,
            ) from None
        except asyncio.CancelledError:
            self._abandon(post, delete)
            raise

    def _abandon(
        self, post: asyncio.Task[httpx.Response], delete: Callable[[Any], str | None]
    ) -> None:
        """Leave the start request to finish and delete what it started."""
        cleanup = asyncio.ensure_future(self._delete_late(post, delete))
        _LATE_CLEANUPS.add(cleanup)
        cleanup.add_done_callback(_LATE_CLEANUPS.discard)

    async def _delete_late(
        self, post: Awaitable[httpx.Response], delete: Callable[[Any], str | None]
    ) -> None:
        try:
            response = await post
            path = delete(self.client.parse_json(response, "starting a kernel"))
            if path is None:
                return
            log.info("session %r: start abandoned; deleting %s", self.name, path)
            await self.client.request(
                "DELETE", path, what=self._what("deleting the kernel of an abandoned start")
            )
        except JupyterError as exc:
            log.info("session %r: abandoned start: %s", self.name, exc.message)
        except RuntimeError as exc:  # the client was closed meanwhile (the daemon exits)
            log.info("session %r: abandoned start not cleaned up: %s", self.name, exc)

    async def _create_kernel(self) -> None:
        """A new kernel (through a server-side session when the server has them)."""
        if self.features is not None and self.features.sessions_api:
            response = await self._post_start(
                "/api/sessions",
                {
                    "path": self._session_path,
                    "type": "console",
                    "name": self.name,
                    "kernel": {"name": self.image},
                },
                lambda body: _path_of(body, "/api/sessions/"),
            )
            body = self.client.parse_json(response, "starting a kernel")
            kernel = body.get("kernel") if isinstance(body, dict) else None
            if not isinstance(kernel, dict) or not kernel.get("id"):
                raise JupyterError(
                    f"the {self.client.where} answered a new session without a kernel",
                    profile=self.client.profile_name,
                )
            self.server_session_id = str(body["id"])
            self.kernel.kernel_id = str(kernel["id"])
        else:
            request: dict[str, Any] = {"name": self.image}
            env = self._kernel_env()
            if env:
                request["env"] = env
            response = await self._post_start(
                "/api/kernels", request, lambda body: _path_of(body, "/api/kernels/")
            )
            body = self.client.parse_json(response, "starting a kernel")
            if not isinstance(body, dict) or not body.get("id"):
                raise JupyterError(
                    f"the {self.client.where} answered a new kernel without an id",
                    profile=self.client.profile_name,
                )
            self.kernel.kernel_id = str(body["id"])
            self._store.put(
                self.client.endpoint,
                self.name,
                {"kernel_id": self.kernel_id, "kernel_name": self.image},
            )
        self.created = True if self.created is None else self.created
        self.kernel.gone = False
        log.info("session %r: kernel %s started", self.name, self.kernel_id)

    async def _connect(self) -> None:
        await self.kernel.connect(self.session_id)

    async def _setup(self) -> None:
        """Python kernels: apply the session's env, learn the kernel's cwd (silently)."""
        if self.language != "python":
            return
        if self.kernel.channels is None:
            return
        code = _PY_SETUP.format(env=repr(self.env)) if self.env else ""
        expressions = {"cwd": "__import__('os').getcwd()"}
        reply = await self.kernel.core.run_silent(code, expressions, SETUP_TIMEOUT_S)
        value = (reply.get("user_expressions") or {}).get("cwd") or {}
        text = (value.get("data") or {}).get("text/plain") if isinstance(value, dict) else None
        if isinstance(text, str) and len(text) >= 2 and text[0] in "'\"":
            with contextlib.suppress(ValueError, SyntaxError):
                self.cwd = str(ast.literal_eval(text))

    async def restart(self) -> None:
        """Restart the kernel (``POST .../restart``); a kernel gone from the server is replaced."""
        self.kernel.core.restarted()
        self.kernel.restarting = True
        try:
            if self.features is None:
                self.features = await self.client.features()
            restarted = False
            if self.kernel_id is not None and not self.kernel.gone:
                try:
                    await self.client.request(
                        "POST",
                        f"/api/kernels/{self.kernel_id}/restart",
                        what=self._what("restarting the kernel"),
                        timeout=self.client.config.start_timeout,
                    )
                    restarted = True
                except JupyterNotFound:
                    self.kernel.gone = True
                except JupyterError as exc:
                    if exc.status is None:  # unreachable: nothing to do here
                        raise
                    # e.g. 500 while the server's own auto-restart of a crashed kernel
                    # is under way: replace the kernel instead
                    log.info("session %r: restart refused (%s); new kernel", self.name, exc)
            await self.kernel.close_channels()
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
            self.kernel.restarting = False
        self._tell_kernel()
        await self._setup()

    def _attached_gone(self) -> BackendError:
        return BackendError(
            f"session {self.name!r} was attached to kernel {self.attach_id}, which the "
            f"{self.client.where} no longer has; close the session (runbridge starts no "
            "kernel in its place)",
            session=self.name,
        )

    async def _replace_kernel(self) -> None:
        if self.attach_id is not None:  # not ours to replace
            raise self._attached_gone()
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
            elif kernel_id is not None and not self.kernel.gone:
                await self.client.request(
                    "DELETE",
                    f"/api/kernels/{kernel_id}",
                    what=self._what("shutting the old kernel down"),
                )

    async def _release(self) -> None:
        """Close this session's terminals and websocket (the kernel keeps running).

        A run in progress ends ``interrupted`` ("the session was closed").
        """
        self.kernel.core.session_closed()
        await asyncio.gather(*(t.close() for t in self._terminals), return_exceptions=True)
        self._terminals = []
        await self.kernel.close_channels()

    async def detach(self) -> None:
        """The daemon is exiting: leave the kernel running on the server.

        Reopening the same name later, from this or another daemon, reattaches to it
        (``created: false``, variables kept). With ``keep_sessions = false`` in the
        profile this is :meth:`close`.
        """
        if self.attach_id is not None:  # not runbridge's: let go of it, whatever the profile
            await self._release()
            return
        if not self.client.config.keep_sessions:
            await self.close()
            return
        await self.kernel.core.interrupt_quietly()  # the kernel is kept, its run is not
        await self._release()

    async def list_apps(self) -> list[ServiceApp]:
        raise no_apps(self.name, "jupyter")

    async def open_app(self, app: str, local_port: int | None, port: int | None) -> AppForward:
        raise no_apps(self.name, "jupyter")

    async def close(self, destroy: bool = False) -> None:
        """Shut the kernel down on the server (its session, or the kernel itself); an
        attached kernel is only let go of (its run ends, the kernel is not interrupted)
        unless ``destroy``."""
        await self._release()
        if self.attach_id is not None and not destroy:
            return
        kernel_id, self.kernel.kernel_id = self.kernel.kernel_id, None
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
            if (
                self.attach_id is None
                and self.features is not None
                and not self.features.sessions_api
            ):
                with contextlib.suppress(OSError):
                    self._store.put(self.client.endpoint, self.name, None)

    # -- runs -------------------------------------------------------------------------
    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        if self.kernel.channels is None or self.kernel.dead is not None:
            await self.restart()
        return await self.kernel.core.execute(code, sink, timeout)

    async def complete(self, code: str, cursor: int) -> Completions:
        if self.kernel.channels is None or self.kernel.dead is not None:
            return no_completions(cursor)
        return await self.kernel.core.complete(code, cursor)

    async def inspect(self, code: str, cursor: int, detail: int) -> Inspection:
        if self.kernel.channels is None or self.kernel.dead is not None:
            return NO_INSPECTION
        return await self.kernel.core.inspect(code, cursor, detail)

    async def interrupt(self) -> None:
        await self.kernel.core.interrupt()

    async def variables(self, busy: bool) -> Variables:
        """The user's variables (:mod:`runbridge.backends.kernel.variables`); none when the
        kernel is dead or not connected (nothing is started here)."""
        kernel = self.kernel
        if kernel.channels is None or kernel.dead is not None:
            return Variables([])
        return await self.variables_reader.read(self.language or "", busy, self.image, self.name)

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        from runbridge.backends.jupyter import batch

        return await batch.run_batch(self, options, code, sink)

    # -- files and terminals ---------------------------------------------------------
    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        from runbridge.backends.jupyter import files as contents

        return await contents.upload(self.client, self._files_root(), files, dest, progress)

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        from runbridge.backends.jupyter import files as contents

        return await contents.download(self.client, self._files_root(), files, dest, progress)

    async def list_files(self, path: str) -> list[FolderEntry]:
        from runbridge.backends.jupyter import files as contents

        return await contents.list_folder(self.client, self._files_root(), path)

    def _files_root(self, what: str = "files") -> str:
        """The folder files and terminals are in: an attached kernel's notebook folder,
        :class:`Unsupported` for an attached kernel without one."""
        if self.root is None:
            raise Unsupported(
                f"{what} are not available in session {self.name!r}: it is attached to kernel "
                f"{self.attach_id}, which belongs to no notebook or console on the "
                f"{self.client.where}, so its folder is unknown",
                session=self.name,
            )
        return self.root

    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal:
        from runbridge.backends.jupyter import terminal

        if self.attach_id is not None:
            cwd: str | None = self._files_root("terminals")
        else:
            cwd = self.root if self.features is not None and self.features.contents_api else None
        opened = await terminal.open_terminal(self.client, cwd, rows, cols, on_output, on_exit)
        self._terminals.append(opened)
        return opened


def _path_of(body: Any, prefix: str) -> str | None:
    """``prefix`` + the ``id`` of a JSON answer (None without one)."""
    ident = body.get("id") if isinstance(body, dict) else None
    return f"{prefix}{ident}" if isinstance(ident, str) and ident else None
