"""The daemon's JSON-RPC surface: :func:`create_server` makes a pygls server for one
editor connection, whose :class:`RunbridgeProtocol` takes each checked message from
:mod:`runbridge.lsp.wire`.

Before pygls sees a request, duplicate ids and requests after ``shutdown`` are
refused; params that do not fit a method's types are answered -32602. The
handlers are in :mod:`runbridge.lsp.handlers`, ``runbridge/run`` is a
:class:`~runbridge.lsp.run_request.RunRequestTask`, and every error reply is
tidied by :func:`runbridge.lsp.jsonrpc_errors.tidy`.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from runbridge import protocol
from runbridge.errors import quote
from runbridge.lsp import jsonrpc_errors, language_features, wire
from runbridge.lsp.capabilities import experimental_capabilities
from runbridge.lsp.cell_handlers import CELL_REQUEST_HANDLERS, register_cell_handlers
from runbridge.lsp.fanout import Fanout
from runbridge.lsp.handlers import REQUEST_HANDLERS, register_handlers
from runbridge.lsp.language_server import RunbridgeServer
from runbridge.lsp.pygls_adapter import AdaptedProtocol, InFlight, MsgId, Unreadable
from runbridge.lsp.run_request import RunRequestTask
from runbridge.sessions.manager import SessionManager

log = logging.getLogger(__name__)


class RunbridgeProtocol(AdaptedProtocol):
    # runbridge's own messages keep their params as plain JSON
    raw_requests = frozenset(
        {*REQUEST_HANDLERS, *CELL_REQUEST_HANDLERS, *language_features.METHODS, protocol.INPUT}
    )
    raw_notifications = frozenset(
        {
            protocol.TERMINAL_INPUT, protocol.RESIZE_TERMINAL, protocol.OUTPUT,
            protocol.SESSION_CHANGED, protocol.TERMINAL_OUTPUT, protocol.TERMINAL_EXIT,
            protocol.DOCUMENT_BOUND,
        }
    )  # fmt: skip
    raw_responses = frozenset({protocol.INPUT})

    @property
    def ls(self) -> RunbridgeServer:
        server = self.language_server
        assert isinstance(server, RunbridgeServer)
        return server

    # -- the wire's entry point (see runbridge.lsp.wire) ---------------------------------
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
            if self.shutting_down and method != types.EXIT:
                log.info("ignored %s: the daemon is shutting down", method)
                return
            if method == types.CANCEL_REQUEST and not _cancel_params_ok(checked.data):
                log.warning("ignored $/cancelRequest: its params need an integer or string id")
                return
        try:
            self.deliver(checked.data)
        except Unreadable as exc:
            self._unreadable(checked, exc.__cause__ or exc)
        except Exception:
            log.exception("internal error handling %s", method or "a response")
            if kind == "request":
                internal = jsonrpc_errors.INTERNAL_ERROR_MESSAGE
                self.send_json(wire.error_reply(msg_id, wire.INTERNAL_ERROR, internal))

    def _refusal(self, method: str, msg_id: Any) -> str | None:
        """Why request ``msg_id`` is refused before it is handled, or None."""
        if self.id_in_use(msg_id):
            return f"request id {quote(str(msg_id))} is already in use by a request in progress"
        if self.shutting_down and method != types.EXIT:
            return "the daemon is shutting down: only 'exit' is accepted now"
        return None

    def _unreadable(self, checked: wire.Checked, cause: BaseException) -> None:
        """A message pygls could not read (its params do not fit the method's types)."""
        log.warning(
            "could not read the %s %s: %s",
            checked.kind,
            checked.method or quote(str(checked.msg_id)),
            quote(f"{type(cause).__name__}: {cause}", 300),
        )
        if checked.kind == "request":
            message = f"invalid params for {quote(checked.method)}: they do not fit its types"
            self.send_json(wire.error_reply(checked.msg_id, wire.INVALID_PARAMS, message))
        elif checked.kind == "response" and checked.msg_id is not None:
            # a request of ours waits for it: it failed
            failed = JsonRpcException(message="the editor's answer could not be read")
            self.fail_request(checked.msg_id, failed)

    # -- the adapter's hooks ------------------------------------------------------------
    def tidy_error(self, error: types.ResponseError) -> None:
        jsonrpc_errors.tidy(error)

    def take_request(self, msg_id: MsgId, method: str, params: Any) -> InFlight | None:
        if method == protocol.RUN:
            return RunRequestTask(self.ls, msg_id, params)
        return None

    def before_initialize(self, params: types.InitializeParams) -> None:
        self.ls.configure(params.initialization_options)

    def document_opened(self, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        self.ls.documents.open(doc.uri, doc.language_id, doc.version, doc.text)

    def document_changed(self, params: types.DidChangeTextDocumentParams) -> None:
        doc = params.text_document
        self.ls.documents.change(doc.uri, doc.version, params.content_changes)

    def document_closed(self, params: types.DidCloseTextDocumentParams) -> None:
        self.ls.documents.close(params.text_document.uri)

    def experimental_capabilities(self) -> Any:
        return experimental_capabilities(self.ls.settings)

    def exit_ends_process(self) -> bool:
        # A shared daemon: this editor leaves; the daemon and its sessions stay.
        return not self.ls.shared

    def connection_exited(self) -> None:
        self.ls.detached.set()


def _cancel_params_ok(data: dict[str, Any]) -> bool:
    params = data.get("params")
    return isinstance(params, dict) and wire.valid_id(params.get("id"))


def create_server(
    manager: SessionManager | None = None, fanout: Fanout | None = None
) -> RunbridgeServer:
    """A server; ``manager`` and ``fanout``: the session host's (see :mod:`runbridge.lsp.host`)."""
    server = RunbridgeServer(manager, fanout, protocol_cls=RunbridgeProtocol)
    register_handlers(server)
    register_cell_handlers(server)
    language_features.register_language_features(server)
    return server
