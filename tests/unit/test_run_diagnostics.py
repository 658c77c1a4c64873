"""A connection's run diagnostics (``runbridge.lsp.run_diagnostics``): where they go in the
document, what each run clears, what is published (the document's whole list each time)."""

from __future__ import annotations

from lsprotocol import types

from runbridge.lsp.run_diagnostics import RunDiagnostics
from runbridge.model import RunOutcome, RunResult, RunStatus, UserError
from runbridge.protocol import Position, RunOrigin

URI = "file:///work/analysis.py"
OTHER = "file:///work/other.py"
ZERO = UserError(
    "ZeroDivisionError",
    "division by zero",
    [
        "ZeroDivisionError                         Traceback (most recent call last)",
        "Cell In[3], line 2\n      1 a = 1\n----> 2 b = a / 0\n",
        "ZeroDivisionError: division by zero",
    ],
)


def failed(error: UserError = ZERO) -> RunResult:
    return RunResult("r", RunOutcome(RunStatus.FINISHED, 1, error=error), "")


def ok() -> RunResult:
    return RunResult("r", RunOutcome(RunStatus.FINISHED, 0), "")


def origin(
    first: int, last: int, uri: str = URI, start_char: int = 0, end_char: int = 9
) -> RunOrigin:
    return RunOrigin(uri, Position(first, start_char), Position(last, end_char))


class Editor:
    """What the connection's editor was sent."""

    def __init__(self, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.sent: list[tuple[str, list[types.Diagnostic]]] = []
        self.store = RunDiagnostics(lambda uri, d: self.sent.append((uri, d)), lambda: encoding)

    def lines(self, uri: str = URI) -> list[int]:
        """The lines of the diagnostics last published for ``uri``."""
        last = [d for u, d in self.sent if u == uri][-1]
        return sorted(d.range.start.line for d in last)

    def run(self, where: RunOrigin, code: str, result: RunResult) -> None:
        mark = self.store.run_started(where)
        self.store.run_ended(mark, code, result)


def test_a_failing_run_puts_an_error_on_its_raising_line_mapped_through_the_range() -> None:
    editor = Editor()
    editor.run(origin(10, 11), "a = 1\nb = a / 0", failed())
    [(uri, [diagnostic])] = editor.sent
    assert uri == URI
    assert diagnostic.range == types.Range(types.Position(11, 0), types.Position(11, 9))
    assert diagnostic.message == "ZeroDivisionError: division by zero"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.source == "runbridge"


def test_a_good_run_over_the_same_lines_clears_it_and_nothing_is_sent_when_nothing_changes() -> (
    None
):
    editor = Editor()
    editor.run(origin(10, 11), "a = 1\nb = a / 0", failed())
    mark = editor.store.run_started(origin(11, 11))
    assert editor.sent[-1] == (URI, [])  # cleared as the run starts
    editor.store.run_ended(mark, "b = a / 1", ok())
    assert len(editor.sent) == 2
    editor.run(origin(11, 11), "b = a / 1", ok())
    assert len(editor.sent) == 2, "no diagnostic on those lines: nothing to send"


def test_runs_over_other_lines_and_other_documents_keep_theirs() -> None:
    editor = Editor()
    editor.run(origin(0, 1), "a = 1\nb = a / 0", failed())
    editor.run(origin(20, 21), "a = 1\nb = a / 0", failed())
    assert editor.lines() == [1, 21]
    editor.run(origin(0, 1, OTHER), "a = 1\nb = a / 0", failed())
    assert editor.lines(OTHER) == [1]
    editor.run(origin(19, 25), "print('fixed')", ok())
    assert editor.lines() == [1]
    assert editor.store.get(OTHER)[0].range.start.line == 1


def test_a_run_queued_behind_a_failing_one_clears_its_error_when_it_ends() -> None:
    editor = Editor()
    first = editor.store.run_started(origin(5, 6))
    second = editor.store.run_started(origin(5, 6))
    editor.store.run_ended(first, "a = 1\nb = a / 0", failed())
    assert editor.lines() == [6]
    editor.store.run_ended(second, "a = 1\nb = a / 1", ok())
    assert editor.sent[-1] == (URI, [])


def test_a_range_that_ends_at_the_start_of_a_line_does_not_cover_it() -> None:
    editor = Editor()
    editor.run(origin(3, 4), "a = 1\nb = a / 0", failed())
    editor.run(origin(1, 4, end_char=0), "x = 1\ny = 2\nz = 3\n", ok())
    assert editor.lines() == [4]


def test_an_error_line_past_the_range_is_not_placed() -> None:
    editor = Editor()
    editor.run(origin(7, 7), "a = 1\nb = a / 0", failed())  # the code does not fit the range
    assert editor.sent == []


def test_columns_of_a_selection_that_starts_inside_a_line_in_the_agreed_encoding() -> None:
    error = UserError(
        "TypeError",
        "bad",
        ["Traceback (most recent call last):", '  File "<input>", line 1, in <module>', "E: x"],
    )
    code = "s = '😀é' + 1"  # a selection starting at character 8 of its line
    for encoding, end in (("utf-16", 8 + 13), ("utf-8", 8 + 16), ("utf-32", 8 + 12)):
        editor = Editor(encoding)
        editor.run(origin(2, 2, start_char=8, end_char=30), code, failed(error))
        [(_, [diagnostic])] = editor.sent
        assert diagnostic.range.start == types.Position(2, 8), encoding
        assert diagnostic.range.end == types.Position(2, end), encoding


def test_a_run_without_uri_and_range_publishes_nothing() -> None:
    editor = Editor()
    editor.store.run_ended(editor.store.run_started(None), "1 / 0", failed())
    assert editor.sent == []
