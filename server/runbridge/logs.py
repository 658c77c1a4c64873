"""Logging: a file under the platformdirs log folder, never stdout.

Warnings and errors from runbridge's own loggers can also be forwarded to the
editor (``window/logMessage``) through :class:`ForwardHandler`. A redaction
filter masks the values of secret-looking environment variables and the secrets
of the profiles in use (any run of 6 or more of their characters) wherever they
would appear in a log line or its traceback.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from runbridge import paths, redaction

_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|ACCESS_KEY|API_KEY)", re.IGNORECASE)


def secret_values() -> list[str]:
    return [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 6]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every run of 6 or more characters of a secret masked
    (:func:`runbridge.redaction.mask`); by default the secrets are the secret-looking
    environment variables and the profiles' secrets in use."""
    if secrets is None:
        secrets = secret_values() + redaction.remembered()
    return redaction.mask(text, secrets)


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message, its traceback and its stack.

    The environment is read once; the profiles' secrets (:func:`redaction.remember`)
    on every record, since profiles are read after logging is set up.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets = secret_values()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets + redaction.remembered()
        if not secrets:
            return True
        record.msg, record.args = redact(record.getMessage(), secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


class ForwardHandler(logging.Handler):
    """Send runbridge's own warnings and errors to the editor."""

    def __init__(self, send: Callable[[int, str], None]) -> None:
        super().__init__(logging.WARNING)
        self._send = send
        self.addFilter(RedactFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("runbridge"):
            return
        try:
            self._send(record.levelno, record.getMessage())
        except Exception:
            self.handleError(record)


def log_file() -> Path:
    return paths.log_dir() / "daemon.log"


def setup(level: str = "INFO") -> Path:
    path = log_file()
    handler = RotatingFileHandler(path, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pygls logs every message body at INFO; keep it (and the HTTP stacks) quiet.
    for noisy in ("pygls", "httpx", "httpcore", "websockets", "traitlets", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
