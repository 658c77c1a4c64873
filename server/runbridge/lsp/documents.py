"""The documents of one editor connection: their text, kept in sync incrementally, their
cells, and the session each is bound to.

pygls' own document store rebuilds a document's whole text on every incremental
change (a Python loop over its lines); here a document is a list of lines and a
change replaces only the lines it touches, so a keystroke costs the same in a
10,000-line document as in a short one. Cells are found again only when asked for,
once per change (cached by an edit counter).

A document's session: the one ``runbridge/bindDocument`` named, else the session of
the last run this connection sent with its uri, else ``"default"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lsprotocol import types

from runbridge.cells import Cell, compile_marker, find_cells, marker_for
from runbridge.config import Settings
from runbridge.lsp.capabilities import DEFAULT_SESSION

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: ``(uri, session)``: tell the editor the document's session (``runbridge/documentBound``).
NotifyBound = Callable[[str, str], None]


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their ends (LSP's: ``\\r\\n``, ``\\r`` or ``\\n``)."""
    return _LINE_BREAK.split(text)


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in a position encoding (``utf-8``, ``utf-16``, ``utf-32``)."""
    if encoding == types.PositionEncodingKind.Utf32 or text.isascii():
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def index_of(text: str, character: int, encoding: str) -> int:
    """The code-point index in ``text`` of an LSP ``character`` in ``encoding``
    (clamped to the line; inside a character: the character's start)."""
    if encoding == types.PositionEncodingKind.Utf32 or text.isascii():
        return min(character, len(text))
    if encoding == types.PositionEncodingKind.Utf8:
        data = text.encode("utf-8", "surrogatepass")[:character]
        return len(data.decode("utf-8", "ignore"))
    count = 0
    for i, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > character:
            return i
    return len(text)


def _point(lines: list[str], position: types.Position, encoding: str) -> tuple[int, int]:
    """``(line, code-point index)`` of a position; past the last line: the document's end."""
    last = len(lines) - 1
    if position.line > last:
        return last, len(lines[last])
    line = lines[position.line]
    return position.line, index_of(line, position.character, encoding)


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    lines: list[str]
    #: Counts the changes made here: the cells' cache key (client versions may repeat).
    edits: int = 0
    cells: list[Cell] | None = field(default=None, repr=False)
    cells_at: int = -1


class Documents:
    """The open documents of one connection and the sessions documents are bound to."""

    def __init__(
        self, settings: Callable[[], Settings], encoding: Callable[[], str], bound: NotifyBound
    ) -> None:
        self._settings = settings
        self._encoding = encoding
        self._notify_bound = bound
        self._open: dict[str, Document] = {}
        self._bound: dict[str, str] = {}
        self._last_run: dict[str, str] = {}
        self._markers: dict[str, re.Pattern[str]] = {}

    # -- sync --------------------------------------------------------------------------
    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        self._open[uri] = Document(uri, language_id, version, split_lines(text))
        if self.served(uri):
            self._notify_bound(uri, self.session_for(uri))

    def change(
        self, uri: str, version: int, changes: Sequence[types.TextDocumentContentChangeEvent]
    ) -> None:
        document = self._open.get(uri)
        if document is None:
            return
        for change in changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                self._replace(document, change.range, change.text)
            else:
                document.lines = split_lines(change.text)
        document.version = version
        document.edits += 1

    def close(self, uri: str) -> None:
        self._open.pop(uri, None)

    def _replace(self, document: Document, where: types.Range, text: str) -> None:
        lines, encoding = document.lines, self._encoding()
        start_line, start = _point(lines, where.start, encoding)
        end_line, end = _point(lines, where.end, encoding)
        head, rest = lines[start_line][:start], lines[end_line][end:]
        if "\n" not in text and "\r" not in text:
            new = [head + text + rest]
        else:
            new = split_lines(head + text + rest)
        if start_line == end_line and len(new) == 1:
            lines[start_line] = new[0]  # a keystroke: no list surgery at all
        else:
            lines[start_line : end_line + 1] = new

    # -- what the features read -----------------------------------------------------------
    def is_open(self, uri: str) -> bool:
        return uri in self._open

    def served(self, uri: str) -> bool:
        """Open, and its languageId is one of the ``languages`` setting."""
        document = self._open.get(uri)
        return document is not None and document.language_id in self._settings().languages

    def language_id(self, uri: str) -> str | None:
        document = self._open.get(uri)
        return None if document is None else document.language_id

    def version(self, uri: str) -> int | None:
        document = self._open.get(uri)
        return None if document is None else document.version

    def lines(self, uri: str) -> Sequence[str]:
        """The document's lines, without their ends ([] when it is not open)."""
        document = self._open.get(uri)
        return () if document is None else document.lines

    def text(self, uri: str) -> str:
        return "\n".join(self.lines(uri))

    def marker(self, uri: str) -> re.Pattern[str] | None:
        """The cell marker of the document's language (None when it is not open)."""
        document = self._open.get(uri)
        if document is None:
            return None
        pattern = marker_for(document.language_id, self._settings().cell_markers)
        compiled = self._markers.get(pattern)
        if compiled is None:
            compiled = self._markers[pattern] = compile_marker(pattern)
        return compiled

    def cells(self, uri: str) -> list[Cell]:
        """The document's cells ([] when it is not served), found once per change."""
        document = self._open.get(uri)
        if document is None or not self.served(uri):
            return []
        if document.cells is None or document.cells_at != document.edits:
            marker = self.marker(uri)
            assert marker is not None
            document.cells = find_cells(document.lines, marker)
            document.cells_at = document.edits
        return document.cells

    def index_of(self, uri: str, position: types.Position) -> tuple[int, int]:
        """``(line, code-point index)`` of an LSP position in the document (clamped)."""
        lines = self.lines(uri)
        if not lines:
            return 0, 0
        line = min(position.line, len(lines) - 1)
        return line, index_of(lines[line], position.character, self._encoding())

    def units(self, text: str) -> int:
        """The length of ``text`` in the connection's position encoding."""
        return units(text, self._encoding())

    # -- sessions ------------------------------------------------------------------------
    def session_for(self, uri: str) -> str:
        """The session the document is bound to (see the module docstring)."""
        return self._bound.get(uri) or self._last_run.get(uri) or DEFAULT_SESSION

    def bind(self, uri: str, session: str | None) -> str:
        """Bind ``uri`` to ``session`` (None: remove the explicit binding); the session it
        is bound to now, which the editor is told."""
        if session is None:
            self._bound.pop(uri, None)
        else:
            self._bound[uri] = session
        now = self.session_for(uri)
        self._notify_bound(uri, now)
        return now

    def ran(self, uri: str, session: str) -> None:
        """This connection sent a run of ``uri`` to ``session``: an open document that
        moves to another session makes the editor told."""
        before = self.session_for(uri)
        self._last_run[uri] = session
        if self.session_for(uri) != before and self.served(uri):
            self._notify_bound(uri, session)
