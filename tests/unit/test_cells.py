"""Cells of a document: the cases of the VS Code client's cells tests, on runbridge.cells."""

from __future__ import annotations

import pytest

from runbridge.cells import (
    DEFAULT_MARKERS,
    Cell,
    MarkerError,
    cell_at,
    cell_code,
    cell_title,
    cells_above,
    compile_marker,
    find_cells,
    marker_for,
    next_cell_start,
)

PERCENT = compile_marker(r"^\s*#\s*%%")
DOC = [
    "import os",  #        0  lines before the first marker
    "",  #                 1
    "# %% load",  #        2  marker
    "x = 1",  #            3
    "y = 2",  #            4
    "",  #                 5
    "",  #                 6
    "  #%%",  #            7  marker (indented, no space)
    "print(x)",  #         8
    "# %% [markdown]",  #  9  marker
    "# some text",  #      10
]
CELLS = find_cells(DOC, PERCENT)
LEAD, FIRST, SECOND, THIRD = CELLS


def test_compile_marker_checks_the_pattern() -> None:
    marker = compile_marker(r"^\s*#\s*%%")
    assert marker.search("# %%") and marker.search("# %%")
    assert not marker.search("x = 1  # %%")
    with pytest.raises(MarkerError, match=r"'\^#\(%%' is not a regular expression"):
        compile_marker("^#(%%")
    with pytest.raises(MarkerError, match="matches an empty line"):
        compile_marker("")
    with pytest.raises(MarkerError, match="matches an empty line"):
        compile_marker(r"^\s*(#\s*%%)?")


def test_marker_for_prefers_the_language_then_star_then_the_defaults() -> None:
    markers = {"python": "^P", "*": "^S"}
    assert marker_for("python", markers) == "^P"
    assert marker_for("lua", markers) == "^S"
    assert marker_for("python", {}) == DEFAULT_MARKERS["python"]
    assert marker_for("javascript", {}) == DEFAULT_MARKERS["javascript"]
    assert marker_for("lua", {}) == DEFAULT_MARKERS["*"]
    assert marker_for("python", {"python": ""}) == DEFAULT_MARKERS["python"]  # empty: unset


def test_the_python_default_also_takes_in_and_codecell_markers() -> None:
    marker = compile_marker(DEFAULT_MARKERS["python"])
    lines = ["# In[3]:", "# In[ ]", "# <codecell>", "#%%", "# %% title", "x = 1"]
    assert [bool(marker.search(line)) for line in lines] == [True, False, True, True, True, False]


def test_find_cells() -> None:
    assert [Cell(None, 0, 2), Cell(2, 3, 7), Cell(7, 8, 9), Cell(9, 10, 11)] == CELLS
    assert find_cells(["x = 1", "print(x)  # %% not at line start"], PERCENT) == []
    assert find_cells([], PERCENT) == []
    assert find_cells(["", "   ", "# %%", "a"], PERCENT) == [Cell(2, 3, 4)]  # blank lead
    assert find_cells(["# %%", "# %%"], PERCENT) == [Cell(0, 1, 1), Cell(1, 2, 2)]
    js = compile_marker(marker_for("javascript", DEFAULT_MARKERS))
    assert find_cells(["// %%", "a()", "# %%", "b()"], js) == [Cell(0, 1, 4)]


def test_cell_at_holds_the_marker_line_not_the_end() -> None:
    at = [cell_at(CELLS, line) for line in (0, 1, 2, 6, 7, 10, 11)]
    assert at == [0, 0, 1, 1, 2, 3, None]
    assert cell_at([], 0) is None
    assert cell_at(find_cells(["", "# %%", "a"], PERCENT), 0) is None


def test_cell_code_drops_trailing_blank_lines_only() -> None:
    assert cell_code(DOC, FIRST) == "x = 1\ny = 2"
    assert cell_code(DOC, LEAD) == "import os"
    assert cell_code(DOC, THIRD) == "# some text"
    lines = ["# %%", "", "  a = 1", "   ", "\t", "# %%"]
    assert cell_code(lines, find_cells(lines, PERCENT)[0]) == "\n  a = 1"
    assert cell_code(["# %%"], Cell(0, 1, 1)) == ""
    lines = ["# %%", "", "boom()", ""]
    cell = find_cells(lines, PERCENT)[0]
    assert lines[cell.start + cell_code(lines, cell).split("\n").index("boom()")] == "boom()"


def test_next_cell_start() -> None:
    assert [next_cell_start(CELLS, line) for line in (0, 2, 5, 8, 10)] == [3, 8, 8, 10, None]
    cells = find_cells(["", "", "# %%", "a"], PERCENT)
    assert next_cell_start(cells, 0) == 3  # in no cell: the first cell below
    assert next_cell_start(cells, 3) is None


def test_cells_above() -> None:
    assert cells_above(CELLS, 0) == []
    assert cells_above(CELLS, 3) == [LEAD]
    assert cells_above(CELLS, 7) == [LEAD, FIRST]  # on a marker line
    assert cells_above(CELLS, 10) == [LEAD, FIRST, SECOND]
    no_lead = find_cells(["", "# %%", "a", "# %%", "b"], PERCENT)
    assert cells_above(no_lead, 0) == []
    assert cells_above(no_lead, 4) == [no_lead[0]]


def test_cell_title_is_the_text_after_the_marker_else_cell_n() -> None:
    titles = [cell_title(DOC, cell, n, PERCENT) for n, cell in enumerate(CELLS)]
    assert titles == ["Cell 1", "load", "Cell 3", "[markdown]"]
