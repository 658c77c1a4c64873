"""Bad input never kills the daemon: every error is a JSON-RPC error naming what was wrong."""

from __future__ import annotations

import asyncio
import contextlib
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from runbridge.lsp.server import create_server
from tests.e2e.conftest import Daemon, plain, start_daemon

SESSION = "bad"
INVALID_PARAMS = -32602


@contextlib.asynccontextmanager
async def plain_shell_daemon(home: Path) -> AsyncIterator[Daemon]:
    """A daemon whose terminals run /bin/sh: no user rc files, the same on every machine."""
    saved = os.environ.get("SHELL")
    os.environ["SHELL"] = "/bin/sh"  # read once, when the daemon's environment is made
    try:
        starting = start_daemon(home)
        daemon = await starting.__aenter__()
    finally:
        if saved is None:
            del os.environ["SHELL"]
        else:
            os.environ["SHELL"] = saved
    try:
        yield daemon
    finally:
        await starting.__aexit__(None, None, None)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def prepared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Daemon]:
    """The module's daemon with a session holding some state."""
    async with plain_shell_daemon(tmp_path_factory.mktemp("bad-input")) as daemon:
        result = await daemon.run("x = 41\nprint('ready')", session=SESSION)
        assert result["status"] == "finished"
        yield daemon


async def rpc_error(daemon: Daemon, method: str, params: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(daemon.client.protocol.send_request_async(method, params), 30)
    return info.value


async def command_error(daemon: Daemon, command: str, arguments: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(execute_command(daemon, command, arguments), 30)
    return info.value


async def execute_command(daemon: Daemon, command: str, arguments: Any) -> Any:
    params = types.ExecuteCommandParams(command=command, arguments=arguments)
    return plain(await daemon.client.workspace_execute_command_async(params))


async def assert_still_serves(daemon: Daemon) -> None:
    """A run on the existing session works and sees the state set before the bad input."""
    result = await daemon.run("print(x + 1)", session=SESSION)
    assert result["status"] == "finished", result
    assert daemon.text(result["runId"]) == "42\n"


# -- every request with a missing and an ill-typed field ----------------------------

S = SESSION
#: A position at the start of the document.
AT_0 = {"line": 0, "character": 0}
PARAM_ERRORS: list[tuple[str, Any, str]] = [
    ("openSession", {}, "name"),
    ("openSession", None, "name"),
    ("openSession", {"name": 5}, "name"),
    ("openSession", {"name": "   "}, "name"),
    ("openSession", {"name": "n", "env": "A=1"}, "env"),
    ("openSession", {"name": "n", "env": {"A": 1}}, "env.A"),
    ("openSession", {"name": "n", "profile": 3}, "profile"),
    ("openSession", {"name": "n", "image": ["python3"]}, "image"),
    ("listSessions", [1, 2], "params"),
    ("listSessions", "junk", "params"),
    ("stopDaemon", [1], "params"),
    ("checkProfile", {"profile": 5}, "profile"),
    ("checkProfile", {"profile": ""}, "profile"),  # not "the default profile"
    ("listRemote", {"profile": 5}, "profile"),
    ("listRemote", {"profile": ""}, "profile"),
    ("listRemote", {"allProfiles": "yes"}, "allProfiles"),
    ("listRemote", {"profile": "local", "allProfiles": True}, "allProfiles"),
    ("openSession", {"name": "n", "attach": 7}, "attach"),
    ("openSession", {"name": "n", "attach": " "}, "attach"),
    ("closeSession", {"name": "n", "destroy": "yes"}, "destroy"),
    ("listApps", {}, "session"),
    ("listApps", {"session": 1}, "session"),
    ("openApp", {"session": S}, "app"),
    ("openApp", {"session": S, "app": "jupyter", "localPort": 70000}, "localPort"),
    ("openApp", {"session": S, "app": "jupyter", "port": "8081"}, "port"),
    ("closeApp", {}, "appId"),
    ("closeApp", {"appId": 3}, "appId"),
    ("listForwards", {"session": 4}, "session"),
    ("listForwards", {"session": ""}, "session"),
    ("openSession", {"name": "n", "profile": ""}, "profile"),
    ("openSession", {"name": "n", "image": " "}, "image"),
    ("run", {"session": S, "code": "1", "profile": ""}, "profile"),
    ("closeSession", {}, "name"),
    ("closeSession", {"name": []}, "name"),
    ("interrupt", {}, "session"),
    ("interrupt", {"session": 1}, "session"),
    ("restart", {}, "session"),
    ("restart", {"session": {"name": S}}, "session"),
    ("run", {"session": S}, "code"),
    ("run", {"session": S, "code": 1}, "code"),
    ("run", {"session": 2, "code": "1"}, "session"),
    ("run", {"session": S, "code": "1", "mode": 3}, "mode"),
    ("run", {"session": S, "code": "1", "mode": "fast"}, "mode"),
    ("run", {"session": S, "mode": "batch"}, "options.exec"),
    ("run", {"session": S, "code": "1", "options": []}, "options"),
    ("run", {"session": S, "code": "1", "options": {"timeout": "soon"}}, "options.timeout"),
    ("run", {"session": S, "code": "1", "options": {"timeout": -1}}, "options.timeout"),
    ("run", {"session": S, "code": "1", "options": {"exec": 5}}, "options.exec"),
    ("run", {"session": S, "code": "1", "uri": 7}, "uri"),
    ("run", {"session": S, "code": "1", "range": "1:2"}, "range"),
    ("run", {"session": S, "code": "1", "range": {"end": AT_0}}, "range.start"),
    (
        "run",
        {"session": S, "code": "1", "range": {"start": {"line": 0}, "end": AT_0}},
        "range.start.character",
    ),
    (
        "run",
        {"session": S, "code": "1", "range": {"start": AT_0, "end": {"line": "1", "character": 0}}},
        "range.end.line",
    ),
    (
        "run",
        {"session": S, "code": "1", "range": {"start": {"line": -1, "character": 0}, "end": AT_0}},
        "range.start.line",
    ),
    (
        "run",
        {"session": S, "code": "1", "range": {"start": {"line": 2, "character": 0}, "end": AT_0}},
        "range.end",
    ),
    ("upload", {"files": ["a"]}, "session"),
    ("upload", {"session": S}, "files"),
    ("upload", {"session": S, "files": "a.txt"}, "files"),
    ("upload", {"session": S, "files": ["a", 1]}, "files[1]"),
    ("upload", {"session": S, "files": [], "dest": 5}, "dest"),
    ("upload", {"session": S, "files": [], "workDoneToken": True}, "workDoneToken"),
    ("download", {"session": S, "files": ["a"]}, "dest"),
    ("download", {"files": ["a"], "dest": "/tmp"}, "session"),
    ("download", {"session": S, "files": {"a": 1}, "dest": "/tmp"}, "files"),
    ("listFiles", {}, "session"),
    ("listFiles", {"session": S, "path": 3}, "path"),
    ("openTerminal", {}, "session"),
    ("openTerminal", {"session": S, "rows": "40"}, "rows"),
    ("openTerminal", {"session": S, "rows": True}, "rows"),
    ("openTerminal", {"session": S, "cols": 0}, "cols"),
    ("openTerminal", {"session": S, "cols": 10001}, "cols"),
    ("closeTerminal", {}, "terminalId"),
    ("closeTerminal", {"terminalId": 3}, "terminalId"),
    # names and paths the file system cannot take are bad params too, never internal errors
    ("openSession", {"name": "\ud800"}, "name"),
    ("openSession", {"name": "a\x00b"}, "name"),
    ("closeSession", {"name": "a\x00b"}, "name"),
    ("openSession", {"name": "n", "env": {"": "1"}}, "env."),
    ("openSession", {"name": "n", "env": {"A=B": "1"}}, "env.A=B"),
    ("openSession", {"name": "n", "env": {"A\x00": "1"}}, "env.A\x00"),
    ("openSession", {"name": "n", "env": {"A": "1\x00"}}, "env.A"),
    ("openSession", {"name": "n", "env": {"K" * 5000 + "=": "1"}}, "env." + "K" * 40 + "…"),
    ("run", {"session": "", "code": "1"}, "session"),
    ("run", {"session": "  ", "code": "1"}, "session"),
    ("run", {"session": "\udc80", "code": "1"}, "session"),
    ("upload", {"session": S, "files": ["a", "b\x00"]}, "files[1]"),
    ("upload", {"session": S, "files": ["x" * 10_000]}, "files[0]"),
    ("upload", {"session": S, "files": [], "dest": "d\x00"}, "dest"),
    ("upload", {"session": S, "files": [], "dest": "d/" + "y" * 256}, "dest"),
    ("upload", {"session": S, "files": [], "dest": "\ud800"}, "dest"),
    ("download", {"session": S, "files": ["ok", "x\x00"], "dest": "/tmp"}, "files[1]"),
    ("download", {"session": S, "files": ["z" * 10_000], "dest": "/tmp"}, "files[0]"),
    ("download", {"session": S, "files": ["a"], "dest": "/tmp/\x00"}, "dest"),
    ("listFiles", {"session": S, "path": "a\x00b"}, "path"),
    ("listFiles", {"session": S, "path": "x" * 10_000}, "path"),
    ("listFiles", {"session": S, "path": "a/" * 2100}, "path"),
    ("history", {}, "session"),
    ("history", {"session": S, "limit": 0}, "limit"),
    ("history", {"session": S, "maxBytes": "10"}, "maxBytes"),
    ("history", {"session": S, "after": [S, 1]}, "after"),
    ("history", {"session": S, "after": {"runId": "", "seq": 1}}, "after.runId"),
    ("history", {"session": S, "after": {"runId": "r", "seq": 1.5}}, "after.seq"),
    ("run", {"session": S, "code": "1", "runId": ""}, "runId"),
    ("run", {"session": S, "code": "1", "runId": "a b"}, "runId"),
    ("run", {"session": S, "code": "1", "runId": 7}, "runId"),
    ("follow", {}, "session"),
    ("follow", {"session": S, "follow": "yes"}, "follow"),
    ("listTerminals", [1], "params"),
    ("attachTerminal", {}, "terminalId"),
    ("attachTerminal", {"terminalId": 3}, "terminalId"),
    ("variables", {}, "session"),
    ("variables", {"session": 3}, "session"),
    ("variables", {"session": ""}, "session"),
    ("variables", [S], "params"),
    ("bindDocument", {}, "uri"),
    ("bindDocument", {"uri": 5, "session": S}, "uri"),
    ("bindDocument", {"uri": "", "session": S}, "uri"),
    ("bindDocument", {"uri": "file:///a.py", "session": ""}, "session"),
    ("bindDocument", {"uri": "file:///a.py", "session": ["s"]}, "session"),
    ("cellAt", {"position": AT_0}, "uri"),
    ("cellAt", {"uri": "file:///a.py"}, "position"),
    ("cellAt", {"uri": "file:///a.py", "position": [0, 0]}, "position"),
    ("cellAt", {"uri": "file:///a.py", "position": {"line": 0}}, "position.character"),
    ("cellAt", {"uri": "file:///a.py", "position": {"line": -1, "character": 0}}, "position.line"),
]


@pytest.mark.parametrize(
    ("method", "params", "field"),
    PARAM_ERRORS,
    ids=[f"{m}-{f}-{i}" for i, (m, _, f) in enumerate(PARAM_ERRORS)],
)
async def test_bad_params_name_the_field(
    prepared: Daemon, method: str, params: Any, field: str
) -> None:
    error = await rpc_error(prepared, f"runbridge/{method}", params)
    assert error.code == INVALID_PARAMS, error
    assert field in error.message, error.message
    assert "Traceback" not in error.message
    assert plain(error.data) == {"kind": "InvalidParams", "field": field}
    await assert_still_serves(prepared)


NOTIFICATIONS = ["terminalInput", "resizeTerminal"]
COMMANDS = [
    "runbridge.server.run",
    "runbridge.server.upload",
    "runbridge.server.interrupt",
    "runbridge.server.restart",
    "runbridge.server.runCell",
    "runbridge.server.runAbove",
]


def test_every_request_method_and_command_is_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request method or command added to the daemon must be added to these tests."""
    monkeypatch.setenv("RUNBRIDGE_CONFIG_DIR", str(tmp_path))
    server = create_server()
    features = server.protocol.fm.features
    methods = {m.removeprefix("runbridge/") for m in features if m.startswith("runbridge/")}
    assert methods - set(NOTIFICATIONS) == {m for m, _, _ in PARAM_ERRORS}
    assert set(NOTIFICATIONS) <= methods
    assert set(server.protocol.fm.commands) == set(COMMANDS)


# -- unknown names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("closeSession", {"name": "ghost"}),
        ("interrupt", {"session": "ghost"}),
        ("restart", {"session": "ghost"}),
        ("download", {"session": "ghost", "files": ["a"], "dest": "/tmp"}),
        ("variables", {"session": "ghost"}),
    ],
)
async def test_unknown_session_is_named(prepared: Daemon, method: str, params: Any) -> None:
    error = await rpc_error(prepared, f"runbridge/{method}", params)
    assert error.code == -32011
    assert "'ghost'" in error.message
    assert SESSION in error.message  # the open sessions are listed
    assert plain(error.data) == {"kind": "SessionNotFound", "session": "ghost"}


@pytest.mark.parametrize("method", ["closeTerminal"])
async def test_unknown_terminal_is_named(prepared: Daemon, method: str) -> None:
    error = await rpc_error(prepared, f"runbridge/{method}", {"terminalId": "t-nope"})
    assert error.code == -32013
    assert "'t-nope'" in error.message
    assert plain(error.data) == {"kind": "TerminalNotFound", "terminal": "t-nope"}


async def test_unknown_profile_and_kernelspec_are_named(prepared: Daemon) -> None:
    error = await rpc_error(prepared, "runbridge/openSession", {"name": "p", "profile": "gpu9"})
    assert error.code == -32010
    assert "'gpu9'" in error.message and "local" in error.message
    error = await rpc_error(
        prepared, "runbridge/openSession", {"name": "k", "image": "no-such-kernel"}
    )
    assert error.code == -32021
    assert "'no-such-kernel'" in error.message and "python3" in error.message
    listed = await prepared.request("runbridge/listSessions")
    assert "k" not in {s["name"] for s in listed["sessions"]}


async def test_reopening_with_another_image_is_a_conflict(prepared: Daemon) -> None:
    error = await rpc_error(prepared, "runbridge/openSession", {"name": SESSION, "image": "r"})
    assert error.code == -32012
    assert f"'{SESSION}'" in error.message and "'r'" in error.message
    await assert_still_serves(prepared)


async def test_file_errors_are_named(prepared: Daemon, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.txt")
    error = await rpc_error(prepared, "runbridge/upload", {"session": SESSION, "files": [missing]})
    assert error.code == -32014 and missing in error.message
    error = await rpc_error(
        prepared, "runbridge/download", {"session": SESSION, "files": ["../x"], "dest": "/tmp"}
    )
    assert error.code == -32014 and "'../x'" in error.message
    error = await rpc_error(
        prepared, "runbridge/download", {"session": SESSION, "files": ["x"], "dest": "rel"}
    )
    assert error.code == -32014 and "'rel'" in error.message


async def test_odd_but_valid_session_names_work(prepared: Daemon) -> None:
    for name in ("long-" + "n" * 300, "../../etc/passwd", "ünï cødé"):
        info = await prepared.request("runbridge/openSession", {"name": name})
        assert info["name"] == name and info["created"] is True
        workdir = Path(info["workdir"])
        assert workdir.parent == prepared.home / "data" / "sessions"
        result = await prepared.run("import os; print(os.getcwd())", session=name)
        assert prepared.text(result["runId"]) == f"{workdir}\n"
        await prepared.request("runbridge/closeSession", {"name": name})
    await assert_still_serves(prepared)


async def test_names_that_shared_a_folder_have_their_own(prepared: Daemon) -> None:
    """The name "a/b" and the literal name of the folder that the first naming gave it (unsafe
    characters made '_', the crc32 appended) shared a work folder, transcript and kernel
    log. The literal name opens first: its folder stays its own."""
    literal = f"a_b-{zlib.crc32(b'a/b'):08x}"
    seen: dict[str, tuple[Path, Path]] = {}
    for name in (literal, "a/b"):
        info = await prepared.request("runbridge/openSession", {"name": name})
        result = await prepared.run(f"open('who.txt', 'a').write({name!r})", session=name)
        assert result["status"] == "finished", result
        seen[name] = (Path(info["workdir"]), Path(result["transcript"]))
    (work_literal, transcript_literal), (work_ab, transcript_ab) = seen[literal], seen["a/b"]
    assert work_literal != work_ab and transcript_literal != transcript_ab
    assert (work_literal / "who.txt").read_text() == literal
    assert (work_ab / "who.txt").read_text() == "a/b"
    assert literal not in transcript_ab.read_text()
    assert "a/b" not in transcript_literal.read_text()
    kernel_logs = prepared.home / "log" / "kernels"
    assert (kernel_logs / f"{work_literal.name}.log").is_file()
    assert (kernel_logs / f"{work_ab.name}.log").is_file()
    for name in seen:
        await prepared.request("runbridge/closeSession", {"name": name})


async def test_a_work_folder_of_the_first_naming_moves_to_the_name(prepared: Daemon) -> None:
    name = "old data/1"
    old = f"old_data_1-{zlib.crc32(name.encode()):08x}"
    sessions = prepared.home / "data" / "sessions"
    (sessions / old).mkdir(parents=True)
    (sessions / old / "kept.txt").write_text("kept\n")
    transcripts = prepared.home / "state" / "transcripts"
    record = '{"run": "r0", "kind": "stdout", "data": "before"}'
    (transcripts / f"{old}.jsonl").write_text(record + "\n")

    info = await prepared.request("runbridge/openSession", {"name": name})
    assert Path(info["workdir"]).parent == sessions
    assert Path(info["workdir"]).name != old
    result = await prepared.run("print(open('kept.txt').read(), end='')", session=name)
    assert prepared.text(result["runId"]) == "kept\n"
    transcript = Path(result["transcript"])
    assert transcript.parent == transcripts and transcript.name != f"{old}.jsonl"
    assert transcript.read_text().splitlines()[0] == record
    assert not (sessions / old).exists() and not (transcripts / f"{old}.jsonl").exists()
    await prepared.request("runbridge/closeSession", {"name": name})


# -- notifications ------------------------------------------------------------------


async def test_bad_notifications_do_not_kill_the_daemon(prepared: Daemon) -> None:
    term = await prepared.request("runbridge/openTerminal", {"session": SESSION})
    tid = term["terminalId"]
    junk: list[tuple[str, Any]] = [
        ("terminalInput", {}),
        ("terminalInput", None),
        ("terminalInput", [1, 2]),
        ("terminalInput", "junk"),
        ("terminalInput", {"terminalId": 5, "data": 1}),
        ("terminalInput", {"terminalId": tid, "data": {"keys": "ls"}}),
        ("terminalInput", {"terminalId": "t-unknown", "data": "ls\n"}),
        ("resizeTerminal", {}),
        ("resizeTerminal", {"terminalId": tid, "rows": "x"}),
        ("resizeTerminal", {"terminalId": tid, "rows": 0, "cols": -3}),
        ("resizeTerminal", {"terminalId": "t-unknown2", "rows": 10, "cols": 10}),
        ("resizeTerminal", 42),
    ]
    for method, params in junk:
        prepared.notify(f"runbridge/{method}", params)
    await assert_still_serves(prepared)
    # unknown terminals are reported to the editor by name
    await prepared.wait_for(
        lambda: (
            {"t-unknown", "t-unknown2"}
            <= {
                name
                for m in prepared.client.log_messages
                for name in ("t-unknown", "t-unknown2")
                if name in m.message
            }
        )
    )
    # the terminal itself still works
    prepared.notify("runbridge/resizeTerminal", {"terminalId": tid, "rows": 30, "cols": 100})
    prepared.notify("runbridge/terminalInput", {"terminalId": tid, "data": "echo ok-$((40+2))\n"})
    await prepared.wait_for(lambda: "ok-42" in "".join(prepared.terminal_data[tid]))
    closed = await prepared.request("runbridge/closeTerminal", {"terminalId": tid})
    assert closed == {"terminalId": tid}
    await prepared.wait_for(lambda: tid in prepared.terminal_exits)


# -- workspace/executeCommand --------------------------------------------------------


async def test_execute_command_run(prepared: Daemon) -> None:
    result = await execute_command(
        prepared, "runbridge.server.run", [{"session": SESSION, "code": "print(x * 2)"}]
    )
    assert result["status"] == "finished"
    assert result["exitCode"] == 0
    assert prepared.text(result["runId"]) == "82\n"


async def test_execute_command_upload(prepared: Daemon, tmp_path: Path) -> None:
    local = tmp_path / "cmd.txt"
    local.write_text("via command")
    result = await execute_command(
        prepared, "runbridge.server.upload", [{"session": SESSION, "files": [str(local)]}]
    )
    assert result == {"files": [{"path": "cmd.txt", "size": len("via command")}]}
    run = await prepared.run("print(open('cmd.txt').read())", session=SESSION)
    assert prepared.text(run["runId"]) == "via command\n"


async def test_execute_command_interrupt_and_restart(prepared: Daemon) -> None:
    info = await execute_command(prepared, "runbridge.server.interrupt", [{"session": SESSION}])
    assert info["name"] == SESSION
    await assert_still_serves(prepared)  # interrupting an idle session loses nothing
    result = await prepared.run("y = 7", session="cmd-restart")
    assert result["status"] == "finished"
    info = await execute_command(prepared, "runbridge.server.restart", [{"session": "cmd-restart"}])
    assert info["name"] == "cmd-restart" and info["state"] == "idle"
    result = await prepared.run("y", session="cmd-restart")
    assert result["exitCode"] == 1
    assert result["error"]["ename"] == "NameError"
    await prepared.request("runbridge/closeSession", {"name": "cmd-restart"})


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("arguments", [[], None, [{"session": SESSION}, {"session": SESSION}]])
async def test_execute_command_needs_exactly_one_argument(
    prepared: Daemon, command: str, arguments: Any
) -> None:
    error = await command_error(prepared, command, arguments)
    assert error.code == INVALID_PARAMS
    assert error.message.startswith(f"{command} takes exactly one object argument")


@pytest.mark.parametrize(
    ("command", "argument", "field"),
    [
        ("runbridge.server.run", {"session": SESSION}, "code"),
        ("runbridge.server.run", "print(1)", "params"),
        ("runbridge.server.upload", {"session": SESSION, "files": [3]}, "files[0]"),
        ("runbridge.server.interrupt", {}, "session"),
        ("runbridge.server.restart", {"session": 4}, "session"),
        ("runbridge.server.runCell", {"line": 0}, "uri"),
        ("runbridge.server.runCell", {"uri": "file:///a.py", "line": "0"}, "line"),
        ("runbridge.server.runCell", {"uri": "file:///not-open.py", "line": 0}, "uri"),
        ("runbridge.server.runAbove", {"uri": "file:///a.py", "line": -3}, "line"),
        ("runbridge.server.runAbove", {"uri": "file:///not-open.py", "line": 2}, "uri"),
    ],
)
async def test_execute_command_bad_argument_names_the_field(
    prepared: Daemon, command: str, argument: Any, field: str
) -> None:
    error = await command_error(prepared, command, [argument])
    assert error.code == INVALID_PARAMS
    assert field in error.message
    await assert_still_serves(prepared)


# -- property-based fuzzing ----------------------------------------------------------

# stopDaemon closes every session, which would end the fuzz's own; its bad params are
# checked above and its effect in test_session_host.py
METHODS = sorted({m for m, _, _ in PARAM_ERRORS} - {"stopDaemon"})
KNOWN = "known"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` three times out of four, else any JSON value."""
    return st.integers(0, 3).flatmap(lambda i: json_values if i == 0 else valid)


# Names come from a small set (or are junk), so the fuzz cannot open many kernels.
names = mostly(st.sampled_from(["fuzz", "default"]))
codes = mostly(st.sampled_from(["1 + 1", "print('f')", "raise ValueError", "input('?')"]))
files = mostly(st.lists(st.sampled_from(["a.txt", "sub/b", "../up", "/etc"]), max_size=3))
small_ints = mostly(st.integers(-2, 300))


def near_valid(required: dict[str, Any], **optional: Any) -> st.SearchStrategy[Any]:
    """Params with the method's fields present, some of them junk, plus optional extras."""
    return st.fixed_dictionaries(required, optional=optional)


#: Replaced by the id of a terminal the fuzz opened (the strategy cannot know the ids).
OPEN_TERMINAL = "<an open terminal>"


def method_params(method: str) -> st.SearchStrategy[Any]:
    tids = mostly(st.sampled_from([OPEN_TERMINAL, "t-none"]))
    shapes: dict[str, st.SearchStrategy[Any]] = {
        "openSession": near_valid(
            {"name": names},
            profile=mostly(st.just("local")),
            image=mostly(st.just("python3")),
            env=mostly(st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)),
        ),
        "listSessions": near_valid({}),
        "checkProfile": near_valid({}, profile=mostly(st.sampled_from(["local", "nope"]))),
        "listRemote": near_valid(
            {},
            profile=mostly(st.sampled_from(["local", "nope"])),
            allProfiles=mostly(st.booleans()),
        ),
        "listApps": near_valid({"session": names}),
        "openApp": near_valid(
            {"session": names, "app": mostly(st.sampled_from(["jupyter", "x"]))},
            localPort=mostly(st.integers(-1, 70000)),
            port=mostly(st.integers(-1, 70000)),
        ),
        "closeApp": near_valid({"appId": mostly(st.sampled_from(["app-none", ""]))}),
        "listForwards": near_valid({}, session=names),
        "closeSession": near_valid({"name": names}),
        "interrupt": near_valid({"session": names}),
        "restart": near_valid({"session": names}),
        "run": near_valid(
            {"session": names, "code": codes},
            mode=mostly(st.sampled_from(["query", "batch"])),
            options=mostly(near_valid({}, timeout=mostly(st.floats(0.5, 5)))),
            uri=json_values,
        ),
        "upload": near_valid({"session": names, "files": files}, dest=mostly(st.just("sub"))),
        "download": near_valid(
            {"session": names, "files": files, "dest": mostly(st.sampled_from(["/", "rel"]))}
        ),
        "listFiles": near_valid(
            {"session": names}, path=mostly(st.sampled_from([".", "sub", "../up", "/etc"]))
        ),
        "openTerminal": near_valid({"session": names}, rows=small_ints, cols=small_ints),
        "closeTerminal": near_valid({"terminalId": tids}),
        "history": near_valid(
            {"session": names},
            after=mostly(near_valid({"runId": st.text(max_size=4), "seq": small_ints})),
            limit=small_ints,
            maxBytes=small_ints,
        ),
        "follow": near_valid({"session": names}, follow=mostly(st.booleans())),
        "listTerminals": near_valid({}),
        "attachTerminal": near_valid({"terminalId": tids}),
        "variables": near_valid({"session": names}),
        "bindDocument": near_valid(
            {"uri": mostly(st.sampled_from(["file:///f.py", ""])), "session": names}
        ),
        "cellAt": near_valid(
            {"uri": mostly(st.just("file:///f.py"))},
            position=mostly(near_valid({"line": small_ints, "character": small_ints})),
        ),
        "terminalInput": near_valid({"terminalId": tids, "data": mostly(st.just("echo hi\n"))}),
        "resizeTerminal": near_valid({"terminalId": tids}, rows=small_ints, cols=small_ints),
    }
    return mostly(shapes[method])


@pytest_asyncio.fixture(loop_scope="session")
async def fuzz_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    """A daemon of its own: the fuzz may open sessions and terminals."""
    async with plain_shell_daemon(tmp_path / "home") as daemon:
        result = await daemon.run("secret = 1234", session=KNOWN)
        assert result["status"] == "finished"
        yield daemon


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_params_always_get_an_answer(fuzz_daemon: Daemon, data: st.DataObject) -> None:
    daemon = fuzz_daemon
    method = data.draw(st.sampled_from(METHODS + NOTIFICATIONS), label="method")
    params = data.draw(method_params(method), label="params")
    if isinstance(params, dict) and params.get("terminalId") == OPEN_TERMINAL:
        terminals = sorted(t for t in daemon.terminal_data if t not in daemon.terminal_exits)
        params["terminalId"] = terminals[0] if terminals else "t-none"
    if method in NOTIFICATIONS:
        daemon.notify(f"runbridge/{method}", params)
    else:
        request = daemon.client.protocol.send_request_async(f"runbridge/{method}", params)
        try:
            await asyncio.wait_for(request, 20)
            event(f"{method}: result")
        except JsonRpcException as error:
            event(f"{method}: error {error.code}")
            # a runbridge error, never an internal error (-32603: an unexpected exception)
            assert error.code == INVALID_PARAMS or -32099 <= error.code <= -32000, error
            assert error.message
            assert "Traceback" not in error.message
    # alive, and the known session keeps its state
    listed = await asyncio.wait_for(daemon.request("runbridge/listSessions"), 20)
    assert KNOWN in {s["name"] for s in listed["sessions"]}
    result = await asyncio.wait_for(daemon.run("print(secret)", session=KNOWN), 20)
    assert daemon.text(result["runId"]) == "1234\n"
