"""One Backend.AI compute session behind runbridge's :class:`BackendSession` contract.

* ``start``: ``POST /session`` open-or-reuse by name (``enqueueOnly``), then poll
  ``GET /session/{name}`` while the cluster schedules it (PENDING, PREPARING,
  PULLING, ...), reporting ``starting`` through ``on_state``. The raw Backend.AI
  status is :attr:`BackendAISession.status`. The same name with another image is
  a :class:`~runbridge.errors.SessionConflict`.
* ``interrupt`` / ``restart`` / ``close``: ``POST .../interrupt``, ``PATCH`` (a session
  that is gone is created again), ``DELETE`` (destroy the session).
* ``detach`` (the daemon exits): with the profile's ``keep_sessions`` (default), the
  session is left running for the next daemon to reuse by name (its run in progress
  interrupted); without, ``close``.
* ``execute`` / ``batch``: :mod:`.runs` (the execute websocket, else the REST loop);
  ``batch`` first uploads its code to a file of the work folder.
* files (upload, download, listing): :mod:`.files`.
* terminals: :mod:`.pty`.
* apps (service ports): :mod:`.apps`.

The remote work folder is ``/home/work`` (:data:`runbridge.session_options.WORKDIR`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection

from runbridge.backends.apps import AppForward, ServiceApp
from runbridge.backends.backendai import apps, completion
from runbridge.backends.backendai import files as work_folder
from runbridge.backends.backendai.auth import parse_api_version
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.errors import (
    BackendAIError,
    BackendAINotImplemented,
    BackendAISessionExists,
    BackendAISessionNotFound,
    BackendAIUploadRefused,
)
from runbridge.backends.backendai.files import UPLOAD_MAX_BYTES, size_text
from runbridge.backends.backendai.pty import ENDED_STATUSES, pty_terminal, reconnector
from runbridge.backends.backendai.runs import SessionRuns
from runbridge.backends.base import (
    ProgressCallback,
    RunSink,
    StateCallback,
    Terminal,
    TerminalExit,
    TerminalOutput,
)
from runbridge.backends.remote.name_store import NameStore
from runbridge.backends.remote.websocket_terminal import WebSocketTerminal
from runbridge.errors import BackendError, InvalidParams, SessionConflict, Unsupported
from runbridge.languages import batch_file
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
)
from runbridge.session_options import WORKDIR, SessionOptions

#: Image used when neither the request nor the profile names one.
DEFAULT_IMAGE = "python"

#: Session names the manager accepts (legacy rule, reference §2.2): 4-64 ASCII characters.
SESSION_NAME = re.compile(r"^(?=.{4,64}$)[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]$")

#: Statuses of a session that is on its way to RUNNING.
STARTING_STATUSES = frozenset(
    {
        "PENDING",
        "DEPRIORITIZING",
        "RESERVED",
        "SCHEDULED",
        "PREPARING",
        "PULLING",
        "PREPARED",
        "CREATING",
        "RESTARTING",
        "RESCHEDULING",
        "PREEMPTED",
        "TIMEOUT",  # create-response only: maxWaitSeconds passed, still scheduling
    }
)
RUNNING_STATUSES = frozenset({"RUNNING", "RUNNING_DEGRADED"})
#: How many characters of a status the manager reports are kept (it is shown).
STATUS_LIMIT = 40

#: Polling while the session starts: first interval, growth, cap; overall limit.
START_POLL_S = 0.25
START_POLL_MAX_S = 2.0
START_TIMEOUT_S = 1800.0


#: API versions from which SDK 23.9 sends a key (``client/func/session.py``).
TOP_LEVEL_CLUSTER = parse_api_version("v6.20200815")
BOOTSTRAP_AND_MOUNT_MAP = parse_api_version("v5.20191215")


def create_body(
    name: str,
    image: str,
    env: dict[str, str],
    options: SessionOptions,
    *,
    group: str,
    domain: str,
    api_version: str,
    where: str,
) -> dict[str, Any]:
    """``POST /session``'s body as SDK 23.9's ``get_or_create`` builds it at
    ``api_version``: ``config.{mounts, mount_map, environ, resources, scalingGroup}``,
    top-level ``clusterSize``/``clusterMode`` from v6.20200815 (before, ``config.clusterSize``
    and no mode), ``bootstrap_script`` (plain text) and ``config.mount_map`` from
    v5.20191215, ``tag``. Options that are not set are left out.

    :raises BackendError: an option the manager's API version has no key for (the SDK
        would drop it silently).
    """
    version = parse_api_version(api_version)
    config: dict[str, Any] = {}
    if options.mounts:
        config["mounts"] = [m.name for m in options.mounts]
    if env:
        config["environ"] = env
    if options.resources:
        config["resources"] = dict(options.resources)
    if options.scaling_group is not None:
        config["scalingGroup"] = options.scaling_group
    body: dict[str, Any] = {
        "name": name,
        "image": image,
        "type": "interactive",
        "group": group,
        "domain": domain,
        "config": config,
        "enqueueOnly": True,
        "maxWaitSeconds": 0,
        "reuseIfExists": True,
    }
    if options.tag is not None:
        body["tag"] = options.tag
    size = options.cluster_size or 1
    mode = options.cluster_mode or "single-node"
    if version >= TOP_LEVEL_CLUSTER:
        body["clusterSize"] = size
        body["clusterMode"] = mode
    elif mode != "single-node":
        raise _too_old(where, api_version, "clusterMode", TOP_LEVEL_CLUSTER)
    else:
        config["clusterSize"] = size
    mount_map = {m.name: m.target for m in options.mounts or () if m.target is not None}
    if version >= BOOTSTRAP_AND_MOUNT_MAP:
        if options.bootstrap_script is not None:
            body["bootstrap_script"] = options.bootstrap_script
        if mount_map:
            config["mount_map"] = mount_map
    elif options.bootstrap_script is not None:
        raise _too_old(where, api_version, "bootstrapScript", BOOTSTRAP_AND_MOUNT_MAP)
    elif mount_map:
        raise _too_old(where, api_version, "mounts[].target", BOOTSTRAP_AND_MOUNT_MAP)
    return body


def _too_old(where: str, api_version: str, option: str, since: tuple[int, str]) -> BackendError:
    return BackendError(
        f"{where} speaks API {api_version}, which has no {option} (it came with "
        f"v{since[0]}.{since[1]}): leave the option out for this manager",
        field=f"options.{option}",
    )


class BackendAISession:
    """A Backend.AI compute session; implements :class:`runbridge.backends.base.BackendSession`."""

    def __init__(
        self,
        client: BackendAIClient,
        name: str,
        image: str | None,
        env: dict[str, str],
        on_state: StateCallback,
        *,
        group: str = "default",
        domain: str = "default",
        options: SessionOptions | None = None,
        start_timeout: float = START_TIMEOUT_S,
        poll_interval: float = START_POLL_S,
        attach: str | None = None,
        owned: NameStore | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.image = image or DEFAULT_IMAGE
        self.env = dict(env)
        self.workdir = WORKDIR
        self._on_state = on_state
        self.group = group
        self.domain = domain
        #: The session options in effect (the profile's under the request's).
        self.options = options or SessionOptions()
        self.start_timeout = start_timeout
        self.poll_interval = poll_interval
        #: The raw Backend.AI status (PENDING, PREPARING, RUNNING, ...), for messages.
        self.status: str | None = None
        self.status_info: str | None = None
        #: Called with each new raw status (the front may show it, e.g. in ``$/progress``).
        self.on_status: Callable[[str], None] | None = None
        self.session_id: str | None = None
        #: False when the manager reused an existing session of that name.
        self.created: bool | None = None
        #: The runs: the current one, the execute websockets, the REST loop.
        #: The session id of ``openSession {attach}``: a session runbridge did not create,
        #: addressed by that id in every path, only let go of on close (unless destroyed).
        self.attach_id = attach
        #: How the manager's paths name the session: runbridge's name, or the attached id.
        self.ref = attach if attach is not None else name
        self.runs = SessionRuns(client, name, on_state, self.interrupt, ref=self.ref)
        self._terminals: list[WebSocketTerminal] = []
        self._ref = quote(self.ref, safe="")
        #: The ids of the sessions runbridge created on this manager (left out of listings).
        self._owned = owned
        #: True when the manager refused our ``POST /session`` (another image, quota,
        #: auth): the name may then belong to a session opened elsewhere, which
        #: ``close`` must not destroy.
        self._create_refused = False

    # -- state ---------------------------------------------------------------------
    def _set_status(self, status: str | None, info: Any = None) -> None:
        if not status:
            return
        # server text, shown in messages and sent to the editor: masked and bounded
        status = self.client.quote(str(status), STATUS_LIMIT).upper()
        self.status_info = None if info in (None, "", "None") else self.client.quote(str(info))
        if status == self.status:
            return
        self.status = status
        if self.on_status is not None:
            self.on_status(status)
        if status in STARTING_STATUSES:
            self._on_state(SessionState.STARTING)

    # -- lifecycle -------------------------------------------------------------------
    def _create_body(self) -> dict[str, Any]:
        """``POST /session``'s body, with the keys SDK 23.9's ``get_or_create`` uses at the
        negotiated API version (options left out when not set)."""
        return create_body(
            self.name,
            self.image,
            self.env,
            self.options,
            group=self.group,
            domain=self.domain,
            api_version=self.client.api_version,
            where=self.client.where,
        )

    @property
    def remote_id(self) -> str | None:
        return self.session_id

    async def _attach_running(self) -> None:
        """Bind to the session of id :attr:`attach_id` as it runs (nothing is created)."""
        try:
            info = await self.info()
        except BackendAISessionNotFound:
            raise BackendError(
                f"{self.client.where} has no session {self.client.quote(repr(self.ref), 80)} "
                "of this keypair (runbridge/listRemote lists the ones it has)",
                session=self.name,
                endpoint=self.client.endpoint,
            ) from None
        image = info.get("image") or info.get("lang")
        if image:
            self.image = self.client.quote(str(image), 200)
        self.session_id = self.ref
        self.created = False
        self._set_status(info.get("status") or "PENDING", info.get("statusInfo"))
        await self._wait_running()

    async def start(self) -> None:
        """Create the session, or reuse the one of that name (same image), and wait for it."""
        if self.attach_id is not None:
            await self._attach_running()
            return
        if not SESSION_NAME.match(self.name):
            raise InvalidParams(
                f"session name {self.name!r} is not valid on Backend.AI: use 4 to 64 letters, "
                "digits, '_', '-' or '.', starting and ending with a letter, digit or '_'",
                field="name",
                session=self.name,
            )
        self._create_refused = False
        await self.client.ensure_negotiated()  # the body's keys depend on the API version
        request_body = self._create_body()
        try:
            body = await self.client.call_json(
                "POST",
                "/session",
                json=request_body,
                what=f"creating session {self.name!r}",
            )
        except BackendAISessionExists as exc:
            self._create_refused = True
            raise await self._conflict(exc) from None
        except BackendAIError as exc:
            if exc.status is not None:  # refused: nothing was created
                self._create_refused = True
            raise
        session_id = body.get("sessionId") or body.get("sessId")
        self.session_id = str(session_id) if session_id else None
        created = body.get("created")
        self.created = bool(created) if created is not None else None
        self._set_status(body.get("status") or "PENDING")
        if self._owned is not None and self.session_id is not None:
            self._owned.put(self.client.endpoint, self.name, {"kernel_id": self.session_id})
        await self._wait_running()

    async def _conflict(self, exc: BackendAISessionExists) -> SessionConflict:
        existing: str | None = None
        with contextlib.suppress(BackendAIError):
            info = await self.info()
            image = info.get("image") or info.get("lang")
            existing = str(image) if image else None
        if existing and existing != self.image:
            what = f"with image {self.client.quote(repr(existing), 200)}, not {self.image!r}"
        else:
            what = "with another image or settings"
        return SessionConflict(
            f"session {self.name!r} already exists on {self.client.where} {what}; close it "
            "first or pick another name",
            session=self.name,
            endpoint=self.client.endpoint,
        )

    async def info(self) -> dict[str, Any]:
        """``GET /session/{name}``: the manager's view of the session."""
        return await self.client.call_json(
            "GET",
            f"/session/{self._ref}",
            what=f"reading session {self.name!r}",
            session=self.name,
        )

    async def _wait_running(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        interval = self.poll_interval
        while True:
            status = self.status or ""
            if status in RUNNING_STATUSES:
                return
            if status in ENDED_STATUSES:
                why = f" ({self.status_info})" if self.status_info else ""
                raise BackendError(
                    f"session {self.name!r} on {self.client.where} became {status} while "
                    f"starting{why}; check its image and resources, then open it again",
                    session=self.name,
                    status=status,
                )
            if loop.time() >= deadline:
                raise BackendError(
                    f"session {self.name!r} on {self.client.where} is still {status} after "
                    f"{self.start_timeout:g} s (no free resources?); close it or retry later",
                    session=self.name,
                    status=status,
                )
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, START_POLL_MAX_S)
            info = await self.info()
            self._set_status(info.get("status"), info.get("statusInfo"))

    async def variables(self, busy: bool) -> Variables:
        """Backend.AI's kernel runners have no way to list variables without a run the
        user would see (no user expressions, no debugger)."""
        raise Unsupported(
            f"variables are not available for this kernel: session {self.name!r} runs on "
            "Backend.AI, whose kernel runners cannot list variables without running code "
            "in the session",
            session=self.name,
        )

    async def interrupt(self) -> None:
        self.runs.note_interrupt()
        await self.client.request(
            "POST",
            f"/session/{self._ref}/interrupt",
            what=f"interrupting session {self.name!r}",
            session=self.name,
        )

    async def restart(self) -> None:
        """``PATCH /session/{name}``; a session that is gone is created again."""
        await self.runs.drop_spare()  # a stream opened before the restart may not outlive it
        try:
            await self.client.request(
                "PATCH",
                f"/session/{self._ref}",
                what=f"restarting session {self.name!r}",
                session=self.name,
            )
        except BackendAISessionNotFound:
            self.status = None
            await self.start()
            return
        except BackendAINotImplemented as exc:
            gone = False
            try:
                await self.info()
            except BackendAISessionNotFound:
                gone = True
            except BackendAIError:
                pass
            if gone:
                # the session is gone (e.g. idle timeout): a new one is the restart
                self.status = None
                await self.start()
                return
            raise BackendAINotImplemented(
                f"{self.client.where} no longer supports restarting a session (HTTP 501); close "
                f"session {self.name!r} and open it again for a fresh kernel (files in "
                f"{WORKDIR} are lost with it)",
                status=exc.status,
                problem=exc.problem,
                session=self.name,
            ) from None
        info = await self.info()
        self._set_status(info.get("status"), info.get("statusInfo"))
        await self._wait_running()

    async def _close_terminals(self) -> None:
        await asyncio.gather(*(t.close() for t in self._terminals), return_exceptions=True)
        self._terminals.clear()

    async def close(self, destroy: bool = False) -> None:
        """Close the terminals and destroy the session (one already gone is fine); an
        attached session is only let go of unless ``destroy``.

        A session whose creation the manager refused (another image, quota, auth) is
        not destroyed: that name may be a session someone opened elsewhere.
        """
        await self.runs.close()  # a run executing now ends interrupted
        await self._close_terminals()
        if self.attach_id is not None and not destroy:  # not runbridge's: let go of it
            await self.runs.close_stream()
            return
        if self._create_refused:
            self.status = "TERMINATED"
            return
        try:
            with contextlib.suppress(BackendAISessionNotFound):
                await self.client.request(
                    "DELETE",
                    f"/session/{self._ref}",
                    params={"forced": "true"},
                    what=f"destroying session {self.name!r}",
                    session=self.name,
                )
        finally:
            await self.runs.close_stream()
            if self._owned is not None and self.attach_id is None:
                self._owned.put(self.client.endpoint, self.name, None)
        self.status = "TERMINATED"

    async def detach(self) -> None:
        """The daemon is exiting: leave the session running on the manager.

        A run in progress is interrupted (the session is kept, its run is not); the
        terminals, the spare and the run's websockets are closed. Reopening the same name
        later, from this or another daemon, reuses the session (``created: false``,
        variables kept). With ``keep_sessions = false`` in the profile this is :meth:`close`.
        """
        if not self.client.config.keep_sessions and self.attach_id is None:
            await self.close()
            return
        await self.runs.detach()
        await self._close_terminals()

    # -- language features -------------------------------------------------------------
    async def complete(self, code: str, cursor: int) -> Completions:
        """The manager's completion endpoint (empty with the stock runners)."""
        return await completion.complete(self.client, self.ref, code, cursor, self.runs.busy)

    async def inspect(self, code: str, cursor: int, detail: int) -> Inspection:
        """Backend.AI has no inspection: nothing."""
        return NO_INSPECTION

    # -- runs --------------------------------------------------------------------------
    async def execute(self, code: str, sink: RunSink, timeout: float | None) -> RunOutcome:
        return await self.runs.run("query", code, {}, sink, timeout)

    async def batch(self, options: BatchOptions, code: str, sink: RunSink) -> RunOutcome:
        exec_cmd = options.exec
        if code:
            ext, interpreter = batch_file(options.language)
            name = f".runbridge/batch-{uuid.uuid4().hex[:12]}.{ext}"
            data = code.encode()
            if len(data) >= UPLOAD_MAX_BYTES:
                raise BackendAIUploadRefused(
                    f"the batch code is {size_text(len(data))}; the Backend.AI manager accepts "
                    f"files under {size_text(UPLOAD_MAX_BYTES)}: upload it as files instead",
                    session=self.name,
                )
            await work_folder.post_files(self.client, self.ref, [(name, data)])
            if not exec_cmd and interpreter is not None:
                exec_cmd = f"{interpreter} {name}"
        batch_options = {
            "clean": options.clean,
            "build": options.build,
            "buildLog": False,
            "exec": exec_cmd,
        }
        return await self.runs.run("batch", "", batch_options, sink, options.timeout)

    # -- files (work_folder) ----------------------------------------------------------
    async def upload(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return await work_folder.upload(self.client, self.ref, files, dest, progress)

    async def download(
        self, files: list[str], dest: str, progress: ProgressCallback
    ) -> list[FileEntry]:
        return await work_folder.download(self.client, self.ref, files, dest, progress)

    async def list_files(self, path: str = ".") -> list[FolderEntry]:
        return await work_folder.list_folder(self.client, self.ref, path)

    # -- terminals -------------------------------------------------------------------
    async def open_terminal(
        self, rows: int, cols: int, on_output: TerminalOutput, on_exit: TerminalExit
    ) -> Terminal:
        ws = await self._connect_pty()
        reconnect = reconnector(self.name, self._manager_status, self._connect_pty)
        terminal = pty_terminal(ws, on_output, on_exit, reconnect=reconnect)
        terminal.start(rows, cols)
        self._terminals = [t for t in self._terminals if not t.exited]
        self._terminals.append(terminal)
        return terminal

    async def _connect_pty(self) -> ClientConnection:
        return await self.client.ws_connect(
            f"/stream/session/{self._ref}/pty",
            what=f"opening a terminal on session {self.name!r}",
            session=self.name,
        )

    async def _manager_status(self) -> str | None:
        """The manager's status of the session; None when it has no such session."""
        try:
            info = await self.info()
        except BackendAISessionNotFound:
            return None
        return str(info.get("status") or "")

    # -- apps (service ports) ----------------------------------------------------------
    async def list_apps(self) -> list[ServiceApp]:
        """``GET /stream/session/{ref}/apps``."""
        return await apps.list_apps(self.client, self.name, ref=self.ref)

    async def open_app(self, app: str, local_port: int | None, port: int | None) -> AppForward:
        """Forward ``app`` to ``127.0.0.1:local_port`` through the manager's TCP proxy."""
        chosen = apps.pick_app(await self.list_apps(), app, port, self.name)
        forward = apps.TcpProxyForward(self.client, self.name, chosen, port, ref=self.ref)
        await forward.start(local_port)
        return forward
