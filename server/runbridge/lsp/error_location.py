"""Where in the sent code a run's exception was raised, read from its plain-text traceback.

Frames of the sent code look like:

- ipykernel / IPython >= 8.5: ``Cell In[3], line 5`` (also ``, in f(a)``; a SyntaxError:
  ``  Cell In[4], line 2``)
- IPython 8.0 - 8.4: ``Input In [3], in <cell line: 1>()`` then ``----> 5 x / y``
- IPython < 8: ``<ipython-input-3-9e16...> in <module>`` then ``----> 5 x / y``; a
  SyntaxError: ``  File "<ipython-input-4-ab12...>", line 2``
- Backend.AI / plain Python: ``  File "<input>", line 5, in <module>`` (also ``<string>``,
  ``<stdin>``)

The sent code is the outermost such frame (the run's own cell); frames of earlier cells
(functions defined there) have another cell id and are ignored. Of the sent code's
frames, the last (innermost) one within the code's lines wins. Only the last chained
exception is read (``During handling of the above exception, ...``). A syntax error is
placed at the column its caret line points to; any other error covers its line from
the first non-blank character to the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbridge.model import UserError

_CELL = re.compile(r"\s*Cell In\[(\d*)\], line (\d+)")
_PSEUDO_FILE = re.compile(r'\s*File "(<(?:string|input|stdin)>)", line (\d+)')
_IPYTHON_INPUT_FILE = re.compile(r'\s*File "<ipython-input-(\d+)-[0-9a-f]+>", line (\d+)')
# Frame headers whose line number is on the following "---->" arrow line.
_IPYTHON_INPUT_HEADER = re.compile(r"<ipython-input-(\d+)-[0-9a-f]+> in ")
_INPUT_IN_HEADER = re.compile(r"Input In \[(\d*)\]")
_ARROW = re.compile(r"-+>\s*(\d+)")
#: A SyntaxError's caret line: under the offending code, shown indented by 4 spaces.
_CARETS = re.compile(r"(\s*)(\^+)\s*$")
_SHOWN_INDENT = 4
#: IPython 8.0 - 8.4 gave a SyntaxError's line only in the evalue: "invalid syntax (x.py, line 2)".
_EVALUE_LINE = re.compile(r"\(.*, line (\d+)\)$")
_SYNTAX_ERRORS = frozenset({"SyntaxError", "IndentationError", "TabError"})
_CHAIN_START = "Traceback (most recent call last)"
_LINE_BREAK = re.compile(r"\r?\n")


@dataclass(frozen=True)
class ErrorLocation:
    """A place in the sent code: 0-based line, and columns (code points) in that line."""

    line: int
    start: int
    end: int
    #: ``ename: evalue``
    message: str


@dataclass(frozen=True)
class _Frame:
    #: Which code the frame is in: a cell id, or the pseudo-file name.
    source: str
    #: 1-based line.
    line: int


def _frames(lines: list[str]) -> list[_Frame]:
    frames: list[_Frame] = []
    pending: str | None = None  # a header waiting for its arrow line
    for line in lines:
        if pending is not None and (m := _ARROW.match(line)):
            frames.append(_Frame(pending, int(m[1])))
            pending = None
            continue
        # Any unindented line other than an arrow ends the current frame's context lines.
        if not line[:1].isspace() and not line.startswith("-"):
            pending = None
        if m := _CELL.match(line):
            frames.append(_Frame(f"cell {m[1]}", int(m[2])))
        elif m := _PSEUDO_FILE.match(line):
            frames.append(_Frame(m[1], int(m[2])))
        elif m := _IPYTHON_INPUT_FILE.match(line):
            frames.append(_Frame(f"cell {m[1]}", int(m[2])))
        elif (m := _IPYTHON_INPUT_HEADER.match(line)) or (m := _INPUT_IN_HEADER.match(line)):
            pending = f"cell {m[1]}"
    return frames


def _last_chain(traceback: list[str]) -> list[str]:
    """The traceback's lines from the last ``Traceback (most recent call last)`` on."""
    # ipykernel sends one entry per frame, with embedded newlines; Backend.AI one per line.
    lines = [piece for entry in traceback for piece in _LINE_BREAK.split(entry)]
    starts = [i for i, line in enumerate(lines) if _CHAIN_START in line]
    return lines[starts[-1] :] if starts and starts[-1] > 0 else lines


def _error_line(error: UserError, lines: list[str], count: int) -> int | None:
    """The 1-based line of the sent code (``count`` lines) the error was raised at."""
    frames = _frames(lines)
    if frames:
        sent = frames[0].source
        mine = [f.line for f in frames if f.source == sent and 1 <= f.line <= count]
        return mine[-1] if mine else None
    if error.ename in _SYNTAX_ERRORS and (m := _EVALUE_LINE.search(error.evalue)):
        number = int(m[1])
        return number if 1 <= number <= count else None
    return None


def _leading_blanks(text: str) -> int:
    return len(text) - len(text.lstrip())


def _caret_columns(lines: list[str], code_line: str) -> tuple[int, int] | None:
    """A syntax error's columns in ``code_line``, from the traceback's last caret line
    (Python and IPython print the stripped code line, then carets under it)."""
    for i in range(len(lines) - 1, 0, -1):
        if not (m := _CARETS.match(lines[i])):
            continue
        shown = lines[i - 1]
        if shown.strip() != code_line.strip() or not code_line.strip():
            return None  # the carets are under some other code
        # the code is shown after 4 spaces, without (IPython) or with (Python: tabs) its
        # indentation; the carets' indent counts from the start of the shown line
        shown_text = shown[_SHOWN_INDENT:]
        caret = len(m[1]) - _SHOWN_INDENT - _leading_blanks(shown_text)
        start = min(max(_leading_blanks(code_line) + caret, 0), len(code_line))
        return start, min(start + len(m[2]), len(code_line))
    return None


def locate_error(error: UserError, code: str) -> ErrorLocation | None:
    """Where ``error`` was raised in ``code`` (the sent code), or None when the traceback
    names no line of it (the error came from elsewhere, or the format is unknown)."""
    code_lines = code.split("\n")
    lines = _last_chain(error.traceback)
    number = _error_line(error, lines, len(code_lines))
    if number is None:
        return None
    text = code_lines[number - 1].rstrip("\r")
    message = f"{error.ename}: {error.evalue}"
    columns = _caret_columns(lines, text) if error.ename in _SYNTAX_ERRORS else None
    if columns is None:
        start = _leading_blanks(text)
        columns = (start if start < len(text) else 0, len(text))
    return ErrorLocation(number - 1, columns[0], columns[1], message)
