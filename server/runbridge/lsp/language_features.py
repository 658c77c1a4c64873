"""Completion, hover and signature help from the live session of a document.

Each request takes the code around the cursor (:mod:`runbridge.lsp.snippet`) and
asks the document's session (:mod:`runbridge.sessions.language`, which never
starts one): ``complete_request`` for ``textDocument/completion``,
``inspect_request`` for ``completionItem/resolve``, ``textDocument/hover`` and
``textDocument/signatureHelp``. Positions are converted through the position
encoding agreed at ``initialize``; kernels count code points.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from runbridge import protocol
from runbridge.errors import InvalidParams
from runbridge.lsp import inspection
from runbridge.lsp.call_site import call_at
from runbridge.lsp.jsonrpc_errors import mapped
from runbridge.lsp.language_server import RunbridgeServer
from runbridge.lsp.snippet import Snippet, Source, snippet_at, source_of
from runbridge.model import CompletionMatch, Completions
from runbridge.sessions import language

log = logging.getLogger(__name__)

COMPLETION = types.TEXT_DOCUMENT_COMPLETION
RESOLVE = types.COMPLETION_ITEM_RESOLVE
HOVER = types.TEXT_DOCUMENT_HOVER
SIGNATURE_HELP = types.TEXT_DOCUMENT_SIGNATURE_HELP
#: The requests whose params runbridge reads itself (to name a bad field).
METHODS = frozenset({COMPLETION, RESOLVE, HOVER, SIGNATURE_HELP})

#: ipykernel's completion types (``_jupyter_types_experimental``) as LSP kinds.
KINDS: dict[str, types.CompletionItemKind] = {
    "function": types.CompletionItemKind.Function,
    "class": types.CompletionItemKind.Class,
    "module": types.CompletionItemKind.Module,
    "keyword": types.CompletionItemKind.Keyword,
    "magic": types.CompletionItemKind.Keyword,
    "instance": types.CompletionItemKind.Variable,
    "statement": types.CompletionItemKind.Variable,
    "param": types.CompletionItemKind.Variable,
    "property": types.CompletionItemKind.Property,
    "path": types.CompletionItemKind.File,
}


# -- params ------------------------------------------------------------------------------
def _position_params(raw: Any, method: str) -> tuple[str, types.Position]:
    params = protocol.as_object(raw, method)
    document = params.get("textDocument")
    if not isinstance(document, dict):
        raise InvalidParams(
            f"{method}: missing required field 'textDocument' (an object with 'uri')",
            field="textDocument",
        )
    uri = document.get("uri")
    if not isinstance(uri, str) or not uri:
        raise InvalidParams(
            f"{method}: field 'textDocument.uri' must be a non-empty string",
            field="textDocument.uri",
        )
    position = params.get("position")
    if not isinstance(position, dict):
        raise InvalidParams(
            f"{method}: missing required field 'position' (an object with 'line' and 'character')",
            field="position",
        )
    numbers = []
    for key in ("line", "character"):
        value = position.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidParams(
                f"{method}: field 'position.{key}' must be a non-negative integer",
                field=f"position.{key}",
            )
        numbers.append(value)
    return uri, types.Position(numbers[0], numbers[1])


def _snippet(
    ls: RunbridgeServer, uri: str, position: types.Position
) -> tuple[Source, Snippet] | None:
    """The document and the code around ``position``; None when the document gets no
    language features (not open, not served, the position past its end)."""
    source = source_of(ls, uri)
    if source is None or position.line >= len(source.lines):
        return None
    _, column = ls.documents.index_of(uri, position)
    return source, snippet_at(source.lines, source.cells, position.line, column)


# -- completion --------------------------------------------------------------------------
async def completion(ls: RunbridgeServer, raw: Any) -> types.CompletionList:
    uri, position = _position_params(raw, COMPLETION)
    found = _snippet(ls, uri, position)
    if found is None:
        return types.CompletionList(is_incomplete=False, items=[])
    source, snippet = found
    session = source.session
    if language.live_backend(ls.manager, session) is None:
        return types.CompletionList(is_incomplete=False, items=[])
    answer = await language.complete(ls.manager, session, snippet.code, snippet.cursor)
    if answer.note is not None:  # this session cannot complete: no use asking again
        _tell_once(ls, session, answer.note)
        return types.CompletionList(is_incomplete=False, items=[])
    items = _items(ls, source, snippet, answer)
    return types.CompletionList(is_incomplete=True, items=items)


def _tell_once(ls: RunbridgeServer, session: str, note: str) -> None:
    """Say ``note`` in the editor once per session (for this connection)."""
    if session in ls.language_notes_shown:
        return
    ls.language_notes_shown.add(session)
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=note))


def _items(
    ls: RunbridgeServer, source: Source, snippet: Snippet, answer: Completions
) -> list[types.CompletionItem]:
    line_start = snippet.line_start
    line_text = snippet.code[line_start : snippet.line_end]
    on_line = line_start <= answer.start <= snippet.cursor <= answer.end <= snippet.line_end
    edit_range: types.Range | None = None
    if on_line:
        row, units = snippet.cursor_line, ls.documents.units
        start = types.Position(row, units(line_text[: answer.start - line_start]))
        end = types.Position(row, units(line_text[: answer.end - line_start]))
        edit_range = types.Range(start, end)
    prefix = line_text[: answer.start - line_start] if on_line else ""
    return [
        _item(match, n, edit_range, {"session": source.session, "code": prefix + match.text})
        for n, match in enumerate(answer.matches)
    ]


def _item(
    match: CompletionMatch, n: int, edit_range: types.Range | None, data: dict[str, str]
) -> types.CompletionItem:
    kind = KINDS.get(match.type or "", types.CompletionItemKind.Text)
    return types.CompletionItem(
        label=match.text,
        kind=kind,
        detail=match.signature or None,
        sort_text=f"{n:05d}",
        text_edit=types.TextEdit(edit_range, match.text) if edit_range is not None else None,
        insert_text=None if edit_range is not None else match.text,
        data=data,
    )


async def resolve(ls: RunbridgeServer, raw: Any) -> types.CompletionItem:
    params = protocol.as_object(raw, RESOLVE)
    if not isinstance(params.get("label"), str):
        raise InvalidParams(
            f"{RESOLVE}: missing required field 'label' (a completion item is expected)",
            field="label",
        )
    try:
        item = ls.structure(params, types.CompletionItem)
    except Exception as exc:
        raise InvalidParams(
            f"{RESOLVE}: the completion item does not fit its type ({exc})", field="params"
        ) from None
    data = params.get("data")
    if not isinstance(data, dict):
        return item
    session, code = data.get("session"), data.get("code")
    if not isinstance(session, str) or not isinstance(code, str):
        return item
    found = await language.inspect(ls.manager, session, code, len(code), 0)
    if found.found:
        item.documentation = types.MarkupContent(
            types.MarkupKind.Markdown, inspection.markdown(found.text)
        )
    return item


# -- hover and signature help ------------------------------------------------------------
async def hover(ls: RunbridgeServer, raw: Any) -> types.Hover | None:
    uri, position = _position_params(raw, HOVER)
    found = _snippet(ls, uri, position)
    if found is None:
        return None
    source, snippet = found
    answer = await language.inspect(ls.manager, source.session, snippet.code, snippet.cursor, 0)
    if not answer.found:
        return None
    text = inspection.markdown(answer.text)
    return types.Hover(contents=types.MarkupContent(types.MarkupKind.Markdown, text))


async def signature_help(ls: RunbridgeServer, raw: Any) -> types.SignatureHelp | None:
    uri, position = _position_params(raw, SIGNATURE_HELP)
    found = _snippet(ls, uri, position)
    if found is None:
        return None
    source, snippet = found
    site = call_at(snippet.code, snippet.cursor)
    if site is None:
        return None
    answer = await language.inspect(ls.manager, source.session, site.callee, len(site.callee), 0)
    if not answer.found:
        return None
    signature = inspection.signature(answer.text)
    if signature is None:
        return None
    active = inspection.active_parameter(signature.parameters, site.argument, site.keyword)
    docstring = inspection.docstring_of(inspection.sections(answer.text))
    info = types.SignatureInformation(
        label=signature.label,
        documentation=(
            types.MarkupContent(types.MarkupKind.Markdown, inspection.docstring_markdown(docstring))
            if docstring
            else None
        ),
        parameters=[types.ParameterInformation(label=p) for p in signature.parameters],
        active_parameter=active,
    )
    return types.SignatureHelp(signatures=[info], active_signature=0, active_parameter=active)


def register_language_features(server: RunbridgeServer) -> None:
    """The four handlers and their capabilities (``resolveProvider`` is set by hand: pygls
    does not derive it for completion)."""
    server.feature(
        COMPLETION,
        types.CompletionOptions(trigger_characters=["."], resolve_provider=True),
    )(mapped(completion))
    server.feature(RESOLVE)(mapped(resolve))
    server.feature(HOVER)(mapped(hover))
    server.feature(SIGNATURE_HELP, types.SignatureHelpOptions(trigger_characters=["(", ","]))(
        mapped(signature_help)
    )
