"""One ``runbridge/run`` request, answered in the very step its run ends."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from runbridge import protocol
from runbridge.lsp.capabilities import DEFAULT_SESSION
from runbridge.lsp.handlers import queue_run
from runbridge.lsp.jsonrpc_errors import mapped
from runbridge.lsp.language_server import RunbridgeServer
from runbridge.lsp.pygls_adapter import MsgId
from runbridge.model import RunRequest

log = logging.getLogger(__name__)


class RunRequestTask:
    """The task that serves one ``runbridge/run`` request, and its cancellation.

    A generic handler answers a few loop iterations after its run ends (an inner
    task shielded from cancellation, the handler task's callbacks, then the
    writer's flush), and socket events handled in between (a Backend.AI manager
    closing a finished stream, another session's output) push the reply further
    back: for a short run that is a measurable share of the round trip. Here the
    run is awaited directly, and its reply is written and flushed at once, in one
    write with the run's last output and state change.

    ``$/cancelRequest`` (pygls calls :meth:`cancel`) abandons a session start,
    drops the run from its queue, or interrupts it (the run still ends and its
    output is kept); the request answers RequestCancelled (-32800). ``shutdown``
    (pygls cancels every request in flight) does the same, except on a shared
    daemon, whose runs outlive their editor.
    """

    def __init__(self, ls: RunbridgeServer, msg_id: MsgId, raw: Any) -> None:
        self._ls = ls
        self._msg_id = msg_id
        #: Set once the run is queued on an open session.
        self._request: RunRequest | None = None
        self._cancelled = False
        self._interrupt: asyncio.Task[None] | None = None
        self._task = asyncio.ensure_future(self._serve(raw))

    def done(self) -> bool:
        return self._task.done()

    def cancel(self) -> bool:
        if self._task.done() or self._cancelled:
            return False
        if self._ls.shared and self._ls.leaving:
            return False  # shutdown of a shared daemon's editor: the run goes on
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
        origin, uri = protocol.parse_run_origin(raw), protocol.run_uri(raw)
        mark = await queue_run(self._ls, request, origin, uri)
        self._request = request
        try:
            result = await self._ls.manager.run(request)
            self._ls.run_diagnostics.run_ended(mark, request.code, result)
            return result.to_wire()
        finally:
            self._ls.fanout.finished(request.run_id)

    async def _serve(self, raw: Any) -> None:
        proto = self._ls.protocol
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            result = await mapped(self._run)(raw)
        except asyncio.CancelledError:
            answer.cancel()
        except Exception as exc:  # a JsonRpcException (see mapped)
            answer.set_exception(exc)
        else:
            if self._cancelled:
                answer.cancel()
            else:
                answer.set_result(result)
        written = False
        if not answer.cancelled() and answer.exception() is None:
            proto.forget_request(self._msg_id)
            reply = {"jsonrpc": "2.0", "id": self._msg_id, "result": answer.result()}
            written = proto.write_framed(json.dumps(reply, ensure_ascii=False))
        if not written:  # pygls' own answer: RequestCancelled, the error, or no framing
            proto.answer(self._msg_id, answer)
        flush = getattr(proto.writer, "flush", None)
        if flush is not None:
            flush()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("interrupting a cancelled run failed: %s", exc)
