"""Completion, hover and signature help from the live kernel, end to end: the real daemon
over LSP framing, a real ipykernel, documents opened with ``textDocument/didOpen``.

The module's client is Neovim's (utf-8 positions: "é" counts 2, "😀" 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.conftest import Daemon, start_daemon, start_run
from tests.e2e.raw_wire import stdio_daemon

SETUP = (
    "kernel_only_name_42 = 1\n"
    "def add_things(a, b=1, *rest, key=None):\n"
    "    '''Add things up.\n\n    Returns the first one.'''\n"
    "    return a\n"
    "import os\n"
)
_opened: dict[str, int] = {}


def open_document(daemon: Daemon, text: str, language: str = "python") -> str:
    """Open a new document holding ``text``; its uri."""
    n = _opened.setdefault("n", 0) + 1
    _opened["n"] = n
    uri = f"file:///work/project/features_{n}.py"
    daemon.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )
    return uri


def at(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


async def ask(daemon: Daemon, method: str, params: dict[str, Any]) -> Any:
    """A standard LSP request with JSON ``params``; its JSON result (as on the wire)."""
    converter = daemon.client.protocol._converter
    params_type = types.METHOD_TO_TYPES[method][2]
    result = await daemon.client.protocol.send_request_async(
        method, converter.structure(params, params_type)
    )
    return converter.unstructure(result)


async def complete(daemon: Daemon, uri: str, line: int, character: int) -> dict[str, Any]:
    result: dict[str, Any] = await ask(daemon, "textDocument/completion", at(uri, line, character))
    return result


def item(result: dict[str, Any], label: str) -> dict[str, Any]:
    found = [i for i in result["items"] if i["label"] == label]
    assert found, [i["label"] for i in result["items"]]
    return found[0]


async def setup(daemon: Daemon, session: str = "default") -> None:
    """Define the names the tests complete, and wait until the kernel completes: a fresh
    kernel's first completion loads jedi, which can take longer than the 1 s an idle
    kernel is given (the answers are empty meanwhile)."""
    result = await daemon.run(SETUP, session=session)
    assert result["status"] == "finished", result
    uri = open_document(daemon, "kernel_only")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not (await complete(daemon, uri, 0, 11))["items"]:
        assert loop.time() < deadline, "the kernel never completed"
        await asyncio.sleep(0.25)


async def test_completion_offers_what_a_run_defined_with_kinds_and_ranges(daemon: Daemon) -> None:
    await setup(daemon)
    line = "x = 'é😀'; kernel_only"
    uri = open_document(daemon, f"import os\n{line}\n")
    end = len(line.encode())  # utf-8 units, as the client agreed at initialize
    result = await complete(daemon, uri, 1, end)
    assert result["isIncomplete"] is True
    found = item(result, "kernel_only_name_42")
    assert found["kind"] == types.CompletionItemKind.Variable
    start = len("x = 'é😀'; ".encode())
    assert found["textEdit"] == {
        "range": {"start": {"line": 1, "character": start}, "end": {"line": 1, "character": end}},
        "newText": "kernel_only_name_42",
    }

    uri = open_document(daemon, "add_th\nos.pa")
    function = item(await complete(daemon, uri, 0, 6), "add_things")
    assert function["kind"] == types.CompletionItemKind.Function
    assert function["detail"] == "(a, b=1, *rest, key=None)"
    module = item(await complete(daemon, uri, 1, 5), "path")
    assert module["kind"] == types.CompletionItemKind.Module
    assert module["textEdit"]["range"]["start"] == {"line": 1, "character": 3}


async def test_positions_are_utf16_under_vs_code(tmp_path: Path) -> None:
    """VS Code's client offers no other encoding: "😀" counts 2, "é" 1."""
    async with start_daemon(tmp_path / "home", client_name="vscode") as daemon:
        await setup(daemon)
        line = "x = 'é😀'; kernel_only"
        uri = open_document(daemon, line)
        end = len(line.encode("utf-16-le")) // 2
        found = item(await complete(daemon, uri, 0, end), "kernel_only_name_42")
        start = len("x = 'é😀'; ".encode("utf-16-le")) // 2
        assert found["textEdit"]["range"] == {
            "start": {"line": 0, "character": start},
            "end": {"line": 0, "character": end},
        }


async def test_the_cell_around_the_cursor_is_sent(daemon: Daemon) -> None:
    """``pth_alias`` exists only in the cell's text, never run: only the cell's code lets
    the kernel complete its attribute."""
    await setup(daemon)
    text = "# %%\nprint(1)\n\n# %%\nfrom os import path as pth_alias\npth_alias.jo\n\n# %%\nz = 1\n"
    uri = open_document(daemon, text)
    result = await complete(daemon, uri, 5, len("pth_alias.jo"))
    joined = item(result, "join")
    assert joined["textEdit"]["range"] == {
        "start": {"line": 5, "character": 10},
        "end": {"line": 5, "character": 12},
    }


async def test_the_documents_bound_session_answers_and_unserved_languages_get_nothing(
    daemon: Daemon,
) -> None:
    result = await daemon.run("other_only_name_7 = 7", session="lang-other")
    assert result["status"] == "finished", result
    uri = open_document(daemon, "other_only")
    bound = await daemon.request("runbridge/bindDocument", {"uri": uri, "session": "lang-other"})
    assert bound == {"uri": uri, "session": "lang-other"}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a fresh kernel's first completion loads jedi
    while not (found := await complete(daemon, uri, 0, 10))["items"]:
        assert loop.time() < deadline, "the kernel never completed"
        await asyncio.sleep(0.25)
    assert [i["label"] for i in found["items"]] == ["other_only_name_7"]
    plain_text = open_document(daemon, "kernel_only", language="plaintext")
    assert await complete(daemon, plain_text, 0, 11) == {"isIncomplete": False, "items": []}
    await daemon.request("runbridge/closeSession", {"name": "lang-other"})


async def test_resolve_fills_the_documentation(daemon: Daemon) -> None:
    await setup(daemon)
    uri = open_document(daemon, "add_th")
    function = item(await complete(daemon, uri, 0, 6), "add_things")
    resolved = await ask(daemon, "completionItem/resolve", function)
    documentation = resolved["documentation"]
    assert documentation["kind"] == "markdown"
    assert "```python\nadd_things(a, b=1, *rest, key=None)\n```" in documentation["value"]
    assert "Add things up." in documentation["value"]


async def test_hover_shows_the_docstring_of_a_function_a_run_defined(daemon: Daemon) -> None:
    await setup(daemon)
    uri = open_document(daemon, "total = add_things(1, 2)\n")
    hover = await ask(daemon, "textDocument/hover", at(uri, 0, 10))
    value = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert value == (
        "```python\nadd_things(a, b=1, *rest, key=None)\n```\n\n"
        "```text\nAdd things up.\n\nReturns the first one.\n```"
    )
    assert "\x1b" not in value
    # nothing known there: null
    uri = open_document(daemon, "no_such_name_here\n")
    assert await ask(daemon, "textDocument/hover", at(uri, 0, 3)) is None


async def test_signature_help_gives_the_active_parameter(daemon: Daemon) -> None:
    await setup(daemon)
    line = "add_things(1, 'a,(', "
    uri = open_document(daemon, f"{line}\nadd_things(1, key=\n")
    help_ = await ask(daemon, "textDocument/signatureHelp", at(uri, 0, len(line)))
    [signature] = help_["signatures"]
    assert signature["label"] == "add_things(a, b=1, *rest, key=None)"
    assert [p["label"] for p in signature["parameters"]] == ["a", "b=1", "*rest", "key=None"]
    assert help_["activeParameter"] == 2  # the third argument: into *rest
    assert "Add things up." in signature["documentation"]["value"]
    help_ = await ask(daemon, "textDocument/signatureHelp", at(uri, 1, 18))
    assert help_["activeParameter"] == 3  # key=
    # outside a call: null
    assert await ask(daemon, "textDocument/signatureHelp", at(uri, 0, 0)) is None


async def test_a_busy_kernel_answers_completion_before_its_run_ends(daemon: Daemon) -> None:
    await setup(daemon)
    uri = open_document(daemon, "kernel_only")
    run = await start_run(
        daemon, "default", "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", "sleeping"
    )
    try:
        result = await complete(daemon, uri, 0, 11)
        assert not run.done()
        # ipykernel 6+ answers on its control channel while the run is busy
        assert item(result, "kernel_only_name_42")["kind"] == types.CompletionItemKind.Variable
        hover = await ask(daemon, "textDocument/hover", at(uri, 0, 3))
        assert hover is None  # a partial name: nothing found, but an answer
        assert not run.done()
    finally:
        await daemon.request("runbridge/interrupt", {"session": "default"})
        result = await asyncio.wait_for(run, 30)
    assert result["status"] == "interrupted"
    # the session is idle again: completion goes on the shell channel
    item(await complete(daemon, uri, 0, 11), "kernel_only_name_42")


async def test_the_capabilities_say_what_is_served(tmp_path: Path) -> None:
    async with stdio_daemon(tmp_path / "home", initialize=False) as daemon:
        capabilities = (await daemon.peer.initialize())["capabilities"]
    assert capabilities["completionProvider"] == {
        "triggerCharacters": ["."],
        "resolveProvider": True,
    }
    assert capabilities["hoverProvider"] is True
    assert capabilities["signatureHelpProvider"] == {"triggerCharacters": ["(", ","]}


async def test_bad_params_get_errors_naming_the_field(tmp_path: Path) -> None:
    async with stdio_daemon(tmp_path / "home") as daemon:
        peer = daemon.peer
        doc = {"uri": "file:///a.py"}
        above = {"line": -1, "character": 0}
        for method, params, field in [
            ("textDocument/completion", {"position": {"line": 0}}, "'textDocument'"),
            ("textDocument/completion", None, "'textDocument'"),
            ("textDocument/hover", {"textDocument": doc, "position": above}, "'position.line'"),
            ("textDocument/signatureHelp", {"textDocument": {"uri": 3}}, "'textDocument.uri'"),
            ("textDocument/hover", {"textDocument": doc}, "'position'"),
            ("completionItem/resolve", {"kind": 1}, "'label'"),
        ]:  # fmt: skip
            reply = await peer.request(method, params)
            assert reply["error"]["code"] == -32602, reply
            assert field in reply["error"]["message"], reply
        assert await peer.serves()


async def test_a_session_that_is_not_open_gets_empty_answers_and_no_kernel(
    fresh_daemon: Daemon,
) -> None:
    daemon = fresh_daemon
    uri = open_document(daemon, "import os\nos.pa\nlen(")
    assert await complete(daemon, uri, 1, 5) == {"isIncomplete": False, "items": []}
    assert await ask(daemon, "textDocument/hover", at(uri, 1, 1)) is None
    assert await ask(daemon, "textDocument/signatureHelp", at(uri, 2, 4)) is None
    # a document that was never opened: empty too
    assert (await complete(daemon, "file:///nowhere.py", 0, 0))["items"] == []
    listed = await daemon.request("runbridge/listSessions", {})
    assert listed["sessions"] == []
