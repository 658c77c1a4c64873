"""The handlers of protocol v1: one per request, command and notification, and their
registration on a server.

Handlers are thin: parse params (``runbridge.protocol``), call the
:class:`~runbridge.sessions.manager.SessionManager`, and let
:func:`runbridge.lsp.jsonrpc_errors.mapped` turn its errors into JSON-RPC errors.
The ``runbridge/run`` request itself is served by
:class:`runbridge.lsp.run_request.RunRequestTask`; its handler here serves the
``runbridge.server.run`` command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types

from runbridge import logs, protocol
from runbridge.errors import (
    BackendError,
    FileError,
    InvalidParams,
    RunbridgeError,
    TerminalNotFound,
    quote,
)
from runbridge.lsp.capabilities import DEFAULT_SESSION
from runbridge.lsp.jsonrpc_errors import mapped
from runbridge.lsp.language_server import RunbridgeServer
from runbridge.lsp.progress import WorkDone, client_token
from runbridge.lsp.run_diagnostics import RunMark
from runbridge.model import RunRequest, RunResult, SessionInfo, closed_message
from runbridge.protocol import RunOrigin
from runbridge.session_options import SessionOptions

log = logging.getLogger(__name__)


async def _open_session(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    p = protocol.parse_open_session(raw)
    info = await open_session(
        ls, p.name, p.profile, p.image, p.env, client_token(raw), options=p.options, attach=p.attach
    )
    ls.follow(p.name)
    return info.to_wire()


async def _follow(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    session, follow = protocol.parse_follow(raw)
    ls.follow(session, follow)
    return {"session": session, "follow": follow}


async def _list_sessions(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    protocol.as_object(raw, protocol.LIST_SESSIONS)
    manager, fanout = ls.manager, ls.fanout
    listed = [
        {
            **s.to_wire(),
            "runs": manager.run_count(s.name),
            "followers": len(fanout.followers(s.name)),
        }
        for s in manager.sessions()
    ]
    return {"sessions": listed}


async def _list_remote(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    return await ls.manager.list_remote(*protocol.parse_list_remote(raw))


async def _check_profile(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    return await ls.manager.check_profile(protocol.parse_check_profile(raw))


async def _history(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    session, query = protocol.parse_history(raw)
    return await ls.manager.history(session, query)


#: How long the session host waits, after ``runbridge/stopDaemon``, for its reply to be
#: written before it closes every connection.
_STOP_REPLY_S = 0.05


async def _variables(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    name = protocol.parse_session_name(raw, protocol.VARIABLES, "session")
    found = await ls.manager.variables(name)
    wire: dict[str, Any] = {
        "session": name,
        "variables": [v.to_wire() for v in found.variables],
    }
    if found.truncated:
        wire["truncated"] = True
    return wire


async def _stop_daemon(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    protocol.as_object(raw, protocol.STOP_DAEMON)
    ls.stop_daemon_requested = True
    await ls.aclose()
    if ls.shared:  # the session host: it exits now, not when this client leaves
        asyncio.get_running_loop().call_later(_STOP_REPLY_S, ls.detached.set)
    return {}


async def _close_session(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    name, destroy = protocol.parse_close_session(raw)
    info = await ls.manager.close(name, destroy=destroy)
    return {**info.to_wire(), "message": closed_message(name, info.attached, destroy)}


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


async def run_params(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    """A run from ``runbridge/run``'s params, as the commands run it; its RunResult."""
    return (await _run(ls, raw)).to_wire()


async def _run_command(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    """``runbridge.server.run`` (the command); the ``runbridge/run`` request is a
    :class:`~runbridge.lsp.run_request.RunRequestTask`."""
    return (await _run(ls, raw)).to_wire()


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
        await open_session(ls, p.session, None, None, None, None)
    terminal_id = await ls.manager.open_terminal(p.session, p.rows, p.cols)
    ls.fanout.terminal_opened(ls.client, terminal_id, p.session)
    return {"terminalId": terminal_id}


async def _list_terminals(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    protocol.as_object(raw, protocol.LIST_TERMINALS)
    fanout = ls.fanout
    terminals = [
        {"terminalId": tid, "session": session, "attached": fanout.attached(tid)}
        for tid, session in fanout.terminals().items()
    ]
    return {"terminals": terminals}


async def _attach_terminal(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    terminal_id = protocol.parse_terminal_id(raw, protocol.ATTACH_TERMINAL)
    session = ls.fanout.terminals().get(terminal_id)
    if session is None:
        raise TerminalNotFound(
            f"no open terminal with id {quote(terminal_id)}", terminal=terminal_id
        )
    replay = ls.fanout.attach_terminal(ls.client, terminal_id)
    return {"terminalId": terminal_id, "session": session, "replay": replay}


async def _close_terminal(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    terminal_id = protocol.parse_terminal_id(raw, protocol.CLOSE_TERMINAL)
    await ls.manager.close_terminal(terminal_id)
    return {"terminalId": terminal_id}


async def _list_apps(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    name = protocol.parse_session_name(raw, protocol.LIST_APPS, "session")
    return {"apps": await ls.manager.list_apps(name)}


async def _open_app(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    p = protocol.parse_open_app(raw)
    return await ls.manager.open_app(p.session, p.app, p.local_port, p.port)


async def _close_app(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    await ls.manager.close_app(protocol.parse_app_id(raw))
    return {}


async def _list_forwards(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    return {"forwards": ls.manager.list_forwards(protocol.parse_list_forwards(raw))}


def _terminal_input(ls: RunbridgeServer, raw: Any) -> None:
    ls.manager.terminal_input(*protocol.parse_terminal_input(raw))


def _resize_terminal(ls: RunbridgeServer, raw: Any) -> None:
    ls.manager.resize_terminal(*protocol.parse_resize(raw))


Handler = Callable[[RunbridgeServer, Any], Awaitable[dict[str, Any]]]
NotificationHandler = Callable[[RunbridgeServer, Any], None]

#: Every request of protocol v1 and its handler.
REQUEST_HANDLERS: dict[str, Handler] = {
    protocol.OPEN_SESSION: _open_session,
    protocol.LIST_SESSIONS: _list_sessions,
    protocol.CLOSE_SESSION: _close_session,
    protocol.INTERRUPT: _interrupt,
    protocol.RESTART: _restart,
    protocol.RUN: _run_command,
    protocol.UPLOAD: _upload,
    protocol.DOWNLOAD: _download,
    protocol.LIST_FILES: _list_files,
    protocol.OPEN_TERMINAL: _open_terminal,
    protocol.CLOSE_TERMINAL: _close_terminal,
    protocol.STOP_DAEMON: _stop_daemon,
    protocol.CHECK_PROFILE: _check_profile,
    protocol.LIST_REMOTE: _list_remote,
    protocol.HISTORY: _history,
    protocol.FOLLOW: _follow,
    protocol.LIST_TERMINALS: _list_terminals,
    protocol.ATTACH_TERMINAL: _attach_terminal,
    protocol.VARIABLES: _variables,
    protocol.LIST_APPS: _list_apps,
    protocol.OPEN_APP: _open_app,
    protocol.CLOSE_APP: _close_app,
    protocol.LIST_FORWARDS: _list_forwards,
}

#: ``workspace/executeCommand`` ids for generic clients: one object argument, same handler.
COMMAND_HANDLERS: dict[str, Handler] = {
    protocol.COMMAND_RUN: _run_command,
    protocol.COMMAND_UPLOAD: _upload,
    protocol.COMMAND_INTERRUPT: _interrupt,
    protocol.COMMAND_RESTART: _restart,
}

#: The notifications the editor sends, and their handlers.
NOTIFICATION_HANDLERS: dict[str, NotificationHandler] = {
    protocol.TERMINAL_INPUT: _terminal_input,
    protocol.RESIZE_TERMINAL: _resize_terminal,
}


def register_handlers(server: RunbridgeServer) -> None:
    """Every handler above, and those of the LSP lifecycle, as features of ``server``."""

    @server.feature(types.INITIALIZED)
    def on_initialized(ls: RunbridgeServer, *_: Any) -> None:
        for problem in logs.problems:  # what went wrong at start: shown, not only logged
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: RunbridgeServer, *_: Any) -> None:
        ls.leaving = True
        if not ls.shared:  # a shared daemon keeps its sessions for the next editor
            await ls.aclose()

    @server.feature(types.EXIT)
    async def on_exit(ls: RunbridgeServer, *_: Any) -> None:
        if not ls.shared:
            await ls.aclose()

    for method, handler in REQUEST_HANDLERS.items():
        server.feature(method)(as_request(handler))
    for command, handler in COMMAND_HANDLERS.items():
        server.command(command)(as_command(command, handler))
    for method, notification in NOTIFICATION_HANDLERS.items():
        server.feature(method)(as_notification(notification))


def as_request(handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def request(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
        return await handler(ls, raw)

    request.__name__ = handler.__name__
    return mapped(request)


def as_command(command: str, handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def run_command(ls: RunbridgeServer, *args: Any) -> dict[str, Any]:
        if len(args) != 1:
            raise InvalidParams(
                f"{command} takes exactly one object argument, got {len(args)}",
                field="arguments",
            )
        return await handler(ls, args[0])

    return mapped(run_command)


def as_notification(handler: NotificationHandler) -> Callable[[RunbridgeServer, Any], None]:
    """Notifications have no reply: bad ones are logged (warning -> window/logMessage)."""

    def notification(ls: RunbridgeServer, raw: Any) -> None:
        try:
            handler(ls, raw)
        except RunbridgeError as exc:
            log.warning("%s", exc.message)

    notification.__name__ = handler.__name__
    return notification


# -- what the handlers share -------------------------------------------------------------


def _ending(task: asyncio.Future[Any], success: str) -> str:
    """The last message of a progress bar for ``task``."""
    if task.cancelled() or not task.done():
        return "cancelled"
    return "failed" if task.exception() is not None else success


def _current_task_cancelling() -> bool:
    """True when this handler itself is being cancelled ($/cancelRequest, shutdown)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def open_session(
    ls: RunbridgeServer,
    name: str,
    profile: str | None,
    image: str | None,
    env: dict[str, str] | None,
    token: str | int | None,
    *,
    options: SessionOptions | None = None,
    attach: str | None = None,
) -> SessionInfo:
    """Open or reuse a session, with ``$/progress`` while a new one starts."""
    if ls.manager.is_open(name):
        return await ls.manager.open(name, profile, image, env, options=options, attach=attach)
    progress = WorkDone(ls, token)
    title = f"Attaching session {name}" if attach is not None else f"Starting session {name}"
    await progress.begin(title, "starting", cancellable=True)
    task = asyncio.ensure_future(
        ls.manager.open(
            name, profile, image, env, on_status=progress.message, options=options, attach=attach
        )
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


async def queue_run(
    ls: RunbridgeServer, request: RunRequest, origin: RunOrigin | None, uri: str | None = None
) -> RunMark | None:
    """Check and queue a run, opening its session first when it is not open; the
    diagnostics on the lines it was sent from go (the mark is for ``run_ended`` of
    :class:`~runbridge.lsp.run_diagnostics.RunDiagnostics`), and the document ``uri``
    it was sent from is bound to its session unless bound explicitly."""
    ls.manager.enqueue(request)
    ls.started_run(request.run_id, request.session)
    if uri is not None:
        ls.documents.ran(uri, request.session)
    mark = ls.run_diagnostics.run_started(origin)
    if not ls.manager.is_open(request.session):
        await open_session(ls, request.session, request.profile, request.image, None, None)
    return mark


async def _run(ls: RunbridgeServer, raw: Any) -> RunResult:
    request = protocol.parse_run(raw, DEFAULT_SESSION)
    manager = ls.manager
    mark = await queue_run(ls, request, protocol.parse_run_origin(raw), protocol.run_uri(raw))
    task = asyncio.ensure_future(manager.run(request))
    task.add_done_callback(lambda _: ls.fanout.finished(request.run_id))
    try:
        result = await asyncio.shield(task)
        ls.run_diagnostics.run_ended(mark, request.code, result)
        return result
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
