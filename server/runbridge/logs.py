"""Logging: a file under the platformdirs log folder, never stdout.

Warnings and errors from runbridge's own loggers can also be forwarded to the
editor (``window/logMessage``) through :class:`ForwardHandler`. A redaction
filter masks the values of secret-looking environment variables and the secrets
of the profiles in use (any run of 6 or more of their characters) wherever they
would appear in a log line or its traceback.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import tempfile
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
        record.msg, record.args = _bounded(record.getMessage(), secrets, MAX_MESSAGE_CHARS), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _bounded(record.exc_text, secrets, MAX_TRACEBACK_CHARS)
        if record.stack_info:
            record.stack_info = _bounded(record.stack_info, secrets, MAX_TRACEBACK_CHARS)
        return True


#: A log record's message and traceback are cut to these many characters: a 50 MB
#: request quoted in a message must not become a 50 MB log line.
MAX_MESSAGE_CHARS = 4000
MAX_TRACEBACK_CHARS = 20000


def _bounded(text: str, secrets: list[str], limit: int) -> str:
    """``text`` masked, then cut to ``limit`` characters (saying how long it was)."""
    if len(text) > limit:
        return f"{redaction.quote(text, secrets, limit)}... ({len(text)} characters)"
    return redaction.mask(text, secrets)


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


class _PrivateFileHandler(RotatingFileHandler):
    """The daemon's log: 0600, never opened through a link at its name."""

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        fd = paths.open_private(Path(self.baseFilename), flags)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


#: The log file in use (None: the log goes to stderr, see :data:`problems`).
_log_file: Path | None = None
#: What went wrong at start that the editor should hear of (shown once it connects).
problems: list[str] = []


def log_file() -> Path | None:
    return _log_file


def setup(level: str = "INFO") -> Path | None:
    """Log to ``daemon.log`` (0600, in a folder made 0700); to stderr when that cannot be
    written, with the reason in :data:`problems`. Returns the log file."""
    global _log_file
    path = paths.log_dir() / "daemon.log"
    handler: logging.Handler
    try:
        paths.own_folder(path.parent)
        handler = _PrivateFileHandler(
            path, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
        )
        _log_file = path
    except OSError as exc:
        handler = logging.StreamHandler(sys.stderr)
        _log_file = None
        problems.append(
            f"runbridge cannot write its log {path} ({exc.strerror or exc}); "
            "it logs to its stderr instead"
        )
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
    return _log_file


def check_state_folder() -> None:
    """At start: can transcripts be written? If not, say so in :data:`problems` (runs
    work all the same; their output is shown and not kept)."""
    folder = paths.transcripts_dir()
    try:
        paths.own_folder(folder)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        problems.append(
            f"runbridge cannot write transcripts in {folder} ({exc.strerror or exc}); "
            "output is shown but not kept"
        )
