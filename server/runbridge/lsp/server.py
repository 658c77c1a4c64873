"""The daemon's JSON-RPC surface: protocol v1 handlers on a pygls LanguageServer.

Handlers are thin: parse params (``runbridge.protocol``), call the
:class:`~runbridge.sessions.manager.SessionManager`, and turn its errors into
JSON-RPC errors here, in one place.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from runbridge import PROTOCOL_VERSION, __version__, logs, protocol
from runbridge.config import BACKEND_TYPES, Settings, load_settings
from runbridge.errors import BackendError, FileError, InvalidParams, RunbridgeError, quote
from runbridge.lsp import wire
from runbridge.lsp.progress import WorkDone, client_token
from runbridge.model import RunRequest, RunResult, SessionInfo
from runbridge.sessions.manager import Events, SessionManager
from runbridge.sessions.output import OutputBatch

log = logging.getLogger(__name__)

DEFAULT_SESSION = "default"
T = TypeVar("T")


@attrs.define
class _RawRequest:
    """A runbridge request whose params stay plain JSON (pygls would make namedtuples,
    renaming keys such as ``MY-VAR`` and dropping a key named ``type_name``)."""

    id: int | str
    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class _RawNotification:
    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class _RawResponse:
    id: int | str | None
    jsonrpc: str
    result: Any = None


_NOTIFICATIONS = frozenset(
    {
        protocol.TERMINAL_INPUT, protocol.RESIZE_TERMINAL, protocol.OUTPUT,
        protocol.SESSION_CHANGED, protocol.TERMINAL_OUTPUT, protocol.TERMINAL_EXIT,
    }
)  # fmt: skip


#: The longest error message sent on the wire (longer ones are cut).
_MAX_ERROR_MESSAGE = 1000


class RunbridgeProtocol(LanguageServerProtocol):
    # -- the wire's entry points (see runbridge.lsp.wire) -------------------------------
    def send_json(self, text: str) -> None:
        """Send a message that is already JSON text."""
        if not _write_message(self, text):
            self._send_data(json.loads(text))

    def receive(self, checked: wire.Checked) -> None:
        """Handle one message that passed :func:`runbridge.lsp.wire.check`."""
        kind, method, msg_id = checked.kind, checked.method, checked.msg_id
        if kind == "request":
            refusal = self._refusal(method, msg_id)
            if refusal is not None:
                log.warning("refused request %s %s: %s", quote(str(msg_id)), method, refusal)
                self.send_json(wire.error_reply(msg_id, wire.INVALID_REQUEST, refusal))
                return
        elif kind == "notification":
            if self._shutdown and method != types.EXIT:
                log.info("ignored %s: the daemon is shutting down", method)
                return
            if method == types.CANCEL_REQUEST and not _cancel_params_ok(checked.data):
                log.warning("ignored $/cancelRequest: its params need an integer or string id")
                return
        try:
            message = self.structure_message(checked.data)
        except Exception as exc:
            self._unreadable(checked, exc)
            return
        try:
            self.handle_message(message)
        except Exception:
            log.exception("internal error handling %s", method or "a response")
            if kind == "request":
                internal = "internal error (see the daemon log)"
                self.send_json(wire.error_reply(msg_id, wire.INTERNAL_ERROR, internal))

    def _refusal(self, method: str, msg_id: Any) -> str | None:
        """Why request ``msg_id`` is refused before it is handled, or None."""
        if msg_id in self._request_futures:
            return f"request id {quote(str(msg_id))} is already in use by a request in progress"
        if self._shutdown and method != types.EXIT:
            return "the daemon is shutting down: only 'exit' is accepted now"
        return None

    def _unreadable(self, checked: wire.Checked, exc: Exception) -> None:
        """A message pygls could not read (its params do not fit the method's types)."""
        cause = exc.__cause__ or exc
        log.warning(
            "could not read the %s %s: %s",
            checked.kind,
            checked.method or quote(str(checked.msg_id)),
            quote(f"{type(cause).__name__}: {cause}", 300),
        )
        if checked.kind == "request":
            message = f"invalid params for {quote(checked.method)}: they do not fit its types"
            self.send_json(wire.error_reply(checked.msg_id, wire.INVALID_PARAMS, message))
        elif checked.kind == "response":  # a request of ours waits for it: it failed
            future = self._request_futures.pop(checked.msg_id, None)  # type: ignore[arg-type]
            self._result_types.pop(checked.msg_id, None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_exception(
                    JsonRpcException(message="the editor's answer could not be read")
                )

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """Every reply pygls sends: errors lose their traceback and long messages are cut
        (an internal error's details are in the daemon log)."""
        if error is not None:
            message = str(error.message)
            if isinstance(error.data, dict) and "traceback" in error.data:
                error.data = None
                if error.code == wire.INTERNAL_ERROR:
                    message = "internal error (see the daemon log)"
            if len(message) > _MAX_ERROR_MESSAGE:
                message = message[:_MAX_ERROR_MESSAGE] + "..."
            error.message = message
        super()._send_response(msg_id, result, error)

    def get_message_type(self, method: str) -> Any:  # type: ignore[override]
        if method in REQUEST_HANDLERS or method == protocol.INPUT:
            return _RawRequest
        if method in _NOTIFICATIONS:
            return _RawNotification
        return super().get_message_type(method)

    def get_result_type(self, method: str) -> Any:  # type: ignore[override]
        if method == protocol.INPUT:
            return _RawResponse
        return super().get_result_type(method)

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        server = self._server
        if method_name == protocol.RUN and isinstance(server, RunbridgeServer):
            self._ctx_msg_id.set(msg_id)
            _RunRequest(server, self, msg_id, params)
            return
        super()._handle_request(msg_id, method_name, params)

    def structure_message(self, data: dict[str, Any]) -> Any:
        # JSON-RPC allows a request without "params"; pygls would fail to parse it
        # and never answer. Give it params=None so the handler can name what is missing.
        if "jsonrpc" in data and "method" in data and "params" not in data:
            data = {**data, "params": None}
        return super().structure_message(data)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        server = self._server
        if not (isinstance(server, RunbridgeServer) and server.shared):
            yield from super().lsp_exit(*args)
            return
        # A shared daemon: this editor leaves; the daemon and its sessions stay.
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        server.detached.set()

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        server = self._server
        assert isinstance(server, RunbridgeServer)
        server.configure(params.initialization_options)
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        log_file = logs.log_file()
        result.capabilities.experimental = {
            "runbridge": {
                "protocolVersion": PROTOCOL_VERSION,
                "version": __version__,
                "backends": list(BACKEND_TYPES),
                "profiles": server.profiles_wire(),
                "defaultProfile": server.settings.default_profile,
                "defaultSession": DEFAULT_SESSION,
                "logFile": None if log_file is None else str(log_file),
            }
        }
        return result


def _cancel_params_ok(data: dict[str, Any]) -> bool:
    params = data.get("params")
    return isinstance(params, dict) and wire.valid_id(params.get("id"))


class RunbridgeServer(LanguageServer):
    def __init__(self, manager: SessionManager | None = None) -> None:
        """``manager``: the sessions of a shared daemon, which outlive this connection
        (``shutdown`` and ``exit`` then end the connection, not the sessions)."""
        super().__init__("runbridge", __version__, protocol_cls=RunbridgeProtocol)
        self.settings: Settings = load_settings()
        self.shared = manager is not None
        self._manager: SessionManager | None = manager
        self._events = _LspEvents(self)
        #: Set when a shared daemon's client sent ``exit`` (or ``runbridge/stopDaemon``).
        self.detached = asyncio.Event()
        self.stop_daemon_requested = False
        if manager is not None:
            manager.events = self._events

    @property
    def wire_protocol(self) -> RunbridgeProtocol:
        """This server's protocol, typed (pygls types it as its base class)."""
        proto = self.protocol
        assert isinstance(proto, RunbridgeProtocol)
        return proto

    @property
    def manager(self) -> SessionManager:
        if self._manager is None:
            self._manager = SessionManager(self.settings, self._events)
        return self._manager

    @property
    def events(self) -> Events:
        return self._events

    def configure(self, init_options: Any) -> None:
        self.settings = load_settings(init_options)
        if self._manager is not None:
            self._manager.settings = self.settings
        for warning in self.settings.warnings:
            log.warning("configuration: %s", warning)

    def profiles_wire(self) -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "type": p.type,
                "image": p.image,
                "available": p.type in BACKEND_TYPES,
            }
            for p in self.settings.profiles.values()
        ]

    async def aclose(self) -> None:
        if self._manager is not None:
            await self._manager.aclose()

    def connection_closed(self) -> None:
        """The editor is gone: what waits for its answers ends now."""
        self._events.connection_closed()

    def forward_logs(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Send runbridge's warnings and errors to this editor too (``window/logMessage``);
        always written from the loop's thread, so a log call in a worker thread cannot
        interleave bytes with another message. Returns the function that stops it."""
        loop_thread = threading.get_ident()

        def write(level: int, message: str) -> None:
            kind = types.MessageType.Error if level >= logging.ERROR else types.MessageType.Warning
            self.window_log_message(types.LogMessageParams(type=kind, message=message))

        def send(level: int, message: str) -> None:
            if threading.get_ident() == loop_thread:
                write(level, message)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(write, level, message)

        handler = logs.ForwardHandler(send)
        logging.getLogger().addHandler(handler)
        return lambda: logging.getLogger().removeHandler(handler)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls' errors out of band: logged, never a message box in the editor (the
        request, if any, was answered with an error already)."""
        log.warning("%s", quote(f"{type(error).__name__}: {error}", 500))


def _write_message(proto: LanguageServerProtocol, message: str) -> bool:
    """Frame and write a message that is already JSON text, skipping pygls' object
    round trip (the hot paths: output, state changes, run replies). False when the
    writer is not a framed one (then the caller sends it through pygls)."""
    writer = proto.writer
    if writer is None or not getattr(proto, "_include_headers", True):
        return False
    writer.write(wire.framed(message.encode("utf-8", "replace")))
    return True


class _LspEvents:
    """The manager's :class:`~runbridge.sessions.manager.Events`, sent over JSON-RPC."""

    def __init__(self, ls: RunbridgeServer) -> None:
        self._ls = ls
        #: Ids of the input requests sent and not answered yet.
        self._asking: set[str] = set()

    def _notify_json(self, method: str, params_json: str, params: Callable[[], Any]) -> None:
        """Frame and write a notification whose params are already JSON text.

        The hot paths (output under a flood, state changes around every run) skip pygls'
        object round trip; ``params`` builds the object form when no framed writer exists.
        """
        proto = self._ls.protocol
        message = f'{{"jsonrpc":"2.0","method":"{method}","params":{params_json}}}'
        if not _write_message(proto, message):
            proto.notify(method, params())

    def output(self, batch: OutputBatch) -> None:
        # The console is already JSON (encoded once, in RunOutput).
        self._notify_json(protocol.OUTPUT, batch.params_json(), batch.to_params)

    def session_changed(self, info: dict[str, Any]) -> None:
        params = {"session": info}
        self._notify_json(protocol.SESSION_CHANGED, json.dumps(params), lambda: params)

    def terminal_output(self, terminal_id: str, data: str) -> None:
        self._ls.protocol.notify(
            protocol.TERMINAL_OUTPUT, {"terminalId": terminal_id, "data": data}
        )

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        self._ls.protocol.notify(
            protocol.TERMINAL_EXIT, {"terminalId": terminal_id, "exitCode": exit_code}
        )

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        """The editor's answer; None (the run is interrupted) when it cancels, answers
        with an error, or goes away before it answers."""
        msg_id = f"runbridge-input-{uuid.uuid4().hex}"
        self._asking.add(msg_id)
        try:
            result = await self._ls.protocol.send_request_async(
                protocol.INPUT, params, msg_id=msg_id
            )
        except (JsonRpcException, ConnectionError) as exc:
            log.info("input request %s ended without an answer: %s", msg_id, exc)
            return None
        finally:
            self._asking.discard(msg_id)
        if isinstance(result, dict):
            value = result.get("value")
            return value if isinstance(value, str) else None
        return None

    def connection_closed(self) -> None:
        """The editor is gone: its unanswered input prompts end (their runs are interrupted)."""
        futures = self._ls.protocol._request_futures
        for msg_id in list(self._asking):
            future = futures.pop(msg_id, None)
            if future is not None and not future.done():
                future.set_exception(ConnectionError("the editor left before answering"))


#: The longest string in an error's ``data`` (a name, a path): longer ones are cut.
_MAX_DATA_CHARS = 300


def to_jsonrpc(exc: RunbridgeError) -> JsonRpcException:
    data: dict[str, Any] = {"kind": exc.kind}
    for key, value in exc.data.items():
        if isinstance(value, str):
            data[key] = value if len(value) <= _MAX_DATA_CHARS else value[:_MAX_DATA_CHARS] + "..."
        elif isinstance(value, int):
            data[key] = value
    return JsonRpcException(message=exc.message, code=exc.code, data=data)


def _mapped(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Turn runbridge errors into JSON-RPC errors; never send a traceback."""

    @functools.wraps(fn)
    async def wrapper(*args: Any) -> T:
        try:
            return await fn(*args)
        except RunbridgeError as exc:
            raise to_jsonrpc(exc) from None
        except (JsonRpcException, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("internal error in %s", fn.__name__)
            raise JsonRpcException(
                message=f"internal error: {type(exc).__name__}: "
                f"{quote(logs.redact(str(exc)[:2000]), 200)} (see the daemon log)",
                code=-32603,
            ) from None

    return wrapper


async def _open_session(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    p = protocol.parse_open_session(raw)
    info = await _open(ls, p.name, p.profile, p.image, p.env, client_token(raw))
    return info.to_wire()


async def _list_sessions(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    protocol.as_object(raw, protocol.LIST_SESSIONS)
    return {"sessions": [s.to_wire() for s in ls.manager.sessions()]}


async def _check_profile(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    return await ls.manager.check_profile(protocol.parse_check_profile(raw))


async def _stop_daemon(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    protocol.as_object(raw, protocol.STOP_DAEMON)
    ls.stop_daemon_requested = True
    await ls.aclose()
    return {}


async def _close_session(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    name = protocol.parse_session_name(raw, protocol.CLOSE_SESSION, "name")
    return (await ls.manager.close(name)).to_wire()


async def _interrupt(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    name = protocol.parse_session_name(raw, protocol.INTERRUPT, "session")
    return (await ls.manager.interrupt(name)).to_wire()


async def _restart(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    name = protocol.parse_session_name(raw, protocol.RESTART, "session")
    progress = WorkDone(ls, client_token(raw))
    await progress.begin(f"Restarting session {name}")
    try:
        return (await ls.manager.restart(name)).to_wire()
    finally:
        progress.end()


async def _run_request(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    """``runbridge.server.run`` (the command); the ``runbridge/run`` request is a
    :class:`_RunRequest`."""
    request = protocol.parse_run(raw, DEFAULT_SESSION)
    return (await _run(ls, request)).to_wire()


async def _upload(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    return await _transfer(ls, raw, protocol.UPLOAD)


async def _download(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    return await _transfer(ls, raw, protocol.DOWNLOAD)


async def _list_files(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    session, path = protocol.parse_list_files(raw)
    entries = await ls.manager.list_files(session, path)
    return {"path": path, "entries": [e.to_wire() for e in entries]}


async def _open_terminal(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    p = protocol.parse_open_terminal(raw)
    if not ls.manager.is_open(p.session):  # like run and upload, a terminal opens its session
        await _open(ls, p.session, None, None, None, None)
    return {"terminalId": await ls.manager.open_terminal(p.session, p.rows, p.cols)}


async def _close_terminal(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    terminal_id = protocol.parse_terminal_id(raw, protocol.CLOSE_TERMINAL)
    await ls.manager.close_terminal(terminal_id)
    return {"terminalId": terminal_id}


Handler = Callable[[RunbridgeServer, Any], Awaitable[dict[str, Any]]]

#: Every request of protocol v1 and its handler.
REQUEST_HANDLERS: dict[str, Handler] = {
    protocol.OPEN_SESSION: _open_session,
    protocol.LIST_SESSIONS: _list_sessions,
    protocol.CLOSE_SESSION: _close_session,
    protocol.INTERRUPT: _interrupt,
    protocol.RESTART: _restart,
    protocol.RUN: _run_request,
    protocol.UPLOAD: _upload,
    protocol.DOWNLOAD: _download,
    protocol.LIST_FILES: _list_files,
    protocol.OPEN_TERMINAL: _open_terminal,
    protocol.CLOSE_TERMINAL: _close_terminal,
    protocol.STOP_DAEMON: _stop_daemon,
    protocol.CHECK_PROFILE: _check_profile,
}

#: ``workspace/executeCommand`` ids for generic clients: one object argument, same handler.
COMMAND_HANDLERS: dict[str, Handler] = {
    protocol.COMMAND_RUN: _run_request,
    protocol.COMMAND_UPLOAD: _upload,
    protocol.COMMAND_INTERRUPT: _interrupt,
    protocol.COMMAND_RESTART: _restart,
}


def _as_request(handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def request(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
        return await handler(ls, raw)

    request.__name__ = handler.__name__
    return _mapped(request)


def _as_command(command: str, handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def run_command(ls: RunbridgeServer, *args: Any) -> dict[str, Any]:
        if len(args) != 1:
            raise InvalidParams(
                f"{command} takes exactly one object argument, got {len(args)}",
                field="arguments",
            )
        return await handler(ls, args[0])

    return _mapped(run_command)


def create_server(manager: SessionManager | None = None) -> RunbridgeServer:
    """A server; ``manager``: the sessions of a shared daemon (see :mod:`runbridge.lsp.shared`)."""
    server = RunbridgeServer(manager)

    @server.feature(types.INITIALIZED)
    def on_initialized(ls: RunbridgeServer, *_: Any) -> None:
        for problem in logs.problems:  # what went wrong at start: shown, not only logged
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: RunbridgeServer, *_: Any) -> None:
        if not ls.shared:  # a shared daemon keeps its sessions for the next editor
            await ls.aclose()

    @server.feature(types.EXIT)
    async def on_exit(ls: RunbridgeServer, *_: Any) -> None:
        if not ls.shared:
            await ls.aclose()

    for method, handler in REQUEST_HANDLERS.items():
        server.feature(method)(_as_request(handler))
    for command, handler in COMMAND_HANDLERS.items():
        server.command(command)(_as_command(command, handler))

    @server.feature(protocol.TERMINAL_INPUT)
    def terminal_input(ls: RunbridgeServer, raw: Any) -> None:
        _notification(lambda: ls.manager.terminal_input(*protocol.parse_terminal_input(raw)))

    @server.feature(protocol.RESIZE_TERMINAL)
    def resize_terminal(ls: RunbridgeServer, raw: Any) -> None:
        _notification(lambda: ls.manager.resize_terminal(*protocol.parse_resize(raw)))

    return server


def _ending(task: asyncio.Future[Any], success: str) -> str:
    """The last message of a progress bar for ``task``."""
    if task.cancelled() or not task.done():
        return "cancelled"
    return "failed" if task.exception() is not None else success


def _current_task_cancelling() -> bool:
    """True when this handler itself is being cancelled ($/cancelRequest, shutdown)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _notification(action: Callable[[], None]) -> None:
    """Notifications have no reply: bad ones are logged (warning -> window/logMessage)."""
    try:
        action()
    except RunbridgeError as exc:
        log.warning("%s", exc.message)


async def _open(
    ls: RunbridgeServer,
    name: str,
    profile: str | None,
    image: str | None,
    env: dict[str, str] | None,
    token: str | int | None,
) -> SessionInfo:
    """Open or reuse a session, with ``$/progress`` while a new one starts."""
    if ls.manager.is_open(name):
        return await ls.manager.open(name, profile, image, env)
    progress = WorkDone(ls, token)
    await progress.begin(f"Starting session {name}", "starting", cancellable=True)
    task = asyncio.ensure_future(
        ls.manager.open(name, profile, image, env, on_status=progress.message)
    )
    progress.on_cancel(task.cancel)  # Cancel on the progress bar: the start is abandoned
    try:
        return await task
    except asyncio.CancelledError:
        if progress.cancelled and not _current_task_cancelling():
            why = f"starting session {quote(name)} was cancelled"
            raise BackendError(why, session=name) from None
        raise
    finally:
        progress.end(_ending(task, "ready"))


async def _queue_run(ls: RunbridgeServer, request: RunRequest) -> None:
    """Check and queue a run, opening its session first when it is not open."""
    ls.manager.enqueue(request)
    if not ls.manager.is_open(request.session):
        await _open(ls, request.session, request.profile, request.image, None, None)


async def _run(ls: RunbridgeServer, request: RunRequest) -> RunResult:
    manager = ls.manager
    await _queue_run(ls, request)
    task = asyncio.ensure_future(manager.run(request))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        # $/cancelRequest: interrupt the run; it still finishes and its output is kept.
        await manager.cancel_run(request.session, request.run_id)
        raise


async def _transfer(ls: RunbridgeServer, raw: Any, method: str) -> dict[str, Any]:
    p = protocol.parse_transfer(raw, method)
    verb = "Uploading" if method == protocol.UPLOAD else "Downloading"
    progress = WorkDone(ls, p.token)
    if p.token is not None:
        await progress.begin(f"{verb} {len(p.files)} file(s)", cancellable=True)
    if method == protocol.UPLOAD:
        task = asyncio.ensure_future(ls.manager.upload(p.session, p.files, p.dest, progress.report))
    else:
        task = asyncio.ensure_future(
            ls.manager.download(p.session, p.files, p.dest, progress.report)
        )
    progress.on_cancel(task.cancel)
    try:
        entries = await task
    except asyncio.CancelledError:
        if progress.cancelled and not _current_task_cancelling():
            raise FileError(
                f"{verb.lower()} was cancelled; files not complete were not written",
                session=p.session,
            ) from None
        raise
    finally:
        progress.end(_ending(task, "done"))
    return {"files": [e.to_wire() for e in entries]}


class _RunRequest:
    """One ``runbridge/run`` request, answered in the very step its run ends.

    A generic handler answers a few loop iterations after its run ends (an inner
    task shielded from cancellation, the handler task's callbacks, then the
    writer's flush), and socket events handled in between (a Backend.AI manager
    closing a finished stream, another session's output) push the reply further
    back: for a short run that is a measurable share of the round trip. Here the
    run is awaited directly, and its reply is written and flushed at once, in one
    write with the run's last output and state change.

    ``$/cancelRequest`` (pygls calls :meth:`cancel`) abandons a session start,
    drops the run from its queue, or interrupts it (the run still ends and its
    output is kept); the request answers RequestCancelled (-32800).
    """

    def __init__(
        self, ls: RunbridgeServer, proto: LanguageServerProtocol, msg_id: Any, raw: Any
    ) -> None:
        self._ls = ls
        self._proto = proto
        self._msg_id = msg_id
        #: Set once the run is queued on an open session.
        self._request: RunRequest | None = None
        self._cancelled = False
        self._interrupt: asyncio.Task[None] | None = None
        self._task = asyncio.ensure_future(self._serve(raw))
        # where pygls' $/cancelRequest looks for a request to cancel
        proto._request_futures[msg_id] = self  # type: ignore[assignment]

    def cancel(self) -> bool:
        if self._task.done() or self._cancelled:
            return False
        self._cancelled = True
        request = self._request
        if request is None or not self._ls.manager.is_executing(request.session, request.run_id):
            self._task.cancel()  # still opening its session, or waiting in its queue
        else:
            self._interrupt = asyncio.ensure_future(
                self._ls.manager.cancel_run(request.session, request.run_id)
            )
            self._interrupt.add_done_callback(_log_failure)
        return True

    async def _run(self, raw: Any) -> dict[str, Any]:
        request = protocol.parse_run(raw, DEFAULT_SESSION)
        await _queue_run(self._ls, request)
        self._request = request
        return (await self._ls.manager.run(request)).to_wire()

    async def _serve(self, raw: Any) -> None:
        proto = self._proto
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            result = await _mapped(self._run)(raw)
        except asyncio.CancelledError:
            answer.cancel()
        except Exception as exc:  # a JsonRpcException (see _mapped)
            answer.set_exception(exc)
        else:
            if self._cancelled:
                answer.cancel()
            else:
                answer.set_result(result)
        written = False
        if not answer.cancelled() and answer.exception() is None:
            proto._request_futures.pop(self._msg_id, None)
            reply = {"jsonrpc": "2.0", "id": self._msg_id, "result": answer.result()}
            written = _write_message(proto, json.dumps(reply, ensure_ascii=False))
        if not written:  # pygls' own answer: RequestCancelled, the error, or no framing
            proto._send_handler_result(answer, msg_id=self._msg_id)  # type: ignore[arg-type]
        flush = getattr(self._proto.writer, "flush", None)
        if flush is not None:
            flush()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("interrupting a cancelled run failed: %s", exc)
