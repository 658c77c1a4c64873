"""The code a language feature sends the kernel: the cell around the cursor, else the
cursor's line, and where the cursor is in it.

:func:`source_of` is the one place that knows where a document's text, cells and
session come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runbridge.cells import Cell, cell_at, code_end

if TYPE_CHECKING:
    from runbridge.lsp.language_server import RunbridgeServer


@dataclass(frozen=True)
class Source:
    """An open document as language features see it: its session, its lines (without
    line ends) and its cells."""

    session: str
    lines: Sequence[str]
    cells: Sequence[Cell]


def source_of(ls: RunbridgeServer, uri: str) -> Source | None:
    """Document ``uri`` of this connection (:mod:`runbridge.lsp.documents`), or None when
    it gets no language features (not open, or its language is not served)."""
    documents = ls.documents
    if not documents.served(uri):
        return None
    return Source(documents.session_for(uri), documents.lines(uri), documents.cells(uri))


@dataclass(frozen=True)
class Snippet:
    """``code`` sent to the kernel, its line 0 being document line ``first_line``;
    ``cursor`` a code-point offset into it, on code line ``cursor_line - first_line``,
    which spans ``code[line_start:line_end]``."""

    code: str
    first_line: int
    cursor: int
    cursor_line: int
    line_start: int
    line_end: int


def snippet_at(lines: Sequence[str], cells: Sequence[Cell], line: int, column: int) -> Snippet:
    """The code around document position (``line``, ``column`` in code points): the code
    lines of the cell holding it (through the cursor's line), else that line alone."""
    first = last = line
    index = cell_at(cells, line)
    if index is not None and cells[index].start <= line:
        cell = cells[index]
        first, last = cell.start, max(line, code_end(lines, cell) - 1)
    chosen = lines[first : last + 1]
    line_start = sum(len(text) + 1 for text in chosen[: line - first])
    column = min(column, len(lines[line]))
    return Snippet(
        code="\n".join(chosen),
        first_line=first,
        cursor=line_start + column,
        cursor_line=line,
        line_start=line_start,
        line_end=line_start + len(lines[line]),
    )
