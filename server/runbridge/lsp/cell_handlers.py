"""Documents and cells on the wire: ``runbridge/bindDocument``, ``runbridge/cellAt``,
``textDocument/codeLens``, ``textDocument/documentSymbol`` and the commands
``runbridge.server.runCell`` / ``runbridge.server.runAbove``, which run through the
same path as ``runbridge.server.run`` (with ``uri`` and ``range``, so a failing cell
gets its diagnostic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from runbridge import protocol
from runbridge.cells import (
    Cell,
    cell_at,
    cell_code,
    cell_title,
    cells_above,
    code_end,
    next_cell_start,
)
from runbridge.errors import InvalidParams
from runbridge.lsp.handlers import (
    Handler,
    as_command,
    as_request,
    run_params,
)
from runbridge.lsp.language_server import RunbridgeServer


def _position(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


def _range(start: dict[str, int], end: dict[str, int]) -> dict[str, Any]:
    return {"start": start, "end": end}


class _View:
    """One open document's cells, as the wire shows them."""

    def __init__(self, ls: RunbridgeServer, uri: str) -> None:
        self.ls, self.uri = ls, uri
        self.lines = ls.documents.lines(uri)
        self.cells = ls.documents.cells(uri)

    def line_end(self, line: int) -> dict[str, int]:
        text = self.lines[line] if line < len(self.lines) else ""
        return _position(line, self.ls.documents.units(text))

    def marker_range(self, cell: Cell) -> dict[str, Any]:
        return _range(_position(cell.top, 0), self.line_end(cell.top))

    def cell_range(self, cell: Cell) -> dict[str, Any]:
        return _range(_position(cell.top, 0), self.line_end(max(cell.top, cell.end - 1)))

    def code_range(self, cell: Cell) -> dict[str, Any]:
        return _range(_position(cell.start, 0), _position(code_end(self.lines, cell), 0))

    def title(self, index: int) -> str:
        marker = self.ls.documents.marker(self.uri)
        assert marker is not None
        return cell_title(self.lines, self.cells[index], index, marker)

    def wire(self, index: int) -> dict[str, Any]:
        cell = self.cells[index]
        return {
            "index": index,
            "title": self.title(index),
            "range": self.cell_range(cell),
            "codeRange": self.code_range(cell),
            "code": cell_code(self.lines, cell),
        }


async def _bind_document(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    uri, session = protocol.parse_bind_document(raw)
    return {"uri": uri, "session": ls.documents.bind(uri, session)}


async def _cell_at(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    uri, position = protocol.parse_cell_at(raw)
    view = _View(ls, uri)
    index = cell_at(view.cells, position.line)
    above = cells_above(view.cells, position.line)
    following = next_cell_start(view.cells, position.line)
    return {
        "cell": None if index is None else view.wire(index),
        "next": None if following is None else _position(following, 0),
        "above": [view.wire(view.cells.index(cell)) for cell in above],
    }


def _run_raw(ls: RunbridgeServer, uri: str, code: str, start: int, end: int) -> dict[str, Any]:
    """``runbridge/run`` params for document lines ``[start, end)`` of ``uri``."""
    return {
        "session": ls.documents.session_for(uri),
        "code": code,
        "uri": uri,
        "languageId": ls.documents.language_id(uri),
        "range": _range(_position(start, 0), _position(end, 0)),
    }


def _cell_view(ls: RunbridgeServer, raw: Any, command: str) -> tuple[_View, int]:
    uri, line = protocol.parse_cell_command(raw, command)
    if not ls.documents.served(uri):
        raise InvalidParams(
            f"field 'uri': the document {uri!r} is not open, or its language is not served",
            field="uri",
        )
    return _View(ls, uri), line


async def _run_cell(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    view, line = _cell_view(ls, raw, protocol.COMMAND_RUN_CELL)
    index = cell_at(view.cells, line)
    if index is None:
        raise InvalidParams(f"field 'line': no cell holds line {line}", field="line")
    cell = view.cells[index]
    code = cell_code(view.lines, cell)
    return await run_params(
        ls, _run_raw(ls, view.uri, code, cell.start, code_end(view.lines, cell))
    )


def _above_code(lines: Sequence[str], above: list[Cell]) -> tuple[str, int, int]:
    """One run of the cells ``above`` (consecutive): their lines with the marker lines
    blanked, so that line N of the code is line ``start + N`` of the document."""
    start, end = above[0].start, code_end(lines, above[-1])
    headers = {cell.header for cell in above}
    code = "\n".join("" if n in headers else lines[n] for n in range(start, end))
    return code, start, end


async def _run_above(ls: RunbridgeServer, raw: Any) -> dict[str, Any]:
    view, line = _cell_view(ls, raw, protocol.COMMAND_RUN_ABOVE)
    above = cells_above(view.cells, line)
    if not above:
        raise InvalidParams(f"field 'line': there are no cells above line {line}", field="line")
    code, start, end = _above_code(view.lines, above)
    return await run_params(ls, _run_raw(ls, view.uri, code, start, end))


#: The requests of this module (their params stay plain JSON).
CELL_REQUEST_HANDLERS: dict[str, Handler] = {
    protocol.BIND_DOCUMENT: _bind_document,
    protocol.CELL_AT: _cell_at,
}
CELL_COMMAND_HANDLERS: dict[str, Handler] = {
    protocol.COMMAND_RUN_CELL: _run_cell,
    protocol.COMMAND_RUN_ABOVE: _run_above,
}


def _lsp_range(wire: dict[str, Any]) -> types.Range:
    start, end = wire["start"], wire["end"]
    return types.Range(
        types.Position(start["line"], start["character"]),
        types.Position(end["line"], end["character"]),
    )


def code_lenses(ls: RunbridgeServer, uri: str) -> list[types.CodeLens]:
    """``Run Cell`` on each marker line, and ``Run Above`` from the second cell on."""
    view = _View(ls, uri)
    lenses: list[types.CodeLens] = []
    for index, cell in enumerate(view.cells):
        if cell.header is None:
            continue
        where = _lsp_range(view.marker_range(cell))
        argument = {"uri": uri, "line": cell.header}
        run = types.Command(
            title="Run Cell", command=protocol.COMMAND_RUN_CELL, arguments=[argument]
        )
        lenses.append(types.CodeLens(range=where, command=run))
        if index > 0:
            above = types.Command(
                title="Run Above", command=protocol.COMMAND_RUN_ABOVE, arguments=[argument]
            )
            lenses.append(types.CodeLens(range=where, command=above))
    return lenses


def document_symbols(ls: RunbridgeServer, uri: str) -> list[types.DocumentSymbol]:
    """One ``Namespace`` symbol per cell."""
    view = _View(ls, uri)
    return [
        types.DocumentSymbol(
            name=view.title(index),
            kind=types.SymbolKind.Namespace,
            range=_lsp_range(view.cell_range(cell)),
            selection_range=_lsp_range(view.marker_range(cell)),
        )
        for index, cell in enumerate(view.cells)
    ]


def register_cell_handlers(server: RunbridgeServer) -> None:
    for method, handler in CELL_REQUEST_HANDLERS.items():
        server.feature(method)(as_request(handler))
    for command, handler in CELL_COMMAND_HANDLERS.items():
        server.command(command)(as_command(command, handler))

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def on_code_lens(ls: RunbridgeServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        return code_lenses(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_document_symbol(
        ls: RunbridgeServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        return document_symbols(ls, params.text_document.uri)
