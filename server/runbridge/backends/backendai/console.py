"""Backend.AI console records as runbridge console records.

An execute result's ``console`` is a list of ``[type, data]`` pairs (reference
§3.3, §7). runbridge forwards them unchanged except for the shapes its protocol
spells differently:

* ``["media", [mime, data]]`` → ``[mime, data]`` (data kept as sent: a data URI
  for binary types, text for SVG/XML; non-string data, such as a gitgraph's
  list of commits, becomes JSON text);
* ``["html", x]`` → ``["text/html", x]``;
* ``stdout`` / ``stderr`` unchanged;
* ``log`` records (``[level, ts, logger, message]``) become ``stderr`` lines;
* ``completion`` and malformed records are dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from runbridge.ansi import strip_ansi
from runbridge.model import UserError

_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def normalize_record(record: Any) -> tuple[str, str] | None:
    """One Backend.AI console item as ``(kind, data)``, or None when it is not shown."""
    if not isinstance(record, (list, tuple)) or len(record) != 2:
        return None
    kind, data = record
    if not isinstance(kind, str):
        return None
    if kind in ("stdout", "stderr"):
        return kind, _text(data)
    if kind == "media":
        if isinstance(data, (list, tuple)) and len(data) == 2 and isinstance(data[0], str):
            return data[0], _text(data[1])
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            return data["type"], _text(data.get("data", ""))
        return None
    if kind == "html":
        return "text/html", _text(data)
    if kind == "log":
        if isinstance(data, (list, tuple)) and len(data) == 4:
            level, ts, logger, message = data
            return "stderr", f"[{level} {ts} {logger}] {message}\n"
        return "stderr", _text(data) + "\n"
    if kind == "completion":
        return None
    if "/" in kind:  # already a MIME type
        return kind, _text(data)
    return None


def normalize_console(console: Iterable[Any] | None) -> list[tuple[str, str]]:
    """Every shown record of a ``console`` list, in order."""
    if not console:
        return []
    out: list[tuple[str, str]] = []
    for record in console:
        item = normalize_record(record)
        if item is not None:
            out.append(item)
    return out


def user_error_from_stderr(stderr: str) -> UserError | None:
    """A :class:`UserError` from a Python traceback printed on stderr, if there is one.

    Accepts the plain interpreter format (``Traceback (most recent call last):``) and
    IPython's (``ZeroDivisionError   Traceback (most recent call last)``); the
    exception is the last ``Name: value`` line. ANSI colours are removed.
    """
    plain = strip_ansi(stderr)
    marker = plain.rfind("Traceback (most recent call last)")
    if marker < 0:
        return None
    start = plain.rfind("\n", 0, marker) + 1
    lines = [line for line in plain[start:].splitlines() if line.strip()]
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line.strip())
        if match is not None and not line.startswith((" ", "-", "\t")):
            return UserError(ename=match.group(1), evalue=match.group(2) or "", traceback=lines)
    last = lines[-1].strip() if lines else ""
    return UserError(ename="Error", evalue=last, traceback=lines)
