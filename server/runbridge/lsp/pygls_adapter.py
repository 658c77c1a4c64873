"""The one place that touches pygls' internals.

runbridge uses pygls through its public API (``LanguageServer.feature``/``command``,
``notify``, ``send_request_async``, ``handle_message``, ``set_writer``, the
progress object). A few things it needs have no public form; they are here, as
the public methods and hooks of :class:`AdaptedProtocol`, and
``tests/unit/test_pygls_adapter.py`` checks each member they rely on against the
installed pygls, so an upgrade that changes one fails that test by name (the
pygls range in ``pyproject.toml`` is the one it passed with):

- params kept verbatim: pygls turns unknown params into namedtuples (renaming
  keys such as ``MY-VAR``, dropping one named ``type_name``); the methods named in
  ``raw_requests``/``raw_notifications``/``raw_responses`` get plain JSON.
- a request without ``params`` gets ``params: None`` (pygls would never answer it).
- the in-flight bookkeeping: whether an id is in use, failing a request of ours
  whose answer cannot be read, the shutdown flag.
- requests answered early: :meth:`AdaptedProtocol.take_request` lets a request be
  served by an object of runbridge's (``$/cancelRequest`` and ``shutdown`` reach
  its ``cancel``), answered by :meth:`AdaptedProtocol.answer` or written directly.
- every error reply passes :meth:`AdaptedProtocol.tidy_error` first.
- a message that is already JSON text is framed and written as it is.
- ``initialize`` and ``exit``: hooks to add capabilities and to keep the process
  when an editor of a shared daemon leaves.
- text document sync: ``didOpen``/``didChange``/``didClose`` go to hooks, not to
  pygls' workspace, whose incremental change rebuilds the whole text each time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from typing import Any, ClassVar, Protocol

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from runbridge.lsp import wire

MsgId = int | str


@attrs.define
class RawRequest:
    """A request whose params stay plain JSON."""

    id: MsgId
    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class RawNotification:
    """A notification whose params stay plain JSON."""

    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class RawResponse:
    """A response whose result stays plain JSON."""

    id: MsgId | None
    jsonrpc: str
    result: Any = None


class Unreadable(Exception):
    """pygls could not read a message (its params do not fit the method's types);
    ``__cause__`` is the reason (the type error, not pygls' wrapper of it)."""


class InFlight(Protocol):
    """A request served outside pygls' handlers (see :meth:`AdaptedProtocol.take_request`)."""

    def cancel(self) -> bool:
        """``$/cancelRequest`` or ``shutdown``: True when the request is being cancelled."""

    def done(self) -> bool: ...


class AdaptedProtocol(LanguageServerProtocol):
    """A pygls ``LanguageServerProtocol`` with the few extra operations runbridge needs."""

    #: Methods whose params (and, for responses, results) stay plain JSON.
    raw_requests: ClassVar[frozenset[str]] = frozenset()
    raw_notifications: ClassVar[frozenset[str]] = frozenset()
    raw_responses: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, server: LanguageServer, converter: Any) -> None:
        #: The server this protocol belongs to (pygls makes the protocol with it).
        self.language_server = server
        super().__init__(server, converter)

    # -- messages in ------------------------------------------------------------------
    def deliver(self, data: dict[str, Any]) -> None:
        """Hand one JSON-RPC message (a dict) to pygls; :class:`Unreadable` when pygls
        cannot read it (nothing was handled then)."""
        if "jsonrpc" in data and "method" in data and "params" not in data:
            data = {**data, "params": None}  # JSON-RPC allows it; pygls would never answer
        try:
            message = self.structure_message(data)
        except Exception as exc:
            raise Unreadable(str(exc)) from (exc.__cause__ or exc)
        self.handle_message(message)

    def get_message_type(self, method: str) -> Any:  # type: ignore[override]
        if method in self.raw_requests:
            return RawRequest
        if method in self.raw_notifications:
            return RawNotification
        return super().get_message_type(method)

    def get_result_type(self, method: str) -> Any:  # type: ignore[override]
        if method in self.raw_responses:
            return RawResponse
        return super().get_result_type(method)

    # -- bookkeeping -------------------------------------------------------------------
    @property
    def shutting_down(self) -> bool:
        """True once ``shutdown`` was answered: pygls then drops every message but ``exit``."""
        return bool(self._shutdown)

    def id_in_use(self, msg_id: MsgId) -> bool:
        """True while a request with this id (the editor's or ours) waits for its answer."""
        return msg_id in self._request_futures

    def fail_request(self, msg_id: MsgId, exc: BaseException) -> bool:
        """End a request of ours that waits for an answer with ``exc`` (its answer could
        not be read, or the editor left); False when no such request waits."""
        future = self._request_futures.pop(msg_id, None)
        self._result_types.pop(msg_id, None)
        if future is None or future.done():
            return False
        future.set_exception(exc)
        return True

    # -- requests answered early --------------------------------------------------------
    def take_request(self, msg_id: MsgId, method: str, params: Any) -> InFlight | None:
        """Hook: serve this request outside pygls' handlers and return the object that
        serves it; None lets pygls handle it. Called with pygls' current-request id set,
        so tasks made here see it as ``msg_id``."""
        return None

    def _handle_request(self, msg_id: MsgId, method_name: str, params: Any) -> None:
        self._ctx_msg_id.set(msg_id)
        taken = self.take_request(msg_id, method_name, params)
        if taken is None:
            super()._handle_request(msg_id, method_name, params)
            return
        # where pygls' $/cancelRequest (and shutdown) look for a request to cancel
        self._request_futures[msg_id] = taken  # type: ignore[assignment]

    def forget_request(self, msg_id: MsgId) -> None:
        """A taken request was answered by runbridge itself: its id is free again."""
        self._request_futures.pop(msg_id, None)

    def answer(self, msg_id: MsgId, outcome: asyncio.Future[Any]) -> None:
        """pygls' own answer to request ``msg_id`` for a finished ``outcome``: its result,
        its error, or RequestCancelled when it was cancelled. Frees the id."""
        self._send_handler_result(outcome, msg_id=msg_id)  # type: ignore[arg-type]

    # -- messages out ------------------------------------------------------------------
    def tidy_error(self, error: types.ResponseError) -> None:
        """Hook: change an error reply in place before it is sent (every error reply
        pygls sends passes here)."""

    def _send_response(
        self, msg_id: Any, result: Any = None, error: types.ResponseError | None = None
    ) -> None:
        if error is not None:
            self.tidy_error(error)
        super()._send_response(msg_id, result, error)

    def write_framed(self, text: str) -> bool:
        """Frame and write a message that is already JSON text, skipping pygls' object
        round trip (the hot paths); False when the writer is not a framed one."""
        writer = self.writer
        if writer is None or not self._include_headers:
            return False
        writer.write(wire.framed(text.encode("utf-8", "replace")))
        return True

    def send_object(self, message: dict[str, Any]) -> None:
        """Send a JSON-RPC message given as a dict, through pygls."""
        self._send_data(message)

    def send_json(self, text: str) -> None:
        """Send a message that is already JSON text."""
        if not self.write_framed(text):
            self.send_object(json.loads(text))

    # -- initialize and exit -------------------------------------------------------------
    def before_initialize(self, params: types.InitializeParams) -> None:
        """Hook: called with ``initialize``'s params before pygls handles them."""

    def experimental_capabilities(self) -> Any:
        """Hook: the ``capabilities.experimental`` of the ``initialize`` answer."""
        return None

    def exit_ends_process(self) -> bool:
        """Hook: True (pygls' way) when ``exit`` ends the process; False when it ends
        only this connection (then :meth:`connection_exited` is called)."""
        return True

    def connection_exited(self) -> None:
        """Hook: ``exit`` ended this connection (see :meth:`exit_ends_process`)."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        self.before_initialize(params)
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        result.capabilities.experimental = self.experimental_capabilities()
        return result

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        if self.exit_ends_process():
            yield from super().lsp_exit(*args)
            return
        # First: a shutdown still finishing (its reply not sent yet) cancels the futures
        # of other messages when it ends, this exit's continuation among them.
        self.connection_exited()
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None

    # -- text documents ------------------------------------------------------------------
    def document_opened(self, params: types.DidOpenTextDocumentParams) -> None:
        """Hook: ``textDocument/didOpen``."""

    def document_changed(self, params: types.DidChangeTextDocumentParams) -> None:
        """Hook: ``textDocument/didChange``."""

    def document_closed(self, params: types.DidCloseTextDocumentParams) -> None:
        """Hook: ``textDocument/didClose``."""

    def _user_feature(self, method: str, params: Any) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(method)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        self.document_opened(params)
        yield from self._user_feature(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        self.document_changed(params)
        yield from self._user_feature(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        self.document_closed(params)
        yield from self._user_feature(types.TEXT_DOCUMENT_DID_CLOSE, params)
