"""Code cells of a document, delimited by marker lines (``# %%`` and friends).

Each line matching the language's marker opens a cell that runs to the next marker
line (exclusive) or the end of the document. The lines before the first marker are a
cell too (with ``header`` None) when one of them is not blank. A document without any
marker line has no cells. Line numbers are 0-based.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The marker of a language not named in the settings (``"*"``) and the defaults.
DEFAULT_MARKERS: dict[str, str] = {
    "python": r"^\s*#\s*(%%|In\[\d*\]|<codecell>)",
    "javascript": r"^\s*//\s*%%",
    "typescript": r"^\s*//\s*%%",
    "*": r"^\s*(#|//|--|%)\s*%%",
}


class MarkerError(ValueError):
    """A cell marker that cannot be used (not a regular expression, or it matches
    an empty line, which would make every line a marker)."""


def compile_marker(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled; :class:`MarkerError` naming it when it cannot be used."""
    try:
        marker = re.compile(pattern)
    except re.error as e:
        raise MarkerError(f"cell marker {pattern!r} is not a regular expression: {e}") from e
    if marker.search(""):
        raise MarkerError(
            f"cell marker {pattern!r} matches an empty line, so every line would be a marker"
        )
    return marker


def marker_for(language_id: str, markers: Mapping[str, str]) -> str:
    """The marker pattern for ``language_id``: its entry, else ``"*"``, else the default."""
    return (
        markers.get(language_id)
        or markers.get("*")
        or DEFAULT_MARKERS.get(language_id)
        or DEFAULT_MARKERS["*"]
    )


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: ``header`` its marker line (None for the lines before the first
    marker), ``start`` its first code line, ``end`` the line after it (exclusive)."""

    header: int | None
    start: int
    end: int

    @property
    def top(self) -> int:
        """The first line the cell covers: its marker line, if it has one."""
        return self.header if self.header is not None else self.start


def _blank(line: str) -> bool:
    return not line.strip()


def find_cells(lines: Sequence[str], marker: re.Pattern[str]) -> list[Cell]:
    """The cells of ``lines`` in order; [] when no line is a marker."""
    headers = [i for i, line in enumerate(lines) if marker.search(line)]
    if not headers:
        return []
    cells: list[Cell] = []
    if any(not _blank(line) for line in lines[: headers[0]]):
        cells.append(Cell(None, 0, headers[0]))
    for n, header in enumerate(headers):
        end = headers[n + 1] if n + 1 < len(headers) else len(lines)
        cells.append(Cell(header, header + 1, end))
    return cells


def cell_at(cells: Sequence[Cell], line: int) -> int | None:
    """The index of the cell whose lines ``[top, end)`` hold ``line``."""
    for n, cell in enumerate(cells):
        if cell.top <= line < cell.end:
            return n
    return None


def code_end(lines: Sequence[str], cell: Cell) -> int:
    """The line after the cell's last code line, trailing blank lines left out."""
    end = min(cell.end, len(lines))
    while end > cell.start and _blank(lines[end - 1]):
        end -= 1
    return end


def cell_code(lines: Sequence[str], cell: Cell) -> str:
    """The cell's code: its lines up to :func:`code_end`, joined by newlines (line N of
    the text is line ``start + N`` of the document)."""
    return "\n".join(lines[cell.start : code_end(lines, cell)])


def next_cell_start(cells: Sequence[Cell], line: int) -> int | None:
    """The first code line of the cell after the one holding ``line`` (for "run and
    advance"); when ``line`` is in no cell, of the first cell below it."""
    current = cell_at(cells, line)
    if current is not None:
        return cells[current + 1].start if current + 1 < len(cells) else None
    below = [cell for cell in cells if cell.top > line]
    return below[0].start if below else None


def cells_above(cells: Sequence[Cell], line: int) -> list[Cell]:
    """The cells that end at or before the top of the cell holding ``line`` (for "run
    above"), in order; when ``line`` is in no cell, those ending at or before ``line``."""
    current = cell_at(cells, line)
    limit = cells[current].top if current is not None else line
    return [cell for cell in cells if cell.end <= limit]


def cell_title(lines: Sequence[str], cell: Cell, index: int, marker: re.Pattern[str]) -> str:
    """The marker line's text after the marker, else ``"Cell N"`` (N = ``index + 1``)."""
    if cell.header is not None and cell.header < len(lines):
        found = marker.search(lines[cell.header])
        if found is not None and (rest := found.string[found.end() :].strip()):
            return rest
    return f"Cell {index + 1}"
