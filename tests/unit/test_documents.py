"""A connection's documents: incremental changes in every position encoding, cells cached
per change, and the session each document is bound to."""

from __future__ import annotations

import pytest
from lsprotocol import types

from runbridge.config import Settings, load_settings
from runbridge.lsp.documents import Documents, index_of, units

URI = "file:///d.py"
UTF8, UTF16, UTF32 = (
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf32,
)


def documents(
    encoding: str = UTF16, settings: Settings | None = None
) -> tuple[Documents, list[tuple[str, str]]]:
    told: list[tuple[str, str]] = []
    chosen = settings or load_settings()
    docs = Documents(lambda: chosen, lambda: encoding, lambda u, s: told.append((u, s)))
    return docs, told


def edit(sl: int, sc: int, el: int, ec: int, text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=text
    )


@pytest.mark.parametrize(("encoding", "after_emoji"), [(UTF8, 8), (UTF16, 5), (UTF32, 4)])
def test_positions_count_in_the_negotiated_encoding(encoding: str, after_emoji: int) -> None:
    line = "a é😀 b"  # "a é" then the emoji, which UTF-16 counts 2 and UTF-8 counts 4
    assert index_of(line, after_emoji, encoding) == 4
    assert units(line[:4], encoding) == after_emoji
    assert index_of(line, 1000, encoding) == len(line)
    docs, _ = documents(encoding)
    docs.open(URI, "python", 1, f"{line}\nnext")
    docs.change(URI, 2, [edit(0, after_emoji, 0, after_emoji, "!")])
    assert list(docs.lines(URI)) == ["a é😀! b", "next"]


def test_changes_replace_only_the_lines_they_touch() -> None:
    docs, _ = documents()
    docs.open(URI, "python", 1, "one\r\ntwo\rthree\nfour")
    assert list(docs.lines(URI)) == ["one", "two", "three", "four"]
    docs.change(
        URI,
        2,
        [
            edit(1, 1, 2, 2, "X\nY"),  # across lines, adding one
            edit(0, 0, 0, 0, "zero\n"),
            edit(99, 5, 99, 5, "\nfive"),  # past the end: appended
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(4, 0), types.Position(4, 4)), text=""
            ),
        ],
    )
    assert list(docs.lines(URI)) == ["zero", "one", "tX", "Yree", "", "five"]
    assert docs.version(URI) == 2
    docs.change(URI, 3, [types.TextDocumentContentChangeWholeDocument(text="all\nnew")])
    assert docs.text(URI) == "all\nnew"
    docs.close(URI)
    assert docs.lines(URI) == () and not docs.served(URI)
    docs.change(URI, 4, [edit(0, 0, 0, 0, "x")])  # a closed document: ignored


def test_cells_are_found_once_per_change() -> None:
    docs, _ = documents()
    docs.open(URI, "python", 1, "# %% a\n1\n# %% b\n2")
    first = docs.cells(URI)
    assert len(first) == 2 and docs.cells(URI) is first  # no new parse without a change
    docs.change(URI, 2, [edit(1, 0, 1, 0, "# %% c\n")])
    assert len(docs.cells(URI)) == 3


def test_language_filter_and_markers_from_the_settings() -> None:
    settings = load_settings({"languages": ["lua"], "cellMarkers": {"lua": "^-- CELL"}})
    docs, told = documents(settings=settings)
    docs.open("file:///a.py", "python", 1, "# %%\n1")
    docs.open("file:///m.lua", "lua", 1, "-- CELL x\n1\n-- %%\n2")
    assert not docs.served("file:///a.py") and docs.cells("file:///a.py") == []
    assert [c.header for c in docs.cells("file:///m.lua")] == [0]
    assert told == [("file:///m.lua", "default")]  # only served documents are announced


def test_binding_explicit_then_last_run_then_default() -> None:
    docs, told = documents()
    docs.open(URI, "python", 1, "x = 1")
    assert docs.session_for(URI) == "default"
    docs.ran(URI, "a")
    assert docs.session_for(URI) == "a"
    docs.ran(URI, "a")  # no move: nothing told
    assert docs.bind(URI, "b") == "b"
    docs.ran(URI, "c")
    assert docs.session_for(URI) == "b"
    assert docs.bind(URI, None) == "c"
    docs.ran("file:///closed.py", "z")  # not open: bound, but not told
    assert docs.session_for("file:///closed.py") == "z"
    assert told == [(URI, "default"), (URI, "a"), (URI, "b"), (URI, "c")]
