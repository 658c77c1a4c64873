"""Where a run's exception was raised in the sent code (``runbridge.lsp.error_location``),
from tracebacks as the backends give them: the cases the editors' own traceback parsers
were tested with, moved here when the daemon took the job over, and a few more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runbridge.backends.backendai.console import user_error_from_stderr
from runbridge.lsp.error_location import ErrorLocation, locate_error
from runbridge.model import RunStatus, UserError
from tests.sinks import RecordingSink
from tests.unit.test_kernel_run import RECORDED, FakeKernel, cell

Fixture = dict[str, Any]

#: The cases, by where they come from (each group's "about" says how they were collected).
CASES: dict[str, Any] = json.loads(
    Path(__file__).with_name("tracebacks.json").read_text(encoding="utf-8")
)
IPY: dict[str, Fixture] = CASES["IPY"]["cases"]
PLAIN: dict[str, Fixture] = CASES["PLAIN"]["cases"]
OLD: dict[str, Fixture] = CASES["OLD"]["cases"]
COLUMNS: dict[str, Fixture] = CASES["COLUMNS"]["cases"]


def error_of(f: Fixture) -> UserError:
    return UserError(f["ename"], f["evalue"], list(f["traceback"]))


def locate(f: Fixture, code: str | None = None) -> ErrorLocation | None:
    return locate_error(error_of(f), f["code"] if code is None else code)


def line(f: Fixture, code: str | None = None) -> int | None:
    where = locate(f, code)
    return None if where is None else where.line


def columns(f: Fixture) -> tuple[int, int, int] | None:
    where = locate(f)
    return None if where is None else (where.line, where.start, where.end)


# -- ipykernel (IPython >= 8.5 "Cell In[N], line L") ----------------------------------------


def test_points_at_the_raising_line_from_its_first_non_blank_to_its_end() -> None:
    assert locate(IPY["zerodiv"]) == ErrorLocation(3, 0, 5, "ZeroDivisionError: division by zero")
    assert locate(IPY["name"]) == ErrorLocation(
        1, 0, 21, "NameError: name 'undefined_name' is not defined"
    )


def test_uses_the_innermost_frame_of_the_sent_code() -> None:
    # "return 1 / a", not "f(0)" (6) or "return g(a)" (1)
    assert columns(IPY["nested"]) == (4, 4, 16)


def test_stops_at_the_last_user_frame_when_the_error_is_raised_in_a_library() -> None:
    where = locate(IPY["library"])
    assert where is not None and where.line == 2
    assert where.message == (
        "JSONDecodeError: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )


def test_ignores_frames_of_functions_defined_by_earlier_cells() -> None:
    # Cell In[1], line 2 is in another cell; line 2 of the sent code is h("x").
    assert line(IPY["crosscell"]) == 1
    # Even when the earlier cell's line would be out of range for the sent code, only
    # In[2]'s frame counts.
    assert locate(IPY["crosscell"], 'h("x")') is None


def test_syntax_and_indentation_errors_at_their_caret() -> None:
    where = locate(IPY["syntax"])
    assert where == ErrorLocation(
        1, 4, 5, "SyntaxError: '(' was never closed (1600935527.py, line 2)"
    )
    assert columns(IPY["syntax2"]) == (1, 7, 7)  # after "b = 2 +": where the code ends
    assert columns(IPY["indent"]) == (1, 0, 1)


def test_reads_the_last_exception_of_a_chain() -> None:
    assert locate(IPY["chained"]) == ErrorLocation(3, 4, 31, "ValueError: missing")
    # The cause was raised by an earlier cell (In[1], line 4): the sent code is In[2].
    where = locate(IPY["causeFromEarlierCell"])
    assert where is not None and (where.line, where.message) == (2, "ValueError: bad input")


# -- Backend.AI / plain Python (File "<input>", line L) -------------------------------------


def test_plain_uses_the_innermost_input_frame() -> None:
    assert locate(PLAIN["inputNested"]) == ErrorLocation(
        1, 4, 17, "ZeroDivisionError: division by zero"
    )


def test_plain_accepts_string_and_stdin() -> None:
    assert line(PLAIN["stringZerodiv"]) == 1
    # "  y = (": the caret is under "(" of the stripped line shown
    assert locate(PLAIN["stdinSyntax"]) == ErrorLocation(
        2, 6, 7, "SyntaxError: '(' was never closed"
    )


def test_plain_ignores_the_runner_and_library_frames() -> None:
    assert columns(PLAIN["inputSyntax"]) == (1, 7, 7)  # not the runner's "^^^^" line
    assert line(PLAIN["inputLibrary"]) == 1


def test_plain_reads_the_last_exception_of_a_chain() -> None:
    assert line(PLAIN["inputChained"]) == 3  # not line 2, where the KeyError was


# -- older IPython formats ----------------------------------------------------------------------


def test_ipython7_takes_the_arrow_line_after_the_sent_cells_header() -> None:
    assert line(OLD["ipython7CrossCell"]) == 1
    assert line(OLD["ipython7Library"]) == 3  # not the library's "--> 357"
    assert columns(OLD["ipython7Syntax"]) == (1, 7, 7)


def test_ipython80_takes_the_arrow_line_not_the_cell_line() -> None:
    assert line(OLD["ipython80"]) == 2
    # no line in the frame: the evalue's "(2431125587.py, line 3)"; the caret still counts
    assert columns(OLD["ipython80Syntax"]) == (2, 7, 7)


# -- columns of syntax errors ---------------------------------------------------------------------


def test_a_syntax_error_column_counts_the_indentation_the_traceback_left_out() -> None:
    assert columns(COLUMNS["ipyIndented"]) == (2, 19, 19)  # the end of "        return (a +"
    assert columns(COLUMNS["ipyUnpacking"]) == (1, 7, 8)  # "*b"
    assert columns(COLUMNS["plainIndentedUnpacking"]) == (1, 18, 19)


def test_a_tab_indented_syntax_error_column() -> None:
    # "\tx = (1,": "(" is at 5, whether the tab was shown (Python) or not (IPython)
    assert columns(COLUMNS["ipyTabs"]) == (1, 5, 6)
    assert columns(COLUMNS["plainTabs"]) == (1, 5, 6)


def test_carets_under_other_code_give_the_whole_line() -> None:
    # the sent code's line 2 differs from the line the carets are under
    where = locate(IPY["syntax"], "x = 1\n    y = [(\n")
    assert where is not None and (where.line, where.start, where.end) == (1, 4, 10)


# -- what it refuses ------------------------------------------------------------------------------


def test_no_location_when_the_line_is_outside_the_sent_code() -> None:
    assert locate(IPY["zerodiv"], "x = 1\ny = 0\nprint(x)") is None  # line 4 of 3 lines
    assert locate(PLAIN["inputNested"], "") is None


def test_falls_back_to_an_earlier_frame_of_the_sent_code_when_the_innermost_is_out_of_range() -> (
    None
):
    # e.g. a dataclass __init__ generated with the file name "<string>": its line 3 is not ours.
    tb = [
        "Traceback (most recent call last):",
        '  File "<string>", line 2, in <module>',
        '  File "<string>", line 3, in __init__',
        "TypeError: bad",
    ]
    assert locate_error(UserError("TypeError", "bad", tb), "a = 1\nb = A()") == ErrorLocation(
        1, 0, 7, "TypeError: bad"
    )


def test_no_location_without_a_frame_of_the_sent_code() -> None:
    from_file = UserError(
        "RuntimeError",
        "x",
        [
            "Traceback (most recent call last):",
            '  File "/srv/main.py", line 3, in <module>',
            "RuntimeError: x",
        ],
    )
    ten_lines = "\n".join(f"x{i} = {i}" for i in range(10))
    assert locate_error(from_file, ten_lines) is None
    assert locate_error(UserError("Error", "", []), ten_lines) is None
    # The "(file, line N)" of an evalue is read for syntax errors only.
    interrupt = UserError("KeyboardInterrupt", "", ["KeyboardInterrupt: (x, line 2)"])
    assert locate_error(interrupt, ten_lines) is None


def test_a_cell_in_mentioned_inside_a_message_is_not_a_frame() -> None:
    tb = [
        "Traceback (most recent call last):",
        '  File "<input>", line 1, in <module>',
        "ValueError: see Cell In[9], line 7",
    ]
    error = UserError("ValueError", "see Cell In[9], line 7", tb)
    where = locate_error(error, "\n".join(f"x{i} = {i}" for i in range(9)))
    assert where is not None and where.line == 0


# -- the errors as the backends make them -----------------------------------------------------


async def test_the_kernel_cores_error_of_a_recorded_run() -> None:
    """The run core's outcome for a real ipykernel run (colours and all) locates its line."""
    code = RECORDED["outputs"]["code"]
    outcome = await FakeKernel(cell("outputs")).core.execute(code, RecordingSink(), None)
    assert outcome.status == RunStatus.FINISHED and outcome.error is not None
    assert locate_error(outcome.error, code) == ErrorLocation(
        8, 0, 5, "ZeroDivisionError: division by zero"
    )


def test_the_backendai_error_read_from_stderr() -> None:
    stderr = "\n".join(PLAIN["inputNested"]["traceback"]) + "\n"
    error = user_error_from_stderr(stderr)
    assert error is not None
    assert locate_error(error, PLAIN["inputNested"]["code"]) == ErrorLocation(
        1, 4, 17, "ZeroDivisionError: division by zero"
    )
