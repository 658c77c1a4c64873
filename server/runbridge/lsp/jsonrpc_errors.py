"""The one mapping of runbridge errors to JSON-RPC errors, and the shape of every error
reply: no traceback, messages and data cut to a bounded size."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from runbridge import logs
from runbridge.errors import RunbridgeError, quote
from runbridge.lsp import wire

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The longest error message sent on the wire (longer ones are cut).
MAX_ERROR_MESSAGE = 1000
#: The longest string in an error's ``data`` (a name, a path): longer ones are cut.
MAX_DATA_CHARS = 300
INTERNAL_ERROR_MESSAGE = "internal error (see the daemon log)"


def to_jsonrpc(exc: RunbridgeError) -> JsonRpcException:
    data: dict[str, Any] = {"kind": exc.kind}
    for key, value in exc.data.items():
        if isinstance(value, str):
            data[key] = value if len(value) <= MAX_DATA_CHARS else value[:MAX_DATA_CHARS] + "..."
        elif isinstance(value, int):
            data[key] = value
    return JsonRpcException(message=exc.message, code=exc.code, data=data)


def mapped(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
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


def tidy(error: types.ResponseError) -> None:
    """An error reply made fit for the wire, in place: a traceback (pygls puts one in the
    data of the errors it makes itself) is dropped, and an internal error then says only
    to see the daemon log; a long message is cut."""
    message = str(error.message)
    if isinstance(error.data, dict) and "traceback" in error.data:
        error.data = None
        if error.code == wire.INTERNAL_ERROR:
            message = INTERNAL_ERROR_MESSAGE
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[:MAX_ERROR_MESSAGE] + "..."
    error.message = message


def is_answer(exc: BaseException | None) -> bool:
    """Whether ``exc`` is an error reply the editor asked for (bad params, an unknown
    session, ...), not an internal error."""
    return isinstance(exc, JsonRpcException) and exc.code != wire.INTERNAL_ERROR


class _ExpectedErrors(logging.Filter):
    """pygls logs every error reply of a request handler as an ERROR with its traceback;
    a runbridge error (bad params, an unknown session, ...) is the answer the editor
    asked for, not a fault of the daemon: it becomes one INFO line naming the request,
    the code and the message. Internal errors stay as they are (logged by :func:`mapped`
    with their traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if is_answer(exc) and str(record.msg).startswith("Exception occurred for message"):
            assert isinstance(exc, JsonRpcException)
            record.levelno, record.levelname = logging.INFO, "INFO"
            args = record.args if isinstance(record.args, tuple) else ()
            record.msg = "request %s answered with error %s: %s"
            record.args = (
                quote(str(args[0] if args else "?")),
                exc.code,
                quote(str(exc.message), 200),
            )
            record.exc_info = record.exc_text = None
        return True


_EXPECTED_ERRORS = _ExpectedErrors()


def quiet_expected_errors() -> None:
    """Log the error replies of runbridge's errors as INFO lines (idempotent)."""
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_EXPECTED_ERRORS)
