"""Attaching to kernels runbridge did not create, through the real daemon against stock
servers (a Jupyter Server, and a Kernel Gateway started with ``list_kernels``).

On Jupyter Server the test starts a kernel as JupyterLab does (``POST /api/sessions`` of a
notebook): ``runbridge/listRemote`` lists it with its notebook's path and leaves out
runbridge's own kernels; ``openSession {attach}`` binds a name to it (its variables kept,
its notebook's folder the work folder), ``closeSession`` lets go of it (the server still
has it), ``destroy: true`` ends it. A kernel of no notebook (``POST /api/kernels``) has no
known folder: files and terminals are ``Unsupported`` there. On Kernel Gateway, a kernel
started by ``POST /api/kernels`` is listed and attached the same way; one that lists
nothing (the default) makes listRemote a ``BackendError`` saying how to allow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.cli_host import host_env
from tests.conftest import PYTHON, isolated_env
from tests.e2e.conftest import Daemon, start_daemon
from tests.e2e.helpers import error_data, open_session, rpc_error
from tests.jupyter.conftest import profile
from tests.jupyter.servers import JupyterServer, KernelGateway, ServerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with JupyterServer(tmp_path_factory.mktemp("attach-js")) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with KernelGateway(tmp_path_factory.mktemp("attach-kg"), list_kernels=True) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(jupyter_server: ServerProcess, gateway: ServerProcess) -> AsyncIterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="rb-jup-attach-"))
    options = {
        "profiles": {
            "jup": profile(jupyter_server.url, jupyter_server.token),
            "kg": profile(gateway.url, gateway.token),
        },
        "profile": "jup",
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SHELL", "/bin/sh")
        async with start_daemon(home, init_options=options) as started:
            yield started


async def server_api(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    """A REST call to the server with its token, as JupyterLab makes it."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.request(
            method, path, json=body, headers={"Authorization": f"token {server.token}"}
        )
    response.raise_for_status()
    return response.json() if response.content else None


async def remote(daemon: Daemon, profile_name: str) -> dict[str, dict[str, Any]]:
    listed = await daemon.request("runbridge/listRemote", {"profile": profile_name})
    assert listed["profile"] == profile_name
    return {entry["id"]: entry for entry in listed["sessions"]}


async def kernel_ids(server: ServerProcess) -> list[str]:
    return [k["id"] for k in await server_api(server, "GET", "/api/kernels")]


async def test_notebook_kernel_listed_attached_detached_destroyed(
    daemon: Daemon, jupyter_server: ServerProcess
) -> None:
    (jupyter_server.root / "work").mkdir()
    (jupyter_server.root / "work" / "data.csv").write_text("a,b\n1,2\n")
    notebook = await server_api(
        jupyter_server,
        "POST",
        "/api/sessions",
        {"path": "work/analysis.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
    )
    kernel_id = notebook["kernel"]["id"]
    own = await open_session(daemon, "rb-own")
    assert own["remoteId"] and "attached" not in own

    listed = await remote(daemon, "jup")
    assert own["remoteId"] not in listed, listed  # runbridge's own kernel
    entry = listed[kernel_id]
    assert entry["label"] == "work/analysis.ipynb"
    assert entry["details"] == {
        "kernelName": "python3", "path": "work/analysis.ipynb", "type": "notebook",
        "connections": entry["details"]["connections"],
    }  # fmt: skip
    assert entry["description"].startswith(f"python3 · {entry['state']} · ")
    assert entry["attachedAs"] is None and isinstance(entry["lastActivity"], float)

    info = await open_session(daemon, "nb", attach=kernel_id)
    assert info["created"] is False and info["attached"] is True
    assert info["remoteId"] == kernel_id and info["workdir"] == "work"
    assert info["image"] == "python3" and info["state"] == "idle"
    result = await daemon.run("x = 41\nimport os\nprint(os.path.basename(os.getcwd()))", "nb")
    assert daemon.text(result["runId"]) == "work\n"  # the notebook's folder
    files = await daemon.request("runbridge/listFiles", {"session": "nb"})
    assert [e["name"] for e in files["entries"]] == ["data.csv"]
    assert (await remote(daemon, "jup"))[kernel_id]["attachedAs"] == "nb"

    closed = await daemon.request("runbridge/closeSession", {"name": "nb"})
    assert closed["state"] == "closed"
    assert closed["message"] == "session nb detached (it keeps running on the server)"
    assert kernel_id in await kernel_ids(jupyter_server)  # let go of, not shut down
    sessions = await server_api(jupyter_server, "GET", "/api/sessions")
    assert "work/analysis.ipynb" in [s["path"] for s in sessions]

    await open_session(daemon, "nb2", attach=kernel_id)
    result = await daemon.run("print(x + 1)", "nb2")
    assert daemon.text(result["runId"]) == "42\n"  # variables kept across the detach

    await daemon.request("runbridge/closeSession", {"name": "nb2", "destroy": True})
    assert kernel_id not in await kernel_ids(jupyter_server)
    sessions = await server_api(jupyter_server, "GET", "/api/sessions")
    assert "work/analysis.ipynb" not in [s["path"] for s in sessions]
    await daemon.request("runbridge/closeSession", {"name": "rb-own"})


async def test_attach_errors(daemon: Daemon, jupyter_server: ServerProcess) -> None:
    kernel = await server_api(jupyter_server, "POST", "/api/kernels", {"name": "python3"})
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "e1", "attach": kernel["id"], "image": "python3"}
    )
    assert error.code == -32602 and error_data(error)["field"] == "image", error
    unknown = "00000000-0000-4000-8000-000000000000"
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "e1", "attach": unknown})
    assert error.code == -32020 and unknown in error.message, error
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "e1", "attach": "../sessions"}
    )  # an id goes into URL paths: one that is no kernel id is refused before any call
    assert error.code == -32602 and error_data(error)["field"] == "attach", error
    await open_session(daemon, "e-own")
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "e-own", "attach": kernel["id"]}
    )
    assert error.code == -32012, error  # the name is open, not attached
    await open_session(daemon, "e2", attach=kernel["id"])
    error = await rpc_error(daemon, "runbridge/openSession", {"name": "e3", "attach": kernel["id"]})
    assert error.code == -32012 and "e2" in error.message, error
    # a kernel of no notebook: its folder is unknown, so no files and no terminals
    assert (await daemon.request("runbridge/listSessions"))["sessions"]
    infos = {s["name"]: s for s in (await daemon.request("runbridge/listSessions"))["sessions"]}
    assert infos["e2"]["workdir"] is None and infos["e2"]["attached"] is True
    error = await rpc_error(daemon, "runbridge/listFiles", {"session": "e2"})
    assert error.code == -32023, error
    error = await rpc_error(daemon, "runbridge/openTerminal", {"session": "e2"})
    assert error.code == -32023, error
    for name in ("e2", "e-own"):
        await daemon.request("runbridge/closeSession", {"name": name, "destroy": True})
    assert kernel["id"] not in await kernel_ids(jupyter_server)


async def test_daemon_exit_lets_go_of_an_attached_kernel(
    jupyter_server: ServerProcess, tmp_path: Path
) -> None:
    """Even with ``keep_sessions = false`` (its own sessions are closed on exit)."""
    kernel = await server_api(jupyter_server, "POST", "/api/kernels", {"name": "python3"})
    jup = profile(jupyter_server.url, jupyter_server.token, keep_sessions=False)
    options = {"profiles": {"jup": jup}, "profile": "jup"}
    async with start_daemon(tmp_path / "home", init_options=options) as daemon:
        own = await open_session(daemon, "exit-own")
        await open_session(daemon, "exit-attached", attach=kernel["id"])
    ids = await kernel_ids(jupyter_server)
    assert kernel["id"] in ids and own["remoteId"] not in ids
    await server_api(jupyter_server, "DELETE", f"/api/kernels/{kernel['id']}")


async def test_gateway_kernel_attached(daemon: Daemon, gateway: ServerProcess) -> None:
    own = await open_session(daemon, "kg-own", profile="kg")
    kernel = await server_api(gateway, "POST", "/api/kernels", {"name": "python3"})
    listed = await remote(daemon, "kg")
    assert own["remoteId"] not in listed  # in runbridge's state file
    entry = listed[kernel["id"]]
    assert entry["label"] == f"python3 {kernel['id'][:8]}" and "path" not in entry["details"]
    info = await open_session(daemon, "kg-attached", profile="kg", attach=kernel["id"])
    assert info["attached"] is True and info["workdir"] is None
    assert (await daemon.run("y = 6 * 7", "kg-attached"))["status"] == "finished"
    await daemon.request("runbridge/closeSession", {"name": "kg-attached"})
    assert kernel["id"] in await kernel_ids(gateway)
    await open_session(daemon, "kg-again", profile="kg", attach=kernel["id"])
    result = await daemon.run("print(y)", "kg-again")
    assert daemon.text(result["runId"]) == "42\n"
    # a restart restarts that kernel on the server (its variables go, its id stays)
    await daemon.request("runbridge/restart", {"session": "kg-again"})
    result = await daemon.run("print('y' in dir())", "kg-again")
    assert daemon.text(result["runId"]) == "False\n"
    assert kernel["id"] in await kernel_ids(gateway)
    assert (await remote(daemon, "kg")).get(kernel["id"]) is not None
    destroyed = await daemon.request(
        "runbridge/closeSession", {"name": "kg-again", "destroy": True}
    )
    assert destroyed["message"] == "session kg-again closed and destroyed on the server"
    assert kernel["id"] not in await kernel_ids(gateway)
    # one gone from the server is an error: no kernel is started in its place
    other = await server_api(gateway, "POST", "/api/kernels", {"name": "python3"})
    await open_session(daemon, "kg-gone", profile="kg", attach=other["id"])
    await server_api(gateway, "DELETE", f"/api/kernels/{other['id']}")
    before = await kernel_ids(gateway)
    error = await rpc_error(daemon, "runbridge/restart", {"session": "kg-gone"})
    assert error.code == -32020, error
    assert await kernel_ids(gateway) == before
    await daemon.request("runbridge/closeSession", {"name": "kg-gone"})
    own_closed = await daemon.request("runbridge/closeSession", {"name": "kg-own"})
    assert own_closed["message"] == "session kg-own closed"


async def test_gateway_that_lists_nothing(jupyter_server: ServerProcess, tmp_path: Path) -> None:
    """Alone, its listing is the request's error; with ``allProfiles`` it is one failure
    named by profile (as is a server that is not there), and the other profiles are listed."""
    kernel = await server_api(jupyter_server, "POST", "/api/kernels", {"name": "python3"})
    with KernelGateway(tmp_path / "kg") as quiet:
        options = {
            "profiles": {
                "kg": profile(quiet.url, quiet.token),
                "jup": profile(jupyter_server.url, jupyter_server.token),
                "down": profile("http://127.0.0.1:9/", "down-token"),
            },
            "profile": "kg",
        }
        async with start_daemon(tmp_path / "home", init_options=options) as daemon:
            error = await rpc_error(daemon, "runbridge/listRemote", {})
            assert error.code == -32020, error
            assert "needs a Kernel Gateway started with KG_LIST_KERNELS=True" in error.message
            assert quiet.token not in error.message

            listed = await daemon.request("runbridge/listRemote", {"allProfiles": True})
            assert listed["profile"] is None
            failures = {f["profile"]: f for f in listed["failures"]}
            assert sorted(failures) == ["down", "kg"]
            alone = await rpc_error(daemon, "runbridge/listRemote", {"profile": "down"})
            assert (
                (failures["down"]["code"], failures["down"]["kind"])
                == (
                    alone.code,
                    error_data(alone)["kind"],
                )
                == (-32020, "JupyterUnreachable")
            ), failures
            assert failures["down"]["message"] == alone.message
            assert (failures["kg"]["code"], failures["kg"]["message"]) == (
                error.code,
                error.message,
            ), failures
            for failure in failures.values():
                assert quiet.token not in failure["message"]
                assert "down-token" not in failure["message"]
            ours = [e for e in listed["sessions"] if e["id"] == kernel["id"]]
            assert [e["profile"] for e in ours] == ["jup"], listed
            assert {e["profile"] for e in listed["sessions"]} == {"jup"}

            error = await rpc_error(
                daemon, "runbridge/listRemote", {"profile": "jup", "allProfiles": True}
            )
            assert error.code == -32602 and error_data(error)["field"] == "allProfiles", error
    await server_api(jupyter_server, "DELETE", f"/api/kernels/{kernel['id']}")


async def test_local_profile_lists_nothing_and_cannot_attach(tmp_path: Path) -> None:
    async with start_daemon(tmp_path / "home") as daemon:
        listed = await daemon.request("runbridge/listRemote", {})
        assert listed == {"profile": "local", "sessions": [], "failures": []}
        everywhere = await daemon.request("runbridge/listRemote", {"allProfiles": True})
        assert everywhere == {"profile": None, "sessions": [], "failures": []}
        error = await rpc_error(daemon, "runbridge/openSession", {"name": "a", "attach": "x"})
        assert error.code == -32023, error
        error = await rpc_error(daemon, "runbridge/listRemote", {"profile": "nope"})
        assert error.code == -32010, error


@pytest.mark.parametrize("mode", ["standalone", "host"])
def test_cli_lists_what_runs_on_the_server(
    mode: str, jupyter_server: ServerProcess, tmp_path: Path
) -> None:
    """``runbridge sessions --remote -p PROFILE`` prints listRemote (table and ``--json``);
    without ``-p``, every remote profile, one that cannot be listed on stderr (exit 1)."""
    kernel = asyncio.run(
        server_api(
            jupyter_server,
            "POST",
            "/api/sessions",
            {"path": "cli.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
        )
    )["kernel"]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.jup]\ntype = "jupyter"\nurl = "{jupyter_server.url}"\n'
        f'token = "{jupyter_server.token}"\n'
        '[profiles.down]\ntype = "jupyter"\nurl = "http://127.0.0.1:9/"\ntoken = "down-token"\n'
    )
    with contextlib.ExitStack() as stack:
        if mode == "standalone":
            env = isolated_env(tmp_path / "home")
        else:
            env = stack.enter_context(host_env(tmp_path / "home"))
        env["RUNBRIDGE_CONFIG"] = str(config)
        command = [PYTHON, "-m", "runbridge", "sessions", "--remote", "-p", "jup"]
        listed = subprocess.run(
            [*command, "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        entries = {e["id"]: e for e in json.loads(listed.stdout)}
        assert entries[kernel["id"]]["label"] == "cli.ipynb"
        table = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert table.returncode == 0, table.stderr
        header, *rows = table.stdout.splitlines()
        assert header.split() == ["PROFILE", "ID", "LABEL", "ATTACHED", "AS", "DESCRIPTION"]
        row = next(r for r in rows if r.split()[1] == kernel["id"])
        assert row.split()[0] == "jup" and row.split()[2:4] == ["cli.ipynb", "-"], row
        assert "python3 · " in row
        every = subprocess.run(command[:-2], env=env, capture_output=True, text=True, timeout=60)
        assert every.returncode == 1, (every.stdout, every.stderr)
        failed = [line for line in every.stderr.splitlines() if line.startswith("runbridge: ")]
        assert len(failed) == 1 and failed[0].startswith("runbridge: profile down: "), failed
        assert "down-token" not in every.stderr
        assert any(r.split()[:2] == ["jup", kernel["id"]] for r in every.stdout.splitlines())
    asyncio.run(server_api(jupyter_server, "DELETE", f"/api/kernels/{kernel['id']}"))
