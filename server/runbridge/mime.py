"""Jupyter MIME bundles to runbridge console records.

A console record is ``[kind, data]`` as the Backend.AI SDK shows it: ``stdout``
or ``stderr`` with text, or a MIME type with its content. Images are data URIs,
SVG, HTML and Markdown are text, JSON is serialised JSON text. A drawing's commands
are JSON text when the kernel gave a value that is not a string; the session's
output turns the record into SVG (:mod:`runbridge.drawing`).
"""

from __future__ import annotations

import json
from typing import Any

from runbridge import drawing
from runbridge.model import Display

#: A record telling the editor to clear the run's output ("data" is JSON: {"wait": bool}).
CLEAR_OUTPUT = "application/x-runbridge-clear-output"
DRAWING = drawing.KIND

#: Preferred representation first: one record is sent per bundle.
_PREFERENCE = (
    DRAWING,
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "text/html",
    "text/markdown",
    "text/latex",
    "application/json",
)
_DATA_URI = frozenset({"image/png", "image/jpeg", "image/gif"})


def _text(value: Any) -> str:
    if isinstance(value, list):  # nbformat allows multi-line strings as lists
        return "".join(str(part) for part in value)
    return str(value)


def record_from_bundle(bundle: dict[str, Any]) -> tuple[str, str] | None:
    """Pick the richest representation of a display bundle as one record.

    A bundle that only has ``text/plain`` becomes ``stdout`` text with a
    trailing newline, like a REPL echo. Unknown rich types fall back to
    ``text/plain``; an empty bundle gives None.
    """
    for mime in _PREFERENCE:
        if mime in bundle:
            return mime, _encode(mime, bundle[mime])
    for mime, value in bundle.items():
        if mime.startswith("image/") and mime in _DATA_URI:
            return mime, _encode(mime, value)
    if "text/plain" in bundle:
        text = _text(bundle["text/plain"])
        return "stdout", text if text.endswith("\n") else text + "\n"
    return None


def _encode(mime: str, value: Any) -> str:
    if mime in _DATA_URI:
        payload = _text(value).replace("\n", "")
        if payload.startswith("data:"):
            return payload
        return f"data:{mime};base64,{payload}"
    if mime == "application/json" or (mime == DRAWING and not isinstance(value, str)):
        return json.dumps(value)
    return _text(value)


def display_of(msg_type: str, content: dict[str, Any]) -> Display | None:
    """The display a ``display_data``/``update_display_data`` message belongs to, when
    the kernel gave it an id (``transient.display_id``)."""
    transient = content.get("transient")
    display_id = transient.get("display_id") if isinstance(transient, dict) else None
    if not isinstance(display_id, str) or not display_id:
        return None
    return Display(display_id, update=msg_type == "update_display_data")


def clear_record(wait: bool) -> tuple[str, str]:
    return CLEAR_OUTPUT, json.dumps({"wait": wait})
