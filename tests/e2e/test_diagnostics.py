"""``textDocument/publishDiagnostics`` from runs, end to end on real kernels: a run sent with
``uri`` and ``range`` that raises puts a diagnostic on the document's raising line; the
next run over those lines clears it; only the connection that started the run gets it."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from tests.e2e.conftest import Daemon, plain
from tests.e2e.host import Host

URI = "file:///work/project/analysis.py"


def where(first: int, last: int, last_char: int = 40) -> dict[str, Any]:
    return {
        "uri": URI,
        "languageId": "python",
        "range": {
            "start": {"line": first, "character": 0},
            "end": {"line": last, "character": last_char},
        },
    }


def diagnostics(daemon: Daemon, uri: str = URI) -> list[types.Diagnostic]:
    return list(daemon.client.diagnostics.get(uri, []))


async def test_a_failing_run_gets_a_diagnostic_on_its_line_and_a_good_run_clears_it(
    daemon: Daemon,
) -> None:
    # lines 20-23 of the document; "return x / 0" (line 22) raises, called from line 23
    code = "def f(x):\n    return x / 0\n\nf(1)"
    result = await daemon.run(code, session="diag", **where(20, 23))
    assert result["error"]["ename"] == "ZeroDivisionError"
    # published before the run's reply
    [diagnostic] = diagnostics(daemon)
    assert diagnostic.range == types.Range(types.Position(21, 4), types.Position(21, 16))
    assert diagnostic.message == "ZeroDivisionError: division by zero"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.source == "runbridge"

    # a run elsewhere in the file leaves it; a syntax error there adds one at its column
    result = await daemon.run("ok = 1\nif ok = 1:\n    pass", session="diag", **where(30, 32))
    assert result["error"]["ename"] == "SyntaxError"
    assert sorted((d.range.start.line, d.range.start.character) for d in diagnostics(daemon)) == [
        (21, 4),
        (31, 3),  # the caret under "ok" of "if ok = 1:"
    ]

    # the same lines again, fixed: that diagnostic goes, the other stays
    result = await daemon.run(
        "def f(x):\n    return x / 1\n\nf(1)", session="diag", **where(20, 23)
    )
    assert "error" not in result
    assert [d.range.start.line for d in diagnostics(daemon)] == [31]
    result = await daemon.run("ok = 1\nif ok == 1:\n    pass", session="diag", **where(30, 32))
    assert "error" not in result
    assert diagnostics(daemon) == []


async def test_columns_are_counted_in_the_position_encoding_agreed_at_initialize(
    daemon: Daemon,
) -> None:
    """The client offered utf-8 first (as Neovim 0.11 does): "é" and "😀" count 2 and 4."""
    result = await daemon.run("x = 'é😀' / 0", session="diag", **where(40, 40))
    assert result["error"]["ename"] == "TypeError"
    [diagnostic] = diagnostics(daemon)
    assert diagnostic.range.end == types.Position(40, len("x = 'é😀' / 0".encode()))
    await daemon.run("x = 0", session="diag", **where(40, 40))
    assert diagnostics(daemon) == []


async def test_the_run_command_of_generic_clients_publishes_them_too(daemon: Daemon) -> None:
    """``workspace/executeCommand runbridge.server.run``, as any LSP client can send it."""
    other = "file:///work/project/command.py"
    run = {"session": "diag", "code": "1 / 0", **where(7, 7), "uri": other}
    params = types.ExecuteCommandParams(command="runbridge.server.run", arguments=[run])
    result = plain(await daemon.client.workspace_execute_command_async(params))
    assert result["error"]["ename"] == "ZeroDivisionError"
    assert [d.range.start.line for d in diagnostics(daemon, other)] == [7]
    params.arguments = [{**run, "code": "1 / 1"}]
    result = plain(await daemon.client.workspace_execute_command_async(params))
    assert "error" not in result
    assert diagnostics(daemon, other) == []


async def test_runs_without_an_origin_publish_nothing(daemon: Daemon) -> None:
    before = dict(daemon.client.diagnostics)
    result = await daemon.run("1 / 0", session="diag")
    assert result["error"]["ename"] == "ZeroDivisionError"
    result = await daemon.run("1 / 0", session="diag", uri="file:///work/project/x.py")
    assert result["error"]["ename"] == "ZeroDivisionError"
    await daemon.request("runbridge/listSessions")  # all the daemon sent has arrived
    assert daemon.client.diagnostics == before


async def test_only_the_connection_that_started_the_run_gets_its_diagnostics(host: Host) -> None:
    a = await host.client("a")
    b = await host.client("b")
    await a.request("runbridge/openSession", {"name": "shared"})
    await b.request("runbridge/follow", {"session": "shared"})
    result = await a.request(
        "runbridge/run", {"session": "shared", "code": "x = 1\nx / 0", **where(4, 5)}
    )
    assert result["error"]["ename"] == "ZeroDivisionError"
    published = [n for n in a.notifications if n["method"] == "textDocument/publishDiagnostics"]
    assert len(published) == 1, published
    assert published[0]["params"]["uri"] == URI
    [diagnostic] = published[0]["params"]["diagnostics"]
    assert diagnostic["range"]["start"] == {"line": 5, "character": 0}
    assert diagnostic["message"] == "ZeroDivisionError: division by zero"

    await b.request("runbridge/listSessions")  # all the host sent b has arrived
    assert b.outputs(result["runId"]), "b follows the session: it sees the run's output"
    assert not [n for n in b.notifications if n["method"] == "textDocument/publishDiagnostics"]
    await a.leave()
    await b.leave()
