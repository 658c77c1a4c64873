"""The pygls ``LanguageServer`` of one editor connection: its settings, its session
manager (a shared daemon's outlives the connection) and the editor's events."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cattrs import Converter
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import default_converter

from runbridge import __version__, logs, protocol
from runbridge.config import Settings, load_settings
from runbridge.errors import quote
from runbridge.lsp import jsonrpc_errors, wire
from runbridge.lsp.documents import Documents
from runbridge.lsp.editor_events import LspEvents
from runbridge.lsp.fanout import Client, Fanout
from runbridge.lsp.pygls_adapter import AdaptedProtocol
from runbridge.lsp.run_diagnostics import RunDiagnostics
from runbridge.sessions.manager import Events, SessionManager

log = logging.getLogger(__name__)
T = TypeVar("T")


@functools.cache
def _converter() -> Converter:
    """One converter for every connection: it builds its (un)structuring code lazily, per
    type, which makes a new connection's first messages slow if each had its own."""
    converter: Converter = default_converter()  # type: ignore[no-untyped-call]
    return converter


class RunbridgeServer(LanguageServer):
    protocol: AdaptedProtocol

    def __init__(
        self,
        manager: SessionManager | None = None,
        fanout: Fanout | None = None,
        *,
        protocol_cls: type[AdaptedProtocol],
    ) -> None:
        """``manager`` and ``fanout``: the sessions of the session host and its events,
        which outlive this connection (``shutdown`` and ``exit`` then end the
        connection, not the sessions). Without them, this connection owns its sessions."""
        super().__init__(
            "runbridge", __version__, protocol_cls=protocol_cls, converter_factory=_converter
        )
        jsonrpc_errors.quiet_expected_errors()
        self.settings: Settings = load_settings()
        self.shared = manager is not None
        self._manager: SessionManager | None = manager
        self._events = LspEvents(self.protocol)
        self.fanout = fanout if fanout is not None else Fanout()
        #: This connection as the fan-out of the manager's events knows it.
        self.client = Client(self._events, "an editor")
        self.fanout.add(self.client)
        #: The diagnostics of the runs this connection started.
        self.run_diagnostics = RunDiagnostics(self._publish_diagnostics, self._position_encoding)
        #: The documents the editor opened, and the session each is bound to.
        self.documents = Documents(lambda: self.settings, self._position_encoding, self._bound)
        #: Set when a shared daemon's client sent ``exit`` (or ``runbridge/stopDaemon``).
        self.detached = asyncio.Event()
        self.stop_daemon_requested = False
        #: Sessions whose "no completion here" note this editor was shown.
        self.language_notes_shown: set[str] = set()
        #: Set by ``shutdown``: the editor of this connection is leaving.
        self.leaving = False

    @property
    def wire_protocol(self) -> wire.Receiver:
        """This server's protocol, as the read loop of :mod:`runbridge.lsp.wire` uses it."""
        proto = self.protocol
        assert isinstance(proto, wire.Receiver)
        return proto

    @property
    def manager(self) -> SessionManager:
        if self._manager is None:
            self._manager = SessionManager(self.settings, self.fanout)
        return self._manager

    @property
    def events(self) -> Events:
        return self.fanout

    # -- what this connection follows ----------------------------------------------
    def follow(self, session: str, follow: bool = True) -> None:
        """Send (or stop sending) this connection the output of ``session``'s runs."""
        if follow:
            self.client.follows.add(session)
        else:
            self.client.follows.discard(session)

    def started_run(self, run_id: str, session: str) -> None:
        self.fanout.started(self.client, run_id, session)

    def structure(self, data: Any, kind: type[T]) -> T:
        """``data`` (plain JSON) as the lsprotocol type ``kind``, with the connections'
        converter."""
        value: T = _converter().structure(data, kind)
        return value

    def _publish_diagnostics(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        if self.client not in self.fanout.clients:
            return  # this connection is gone (a host's run outlived its editor)
        params = types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        self.text_document_publish_diagnostics(params)

    def _bound(self, uri: str, session: str) -> None:
        if self.client not in self.fanout.clients:
            return  # this connection is gone
        self.protocol.notify(protocol.DOCUMENT_BOUND, {"uri": uri, "session": session})

    def _position_encoding(self) -> str:
        """The position encoding agreed on at ``initialize`` (UTF-16 before it)."""
        try:
            encoding = self.workspace.position_encoding
        except RuntimeError:  # not initialized
            return types.PositionEncodingKind.Utf16
        return str(encoding or types.PositionEncodingKind.Utf16)

    def configure(self, init_options: Any) -> None:
        if self._manager is not None and init_options is None:
            # The session host's settings are every connection's: a client that sends
            # no initializationOptions (a `runbridge` command) leaves them as they are.
            self.settings = self._manager.settings
            return
        self.settings = load_settings(init_options)
        if self._manager is not None:
            self._manager.settings = self.settings
        for warning in self.settings.warnings:
            log.warning("configuration: %s", warning)

    async def aclose(self) -> None:
        if self._manager is not None:
            await self._manager.aclose()

    def connection_closed(self) -> None:
        """The editor is gone: what waits for its answers ends now."""
        self.fanout.remove(self.client)
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
        request, if any, was answered with an error already). A runbridge error answered
        to a request is not one: its reply was the answer (and the log has its line)."""
        if jsonrpc_errors.is_answer(error):
            return
        log.warning("%s", quote(f"{type(error).__name__}: {error}", 500))
