"""The session manager's events (:class:`~runbridge.sessions.manager.Events`), sent to
the editor over JSON-RPC: output, state changes, terminal output and exit, input prompts."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from pygls.exceptions import JsonRpcException

from runbridge import protocol
from runbridge.lsp.bounded_writer import BoundedWriter
from runbridge.lsp.pygls_adapter import AdaptedProtocol
from runbridge.sessions.output import OutputBatch

log = logging.getLogger(__name__)


class ClientGone(ConnectionError):
    """The connection was closed before it answered."""


class LspEvents:
    """The manager's events for the editor at the other end of ``proto``."""

    def __init__(self, proto: AdaptedProtocol) -> None:
        self._proto = proto
        #: Ids of the input requests sent and not answered yet.
        self._asking: set[str] = set()
        #: Set when the connection has ended.
        self.closed = False

    def _notify_json(self, method: str, params_json: str, params: Callable[[], Any]) -> None:
        """Frame and write a notification whose params are already JSON text.

        The hot paths (output under a flood, state changes around every run) skip pygls'
        object round trip; ``params`` builds the object form when no framed writer exists.
        """
        message = f'{{"jsonrpc":"2.0","method":"{method}","params":{params_json}}}'
        if not self._proto.write_framed(message):
            self._proto.notify(method, params())

    def output(self, batch: OutputBatch) -> None:
        writer = self._proto.writer
        if isinstance(writer, BoundedWriter) and not writer.takes_output():
            writer.drop(batch.session, batch.run_id, batch.seq)  # it can fetch the history
            return
        # The console is already JSON (encoded once, in RunOutput).
        self._notify_json(protocol.OUTPUT, batch.params_json(), batch.to_params)

    def session_changed(self, info: dict[str, Any]) -> None:
        params = {"session": info}
        self._notify_json(protocol.SESSION_CHANGED, json.dumps(params), lambda: params)

    def terminal_output(self, terminal_id: str, data: str) -> None:
        self._proto.notify(protocol.TERMINAL_OUTPUT, {"terminalId": terminal_id, "data": data})

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        self._proto.notify(
            protocol.TERMINAL_EXIT, {"terminalId": terminal_id, "exitCode": exit_code}
        )

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        """The editor's answer; None (the run is interrupted) when it cancels, answers
        with an error, or goes away before it answers."""
        try:
            return await self.ask(params)
        except ClientGone:
            return None

    async def ask(self, params: dict[str, Any]) -> str | None:
        """The editor's answer, None when it cancels or answers with an error;
        :class:`ClientGone` when the connection ends before it answers."""
        msg_id = f"runbridge-input-{uuid.uuid4().hex}"
        if self.closed:
            raise ClientGone("the editor has left")
        self._asking.add(msg_id)
        try:
            result = await self._proto.send_request_async(protocol.INPUT, params, msg_id=msg_id)
        except ClientGone:
            raise
        except (JsonRpcException, ConnectionError) as exc:
            log.info("input request %s ended without an answer: %s", msg_id, exc)
            if self.closed:
                raise ClientGone("the editor left before answering") from None
            return None
        finally:
            self._asking.discard(msg_id)
        if isinstance(result, dict):
            value = result.get("value")
            return value if isinstance(value, str) else None
        return None

    def connection_closed(self) -> None:
        """The editor is gone: its unanswered input prompts end (their runs are interrupted)."""
        self.closed = True
        for msg_id in list(self._asking):
            self._proto.fail_request(msg_id, ClientGone("the editor left before answering"))
