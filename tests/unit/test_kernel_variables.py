"""The variables' two kernel answers read back: the silent run's user expression (evaluated
here in a real IPython shell's namespace) and the debugger's ``inspectVariables`` reply
(as ipykernel 7.4 sends it)."""

from __future__ import annotations

from typing import Any

import pytest

from runbridge.backends.kernel import variables
from runbridge.backends.kernel.variables import (
    EXPRESSION,
    KEY,
    VariablesError,
    from_debug_reply,
    from_user_expression,
)
from runbridge.model import Variable


def reply_of(text: str) -> dict[str, Any]:
    return {
        "status": "ok",
        "user_expressions": {KEY: {"status": "ok", "data": {"text/plain": text}}},
    }


def test_the_expression_binds_nothing_and_keeps_values_short() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("import os\nbig = list(range(10**5))\nname = 'x' * 500\n_hidden = 1")
        before = set(shell.user_ns)
        found = from_user_expression(reply_of(repr(shell.ev(EXPRESSION))))
        assert set(shell.user_ns) == before
        listed = {v.name: v for v in found.variables}
        assert listed["big"].size == "len 100000"
        assert len(listed["big"].value) <= variables.REPR_CHARS
        assert listed["big"].value.startswith("[0, 1, 2")
        assert len(listed["name"].value) == variables.REPR_CHARS
        assert "..." in listed["name"].value  # reprlib elides the middle
        assert "os" not in listed and "_hidden" not in listed and "In" not in listed
        assert not found.truncated
        # past the limit the list is cut, and says so
        private: dict[str, Any] = {}
        exec(variables.SOURCE, private)
        cut = from_user_expression(reply_of(repr(private["variables"](1, 200))))
        assert [v.name for v in cut.variables] == ["big"] and cut.truncated
    finally:
        InteractiveShell.clear_instance()


def test_a_failed_expression_is_an_error() -> None:
    failed = {"user_expressions": {KEY: {"status": "error", "ename": "NameError"}}}
    with pytest.raises(VariablesError, match="NameError"):
        from_user_expression(failed)
    with pytest.raises(VariablesError):
        from_user_expression(reply_of("'not json'"))
    with pytest.raises(VariablesError, match="no reply"):
        from_user_expression({})


def test_the_debuggers_reply_is_filtered_like_the_silent_run() -> None:
    reply = {
        "seq": 3,
        "type": "response",
        "request_seq": 3,
        "success": True,
        "command": "inspectVariables",
        "body": {
            "variables": [
                {"name": "special variables", "value": "", "type": "", "variablesReference": 9},
                {"name": "function variables", "value": "", "type": "", "variablesReference": 8},
                {"name": "x", "value": "1", "type": "int", "variablesReference": 0},
                {"name": "_p", "value": "2", "type": "int", "variablesReference": 0},
                {"name": "os", "value": "<module 'os'>", "type": "module"},
                {"name": "Out", "value": "{}", "type": "dict"},
                {"name": "long", "value": "'" + "y" * 400 + "'", "type": "str"},
                {"name": "a", "value": "[1]", "type": "list", "variablesReference": 5},
            ]
        },
    }
    found = from_debug_reply(reply)
    assert [v.name for v in found.variables] == ["a", "long", "x"]
    assert found.variables[0] == Variable("a", "list", "[1]", None)
    assert len(found.variables[1].value) == variables.REPR_CHARS
    with pytest.raises(VariablesError):
        from_debug_reply({})
    with pytest.raises(VariablesError, match="not stopped"):
        from_debug_reply({"success": False, "message": "not stopped"})
