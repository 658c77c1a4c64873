"""``runbridge/variables`` end to end on real ipykernels: the user's variables from a silent
run when idle (leaving ``Out``, ``_`` and the execution count alone), from the debugger
while a run is busy, and never a kernel started for it."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon, plain, start_daemon, start_run
from tests.e2e.helpers import error_data, open_session, rpc_error

DEFINE = """\
import os, json as _json_module
class Shaped:
    shape = (3, 4)
    def __repr__(self):
        return "Shaped()"
count = 42
items = [1, 2, 3]
table = {"a": 1, "b": [2]}
grid = Shaped()
long_text = "x" * 1000
_private = 1
def greet(name):
    return "hi " + name
count
"""

#: What the kernel says about its history: Out, _, execution count and In.
HISTORY = "print(len(Out), _, get_ipython().execution_count, len(In))"


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in result["variables"]}


async def variables(daemon: Daemon, session: str) -> dict[str, Any]:
    result = await daemon.request("runbridge/variables", {"session": session})
    assert result["session"] == session
    return result


async def test_variables_of_an_idle_session(daemon: Daemon) -> None:
    result = await daemon.run(DEFINE, session="vars")
    assert result["status"] == "finished"
    found = by_name(await variables(daemon, "vars"))
    assert found["count"] == {"name": "count", "type": "int", "value": "42", "size": None}
    assert found["items"] == {"name": "items", "type": "list", "value": "[1, 2, 3]",
                              "size": "len 3"}  # fmt: skip
    assert found["table"]["type"] == "dict"
    assert found["table"]["value"] == "{'a': 1, 'b': [2]}"
    assert found["table"]["size"] == "len 2"
    assert found["grid"] == {"name": "grid", "type": "Shaped", "value": "Shaped()",
                             "size": "(3, 4)"}  # fmt: skip
    # code, not data (as VS Code's Jupyter variables view): functions and classes are left out
    assert "greet" not in found and "Shaped" not in found and "print" not in found
    # a short repr: at most 200 characters, the length where cheap
    assert len(found["long_text"]["value"]) <= 200
    assert found["long_text"]["value"].startswith("'xxx")
    assert found["long_text"]["size"] == "len 1000"
    # no _names, modules, or IPython's own names; sorted by name
    names = list(found)
    assert names == sorted(names)
    for hidden in ("_private", "_json_module", "os", "In", "Out", "exit", "quit", "get_ipython"):
        assert hidden not in found, hidden


async def test_variables_leave_history_out_and_the_count_alone(daemon: Daemon) -> None:
    result = await daemon.run("marker = 'm'\n'last'", session="quiet")
    assert result["status"] == "finished"
    probe = await daemon.run(HISTORY, session="quiet")
    before = daemon.text(probe["runId"]).split()
    # the probe itself adds one run; run it again with no variables asked in between
    probe = await daemon.run(HISTORY, session="quiet")
    baseline = daemon.text(probe["runId"]).split()
    for _ in range(3):
        found = by_name(await variables(daemon, "quiet"))
        assert found["marker"]["value"] == "'m'"
    probe = await daemon.run(HISTORY, session="quiet")
    after = daemon.text(probe["runId"]).split()
    # each probe run moves the count and In by one; the variables requests moved nothing
    assert [int(before[2]) + 1, int(before[3]) + 1] == [int(baseline[2]), int(baseline[3])]
    assert [int(baseline[2]) + 1, int(baseline[3]) + 1] == [int(after[2]), int(after[3])]
    assert before[:2] == baseline[:2] == after[:2] == ["1", "last"]  # Out and _ unchanged
    # no name was left behind in the user namespace
    check = await daemon.run("print(sorted(k for k in globals() if 'runbridge' in k))", "quiet")
    assert daemon.text(check["runId"]) == "[]\n"


async def test_a_thousand_variables(daemon: Daemon) -> None:
    code = "\n".join(f"v{i:04d} = {i}" for i in range(1000))
    result = await daemon.run(code, session="many")
    assert result["status"] == "finished"
    listed = await variables(daemon, "many")
    assert "truncated" not in listed
    found = by_name(listed)
    assert len([n for n in found if n.startswith("v")]) == 1000
    assert found["v0999"] == {"name": "v0999", "type": "int", "value": "999", "size": None}


async def test_variables_while_a_run_is_busy_come_from_the_debugger(daemon: Daemon) -> None:
    result = await daemon.run("ready = [1, 2]\ndef helper(): pass", session="busy")
    assert result["status"] == "finished"
    task = await start_run(
        daemon, "busy", "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", "sleeping"
    )
    try:
        found = by_name(await variables(daemon, "busy"))
        assert not task.done()  # answered while the run still sleeps
        assert found["ready"] == {"name": "ready", "type": "list", "value": "[1, 2]",
                                  "size": None}  # fmt: skip
        assert "time" not in found  # a module
        assert "helper" not in found  # a function
    finally:
        await daemon.request("runbridge/interrupt", {"session": "busy"})
    assert (await task)["status"] == "interrupted"
    # idle again: the silent run gives the same names (with their sizes)
    idle = by_name(await variables(daemon, "busy"))
    assert set(idle) == set(found)
    assert idle["ready"]["size"] == "len 2"


async def test_unknown_session_is_not_opened(daemon: Daemon) -> None:
    try:
        await daemon.request("runbridge/variables", {"session": "never-opened"})
    except JsonRpcException as error:
        assert error.code == -32011
        assert plain(error.data) == {"kind": "SessionNotFound", "session": "never-opened"}
    else:
        raise AssertionError("variables of a session that is not open")
    listed = await daemon.request("runbridge/listSessions")
    assert "never-opened" not in {s["name"] for s in listed["sessions"]}


# -- kernels that are not stock Python ipykernels ---------------------------------------------

#: ipykernel without debugpy (it cannot be imported): no debugger in supported_features.
NO_DEBUGGER = (
    "import sys; sys.modules['debugpy'] = None; "
    "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
)


def kernelspec(root: Path, name: str, language: str, argv: list[str]) -> None:
    spec = root / "kernels" / name
    spec.mkdir(parents=True)
    kernel = {"argv": argv, "display_name": name, "language": language}
    (spec / "kernel.json").write_text(json.dumps(kernel))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def specs_daemon() -> AsyncIterator[Daemon]:
    """A daemon whose kernelspecs include ipykernels that say they are another language,
    with and without a debugger, and a Python one without a debugger."""
    home = Path(tempfile.mkdtemp(prefix="rb-vars-"))
    stock = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    bare = [sys.executable, "-c", NO_DEBUGGER, "-f", "{connection_file}"]
    kernelspec(home / "jupyter", "other-debugger", "other", stock)
    kernelspec(home / "jupyter", "other-bare", "other", bare)
    kernelspec(home / "jupyter", "python-bare", "python", bare)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(home / "jupyter"))
        async with start_daemon(home / "home") as started:
            yield started


async def test_another_language_with_a_debugger_gets_names_and_types(
    specs_daemon: Daemon,
) -> None:
    daemon = specs_daemon
    await open_session(daemon, "dbg", image="other-debugger")
    result = await daemon.run("numbers = [4, 5]", "dbg")
    assert result["status"] == "finished"
    found = by_name(await variables(daemon, "dbg"))
    assert found["numbers"] == {"name": "numbers", "type": "list", "value": "[4, 5]",
                                "size": None}  # fmt: skip


async def test_another_language_without_a_debugger_is_not_available(specs_daemon: Daemon) -> None:
    daemon = specs_daemon
    await open_session(daemon, "bare", image="other-bare")
    result = await daemon.run("numbers = [4, 5]", "bare")
    assert result["status"] == "finished"
    error = await rpc_error(daemon, "runbridge/variables", {"session": "bare"})
    assert error.code == -32023
    assert "not available for this kernel" in error.message
    assert "'other-bare'" in error.message and "'bare'" in error.message
    assert error_data(error) == {"kind": "Unsupported", "session": "bare"}
    # the session is unchanged
    result = await daemon.run("print(numbers)", "bare")
    assert daemon.text(result["runId"]) == "[4, 5]\n"


async def test_python_without_a_debugger_while_busy_is_not_available(
    specs_daemon: Daemon,
) -> None:
    daemon = specs_daemon
    await open_session(daemon, "plain", image="python-bare")
    result = await daemon.run("numbers = [4, 5]", "plain")
    assert result["status"] == "finished"
    assert by_name(await variables(daemon, "plain"))["numbers"]["size"] == "len 2"
    task = await start_run(
        daemon, "plain", "import time\nprint('zzz', flush=True)\ntime.sleep(60)", "zzz"
    )
    try:
        error = await rpc_error(daemon, "runbridge/variables", {"session": "plain"})
        assert error.code == -32023
        assert "while a run is busy" in error.message and "no debugger" in error.message
        assert not task.done()
    finally:
        await daemon.request("runbridge/interrupt", {"session": "plain"})
    assert (await task)["status"] == "interrupted"
