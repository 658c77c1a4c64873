"""Terminal colour and cursor codes (ANSI CSI sequences) removed from text."""

from __future__ import annotations

import re

_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without its ANSI CSI sequences (colours, cursor moves)."""
    return _CSI.sub("", text)
