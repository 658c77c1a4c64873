"""Documents, their sessions and their cells, end to end: the real daemon over LSP framing
(the client speaks as Neovim 0.11 does, so positions count UTF-8 bytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import Daemon, plain, start_daemon

URI = "file:///work/project/cells.py"
SESSION = "docs"
LINES = [
    "import os",  # 0  the lines before the first marker: a cell
    "",  # 1
    "# %% Données 😀",  # 2
    's = "é😀"',  # 3
    "x = 1",  # 4
    "",  # 5
    "# %%",  # 6
    "print(s, x)",  # 7
    "# In[3]",  # 8
    "y = x / 0",  # 9
]


def u8(text: str) -> int:
    return len(text.encode())


def pos(line: int, character: int = 0) -> dict[str, int]:
    return {"line": line, "character": character}


def rng(start: dict[str, int], end: dict[str, int]) -> dict[str, Any]:
    return {"start": start, "end": end}


def open_document(daemon: Daemon, uri: str, text: str, language: str = "python") -> None:
    item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
    daemon.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))


def change(daemon: Daemon, uri: str, version: int, *edits: tuple[int, int, int, int, str]) -> None:
    """Incremental changes: ``(start line, start character, end line, end character, text)``."""
    changes: list[types.TextDocumentContentChangeEvent] = [
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(a, b), types.Position(c, d)), text=text
        )
        for a, b, c, d, text in edits
    ]
    daemon.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=changes,
        )
    )


async def cell_at(daemon: Daemon, uri: str, line: int, character: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = await daemon.request(
        "runbridge/cellAt", {"uri": uri, "position": pos(line, character)}
    )
    return result


async def lenses(daemon: Daemon, uri: str) -> list[types.CodeLens]:
    params = types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    return list(await daemon.client.text_document_code_lens_async(params) or [])


async def symbols(daemon: Daemon, uri: str) -> list[Any]:
    params = types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    return list(await daemon.client.text_document_document_symbol_async(params) or [])


async def command(daemon: Daemon, name: str, argument: Any) -> Any:
    params = types.ExecuteCommandParams(command=name, arguments=[argument])
    return plain(await daemon.client.workspace_execute_command_async(params))


def bound(daemon: Daemon, uri: str) -> list[str]:
    return [b["session"] for b in daemon.bound if b["uri"] == uri]


async def test_cells_of_an_open_document_with_non_ascii_text(daemon: Daemon) -> None:
    uri = "file:///work/project/outline.py"
    open_document(daemon, uri, "\n".join(LINES) + "\n")
    await daemon.wait_for(lambda: bound(daemon, uri))
    assert bound(daemon, uri) == ["default"]

    found = await cell_at(daemon, uri, 4, 3)
    assert found["cell"] == {
        "index": 1,
        "title": "Données 😀",
        "range": rng(pos(2), pos(5)),
        "codeRange": rng(pos(3), pos(5)),
        "code": 's = "é😀"\nx = 1',
    }
    assert found["next"] == pos(7)
    assert [c["title"] for c in found["above"]] == ["Cell 1"]
    assert found["above"][0]["code"] == "import os"
    last = await cell_at(daemon, uri, 9)
    assert last["cell"]["title"] == "Cell 4" and last["next"] is None
    assert [c["index"] for c in last["above"]] == [0, 1, 2]
    assert (await cell_at(daemon, uri, 10))["cell"]["index"] == 3  # the empty last line
    assert (await cell_at(daemon, uri, 11))["cell"] is None  # past the end

    marker_line = types.Range(types.Position(2, 0), types.Position(2, u8(LINES[2])))
    got = [
        (lens.range.start.line, lens.command and lens.command.title)
        for lens in await lenses(daemon, uri)
    ]
    assert got == [
        (2, "Run Cell"), (2, "Run Above"), (6, "Run Cell"), (6, "Run Above"),
        (8, "Run Cell"), (8, "Run Above"),
    ]  # fmt: skip
    first = (await lenses(daemon, uri))[0]
    assert first.range == marker_line
    assert first.command is not None
    assert first.command.command == "runbridge.server.runCell"
    assert plain(first.command.arguments) == [{"uri": uri, "line": 2}]

    outline = await symbols(daemon, uri)
    assert [s.name for s in outline] == ["Cell 1", "Données 😀", "Cell 3", "Cell 4"]
    assert all(s.kind == types.SymbolKind.Namespace for s in outline)
    assert outline[1].selection_range == marker_line
    assert outline[1].range == types.Range(types.Position(2, 0), types.Position(5, 0))
    assert outline[0].range == types.Range(types.Position(0, 0), types.Position(1, 0))


async def test_incremental_edits_change_the_cells(daemon: Daemon) -> None:
    uri = "file:///work/project/edits.py"
    open_document(daemon, uri, "\n".join(LINES))
    # after "é😀" (UTF-8: 2 + 4 bytes), inside the string; then a new marker on line 5
    change(daemon, uri, 2, (3, u8('s = "é😀'), 3, u8('s = "é😀'), "!"))
    change(daemon, uri, 3, (5, 0, 5, 0, "# %% added\nz = 3\n"))
    found = await cell_at(daemon, uri, 4)
    assert found["cell"]["code"] == 's = "é😀!"\nx = 1'
    assert found["next"] == pos(6)
    assert [s.name for s in await symbols(daemon, uri)] == [
        "Cell 1", "Données 😀", "added", "Cell 4", "Cell 5",
    ]  # fmt: skip
    added = await cell_at(daemon, uri, 6)
    assert added["cell"]["code"] == "z = 3" and added["cell"]["range"] == rng(pos(5), pos(7))

    # the marker goes (two edits in one notification): its lines join the cell above
    change(daemon, uri, 4, (5, 0, 5, 5, ""), (5, 0, 5, 0, "#"))  # "# %% added" -> "#added"
    assert [s.name for s in await symbols(daemon, uri)] == [
        "Cell 1",
        "Données 😀",
        "Cell 3",
        "Cell 4",
    ]
    joined = await cell_at(daemon, uri, 6)
    assert joined["cell"]["code"] == 's = "é😀!"\nx = 1\n#added\nz = 3'
    # a marker removed across lines, and text past the end appended
    change(daemon, uri, 5, (7, 0, 9, 0, ""), (99, 0, 99, 0, "\n# %% end\nw = 4"))
    assert [s.name for s in await symbols(daemon, uri)] == ["Cell 1", "Données 😀", "Cell 3", "end"]
    tail = await cell_at(daemon, uri, 11)
    assert tail["cell"]["code"] == "w = 4", tail


async def test_a_document_is_bound_explicitly_else_to_its_last_run_else_to_default(
    daemon: Daemon,
) -> None:
    uri = "file:///work/project/bound.py"
    open_document(daemon, uri, "x = 1\n")
    await daemon.wait_for(lambda: bound(daemon, uri) == ["default"])

    # a run of the document in another session moves it there
    result = await daemon.run("x = 1", session=SESSION, uri=uri)
    assert result["status"] == "finished"
    assert bound(daemon, uri) == ["default", SESSION]  # told before the run's reply

    # an explicit binding wins over runs; null removes it again
    reply = await daemon.request("runbridge/bindDocument", {"uri": uri, "session": "elsewhere"})
    assert reply == {"uri": uri, "session": "elsewhere"}
    await daemon.run("x = 2", session=SESSION, uri=uri)
    assert bound(daemon, uri) == ["default", SESSION, "elsewhere"]
    reply = await daemon.request("runbridge/bindDocument", {"uri": uri, "session": None})
    assert reply == {"uri": uri, "session": SESSION}
    assert bound(daemon, uri) == ["default", SESSION, "elsewhere", SESSION]

    # a document need not be open to be bound; a run of a closed one tells nothing
    other = "file:///work/project/closed.py"
    reply = await daemon.request("runbridge/bindDocument", {"uri": other, "session": "later"})
    assert reply == {"uri": other, "session": "later"}
    before = len(daemon.bound)
    await daemon.run("1", session=SESSION, uri="file:///work/project/never-opened.py")
    await daemon.request("runbridge/listSessions")
    assert len(daemon.bound) == before
    listed = await daemon.request("runbridge/listSessions")
    assert "elsewhere" not in {s["name"] for s in listed["sessions"]}  # binding starts nothing


async def test_run_cell_and_run_above_run_in_the_documents_session(daemon: Daemon) -> None:
    open_document(daemon, URI, "\n".join(LINES))
    await daemon.request("runbridge/bindDocument", {"uri": URI, "session": SESSION})
    result = await command(daemon, "runbridge.server.runAbove", {"uri": URI, "line": 8})
    assert result["status"] == "finished" and "error" not in result, result
    assert daemon.text(result["runId"]) == "é😀 1\n"
    # the cell on line 7 alone, through the lens's line (its marker line)
    result = await command(daemon, "runbridge.server.runCell", {"uri": URI, "line": 6})
    assert daemon.text(result["runId"]) == "é😀 1\n"

    result = await command(daemon, "runbridge.server.runCell", {"uri": URI, "line": 9})
    assert result["error"]["ename"] == "ZeroDivisionError"
    [diagnostic] = daemon.client.diagnostics[URI]
    assert diagnostic.range.start.line == 9
    assert diagnostic.message == "ZeroDivisionError: division by zero"
    # fixed, the same cell runs clean and its diagnostic goes
    change(daemon, URI, 2, (9, 8, 9, 9, "1"))
    result = await command(daemon, "runbridge.server.runCell", {"uri": URI, "line": 9})
    assert "error" not in result, result
    assert list(daemon.client.diagnostics[URI]) == []
    follow = await daemon.run("print(y)", session=SESSION)
    assert daemon.text(follow["runId"]) == "1.0\n"

    error_lines = [
        (await _command_error(daemon, name, {"uri": URI, "line": line}))
        for name, line in (("runbridge.server.runCell", 42), ("runbridge.server.runAbove", 0))
    ]
    assert all(e == "line" for e in error_lines), error_lines


async def _command_error(daemon: Daemon, name: str, argument: Any) -> str:
    try:
        await command(daemon, name, argument)
    except Exception as exc:  # a JsonRpcException
        return str(plain(getattr(exc, "data", None) or {}).get("field"))
    raise AssertionError(f"{name} {argument} succeeded")


@pytest_asyncio.fixture(loop_scope="session")
async def languages_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    options = {
        "languages": ["python", "lua"],
        "cellMarkers": {"lua": r"^--\s*CELL", "python": "(", "*": "^x?"},
    }
    async with start_daemon(tmp_path / "home", init_options=options) as d:
        yield d


async def test_languages_and_cell_markers_settings(languages_daemon: Daemon) -> None:
    daemon = languages_daemon
    sql = "file:///work/q.sql"
    open_document(daemon, sql, "-- %%\nselect 1\n", "sql")  # a default language, not listed
    lua = "file:///work/m.lua"
    open_document(daemon, lua, "-- CELL one\nprint(1)\n-- %%\nprint(2)\n", "lua")
    py = "file:///work/p.py"
    open_document(daemon, py, "# %% a\n1\n# %% b\n2\n", "python")
    await daemon.wait_for(lambda: bound(daemon, py))
    assert bound(daemon, sql) == [] and bound(daemon, lua) == ["default"]

    assert await lenses(daemon, sql) == [] and await symbols(daemon, sql) == []
    assert await cell_at(daemon, sql, 1) == {"cell": None, "next": None, "above": []}
    # lua: its own marker only; python: its bad marker is ignored, the default used
    assert [s.name for s in await symbols(daemon, lua)] == ["one"]
    assert [s.name for s in await symbols(daemon, py)] == ["a", "b"]
    # not open at all
    assert await cell_at(daemon, "file:///work/none.py", 0) == {
        "cell": None,
        "next": None,
        "above": [],
    }


@pytest_asyncio.fixture(loop_scope="session")
async def utf16_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    async with start_daemon(tmp_path / "home", client_name="vscode") as d:
        yield d


async def test_positions_count_utf16_units_for_a_client_that_offers_only_utf16(
    utf16_daemon: Daemon,
) -> None:
    """VS Code's client: "😀" is 2 units, "é" 1 (UTF-8 would count 4 and 2)."""
    daemon = utf16_daemon
    uri = "file:///work/project/wide.py"
    marker = "# %% 😀 é"
    open_document(daemon, uri, f"{marker}\nv = '😀'\n")
    wide = len(marker.encode("utf-16-le")) // 2
    [symbol] = await symbols(daemon, uri)
    assert symbol.selection_range.end == types.Position(0, wide) and wide == len(marker) + 1
    after = len("v = '😀".encode("utf-16-le")) // 2
    change(daemon, uri, 2, (1, after, 1, after, "é"))
    found = await cell_at(daemon, uri, 1, 3)
    assert found["cell"]["code"] == "v = '😀é'"
    assert found["cell"]["title"] == "😀 é"
