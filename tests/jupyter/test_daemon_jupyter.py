"""What only the ``jupyter`` backend does, through the real daemon against stock servers.

The scenarios every backend shares (open-or-reuse, runs, media, input, interrupt, restart,
kernel death, batch, files, terminals, close, and Kernel Gateway's ``Unsupported`` files
and terminals) run in tests/conformance. Here, against an unmodified Jupyter Server and
an unmodified Jupyter Kernel Gateway (``server`` fixture, one process per module and
kind), through one daemon per kind whose ``jupyter`` profiles are given in
``initializationOptions``: kernels deleted elsewhere, kernelspecs, tokens, the prompt
order, big chunked uploads, session folders, reattaching by name (on Kernel Gateway,
which lists nothing, through runbridge's own state), bad profiles, and a server killed
mid-run (a server of its own).
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
import zlib
from pathlib import Path

import pytest

from tests.e2e.conftest import Daemon, start_daemon, start_run
from tests.e2e.helpers import (
    MB,
    assert_gone,
    check_progress,
    error_data,
    open_session,
    progress_ended,
    rpc_error,
    sha256,
    states_of,
)
from tests.jupyter.conftest import (
    WRONG_TOKEN,
    SilentServer,
    make_server,
    profile,
    profiles_for,
)
from tests.jupyter.helpers import assert_secret_nowhere
from tests.jupyter.servers import KernelGateway, ServerProcess

pytestmark = pytest.mark.timeout(60)

UNSUPPORTED = -32023
BACKEND_ERROR = -32020


def gateway(server: ServerProcess) -> bool:
    return isinstance(server, KernelGateway)


# -- sessions ----------------------------------------------------------------------------


KERNEL_ID = (
    "import os\nfrom ipykernel.kernelapp import IPKernelApp\n"
    "print(os.path.basename(IPKernelApp.instance().connection_file)[7:-5])"
)


async def test_kernel_shut_down_elsewhere_mid_run(daemon: Daemon, server: ServerProcess) -> None:
    """Someone else deletes the session's kernel on the server during a run: the run ends
    failed, naming the server, and the next run gets a kernel again."""
    session = "j-elsewhere"
    result = await daemon.run(KERNEL_ID, session=session)
    kernel_id = daemon.text(result["runId"]).strip()
    assert kernel_id, daemon.console(result["runId"])
    server.api("GET", f"/api/kernels/{kernel_id}")  # it is the server's kernel
    task = await start_run(
        daemon, session, "import time\nprint('busy', flush=True)\ntime.sleep(60)", "busy"
    )
    t0 = time.monotonic()
    server.api("DELETE", f"/api/kernels/{kernel_id}")
    result = await asyncio.wait_for(task, 20)
    assert time.monotonic() - t0 < 10
    assert (result["status"], result["exitCode"]) == ("failed", None), result
    assert server.url in result["message"] and "'jup'" in result["message"], result
    await daemon.wait_for(lambda: states_of(daemon, session)[-1] == "dead", timeout=5)
    after = await daemon.run("print('back')", session=session)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "back\n"), after
    await daemon.request("runbridge/closeSession", {"name": session})


async def test_unknown_kernelspec_is_named_and_leaves_nothing(
    daemon: Daemon, server: ServerProcess
) -> None:
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "j-nospec", "image": "no-such-kernel"}
    )
    assert error.code == -32021, error  # KernelSpecNotFound
    assert "no-such-kernel" in error.message and "python3" in error.message, error.message
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "j-nospec" not in [s["name"] for s in listed]
    if not gateway(server):
        assert "j-nospec" not in [s.get("name") for s in server.api("GET", "/api/sessions")]


async def test_token_from_the_environment(daemon: Daemon) -> None:
    """``token_env``: the profile names a variable of the daemon's environment."""
    result = await daemon.run("print(1 + 1)", session="j-envtok", profile="envtok")
    assert (result["status"], daemon.text(result["runId"])) == ("finished", "2\n"), result
    check = await daemon.request("runbridge/checkProfile", {"profile": "envtok"})
    assert check["ok"] is True and check["type"] == "jupyter", check
    await daemon.request("runbridge/closeSession", {"name": "j-envtok"})


# -- runs ---------------------------------------------------------------------------------


async def test_output_before_the_prompt_comes_before_it(daemon: Daemon) -> None:
    """protocol.md, runbridge/input: output printed before the prompt has already been sent.

    The kernel flushes stdout (iopub) before it sends ``input_request`` (stdin); the two
    are separate sockets, so the client must keep that order. A race shows only now and
    then, hence the repetitions."""
    session = "j-runs"
    daemon.answer = lambda p: {"value": "Ada"}
    wrong = []
    try:
        for i in range(25):
            result = await daemon.run(
                f"print('line {i}')\nname = input('Name? ')\nprint('hello', name)", session
            )
            text = daemon.text(result["runId"])
            if text != f"line {i}\nName? Ada\nhello Ada\n":
                wrong.append(daemon.console(result["runId"]))
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert not wrong, f"{len(wrong)} of 25 runs out of order, e.g. {wrong[0]}"


# -- files -----------------------------------------------------------------------------------


@pytest.mark.timeout(120)
async def test_upload_50mb_with_progress_and_checksum(
    daemon: Daemon, server: ServerProcess, tmp_path: Path
) -> None:
    session = "j-files"
    src = tmp_path / "big.bin"
    with src.open("wb") as f:
        for _ in range(50):
            f.write(os.urandom(MB))
    token = "tok-up50"
    daemon.client.progress_reports[token] = []
    if gateway(server):
        error = await rpc_error(
            daemon,
            "runbridge/upload",
            {"session": session, "files": [str(src)], "dest": "in", "workDoneToken": token},
        )
        assert error.code == UNSUPPORTED, error
        assert "contents" in error.message and server.url in error.message, error.message
        # the session is unchanged and works
        result = await daemon.run("print('still here')", session=session)
        assert daemon.text(result["runId"]) == "still here\n"
        return
    t0 = time.monotonic()
    uploaded = await daemon.request(
        "runbridge/upload",
        {"session": session, "files": [str(src)], "dest": "in", "workDoneToken": token},
    )
    elapsed = time.monotonic() - t0
    assert uploaded["files"] == [{"path": "in/big.bin", "size": 50 * MB}], uploaded
    await daemon.wait_for(functools.partial(progress_ended, daemon, token), timeout=10)
    percentages = check_progress(daemon, token)
    assert len(set(percentages)) >= 3, f"no progress between start and end: {percentages}"
    # the kernel sees the file in its working folder, byte for byte
    result = await daemon.run(
        "import hashlib\nprint(hashlib.sha256(open('in/big.bin','rb').read()).hexdigest())",
        session=session,
    )
    assert daemon.text(result["runId"]).strip() == sha256(src), daemon.console(result["runId"])
    # and on the server's disk, with no partial file left behind
    on_disk = [p for p in server.root.rglob("*") if p.is_file() and p.name.startswith("big.bin")]
    assert [p.name for p in on_disk] == ["big.bin"], on_disk
    assert sha256(on_disk[0]) == sha256(src)
    assert elapsed < 30, f"50 MB took {elapsed:.1f} s on loopback"


async def test_session_folders_by_name_one_to_one(daemon: Daemon, server: ServerProcess) -> None:
    """Session names map to folders one to one on the server too; a folder that the first
    naming gave a name (unsafe characters made '_', the crc32 appended) moves to its new
    name when nothing is there and no server-side session lives in it."""
    if gateway(server):
        return  # no folders on a gateway
    crc = f"{zlib.crc32(b'j old/1'):08x}"
    old = server.root / "runbridge" / f"j_old_1-{crc}"
    old.mkdir(parents=True)
    (old / "kept.txt").write_text("kept\n")
    info = await open_session(daemon, "j old/1")
    assert info["workdir"] == "runbridge/j~20old~2F1", info
    listing = await daemon.request("runbridge/listFiles", {"session": "j old/1"})
    assert "kept.txt" in [e["name"] for e in listing["entries"]]
    assert not old.exists()
    # "j/2" and the literal name of the folder the first naming gave it: the literal name
    # opens first, and its folder (the other's old folder) stays its own
    literal = f"j_2-{zlib.crc32(b'j/2'):08x}"
    for name in (literal, "j/2"):
        result = await daemon.run(f"open('who.txt', 'w').write({name!r})", session=name)
        assert result["status"] == "finished", result
    assert (server.root / "runbridge" / literal / "who.txt").read_text() == literal
    assert (server.root / "runbridge" / "j~2F2" / "who.txt").read_text() == "j/2"
    for name in ("j old/1", literal, "j/2"):
        await daemon.request("runbridge/closeSession", {"name": name})


# -- reattach ---------------------------------------------------------------------------------


async def test_reattach_by_name_after_a_daemon_restart(
    server: ServerProcess, silent: SilentServer, tmp_path: Path
) -> None:
    """The kernel stays on the server when the daemon goes (a crash, or a clean exit, which
    detaches); the next daemon opening the same name gets that kernel back, variables and
    all. On Jupyter Server the name is found on the server (even by a daemon with another
    home); on Kernel Gateway, which lists nothing, through runbridge's state file."""
    options = {"profiles": profiles_for(server, silent), "profile": "jup"}
    home = tmp_path / "home"
    async with start_daemon(home, init_options=options) as first:
        result = await first.run("import os\nkept = 41\nprint(os.getpid())", session="j-re")
        pid = first.text(result["runId"]).strip()
        proc = first.client._server
        assert proc is not None
        proc.send_signal(signal.SIGKILL)  # a crash: no chance to clean up
        await proc.wait()
    async with start_daemon(home, init_options=options) as second:
        info = await open_session(second, "j-re")
        assert info["state"] == "idle" and info["created"] is False, info
        result = await second.run("import os\nkept += 1\nprint(kept, os.getpid())", "j-re")
        assert (result["status"], second.text(result["runId"])) == ("finished", f"42 {pid}\n")
    # the second daemon left cleanly (shutdown + exit): it detached, the kernel still runs
    os.kill(int(pid), 0)
    third_home = home if gateway(server) else tmp_path / "other-home"
    async with start_daemon(third_home, init_options=options) as third:
        result = await third.run("import os\nprint(kept, os.getpid())", session="j-re")
        assert (result["status"], third.text(result["runId"])) == ("finished", f"42 {pid}\n")
        assert [s["name"] for s in (await third.request("runbridge/listSessions"))["sessions"]]
        await third.request("runbridge/closeSession", {"name": "j-re"})
    await assert_gone(int(pid))  # closeSession shut the reattached kernel down
    async with start_daemon(home, init_options=options) as fourth:
        info = await open_session(fourth, "j-re")
        assert info["created"] is True, info  # closed for good: a fresh kernel
        await fourth.request("runbridge/closeSession", {"name": "j-re"})


async def test_keep_sessions_false_closes_kernels_on_daemon_exit(
    server: ServerProcess, silent: SilentServer, tmp_path: Path
) -> None:
    profiles = profiles_for(server, silent)
    profiles["jup"]["keep_sessions"] = False
    options = {"profiles": profiles, "profile": "jup"}
    async with start_daemon(tmp_path / "home", init_options=options) as d:
        result = await d.run("import os\nkept = 1\nprint(os.getpid())", session="j-nokeep")
        pid = int(d.text(result["runId"]))
    await assert_gone(pid)  # shutdown closed the session's kernel
    async with start_daemon(tmp_path / "home", init_options=options) as d:
        info = await open_session(d, "j-nokeep")
        assert info["created"] is True, info
        result = await d.run("print('kept' in globals())", session="j-nokeep")
        assert d.text(result["runId"]) == "False\n"


# -- errors --------------------------------------------------------------------------------------


async def test_bad_token_is_a_clear_auth_error(daemon: Daemon, server: ServerProcess) -> None:
    for name in ("badtoken", "notoken"):
        t0 = time.monotonic()
        error = await rpc_error(
            daemon, "runbridge/openSession", {"name": f"j-{name}", "profile": name}
        )
        assert time.monotonic() - t0 < 10
        assert error.code == BACKEND_ERROR, error
        message = error.message
        assert server.url in message and repr(name) in message, message
        assert "token" in message and ("401" in message or "403" in message), message
        assert_secret_nowhere(daemon, [WRONG_TOKEN, server.token], message, error_data(error))
        check = await daemon.request("runbridge/checkProfile", {"profile": name})
        assert check["ok"] is False and "token" in check["message"], check
        assert_secret_nowhere(daemon, [WRONG_TOKEN, server.token], check)
    sessions = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert not {"j-badtoken", "j-notoken"} & {s["name"] for s in sessions}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("wrongpath", ["404", "URL"]),
        ("down", ["cannot be reached", "connection refused"]),
        ("silent", ["did not answer within 3 s"]),
    ],
)
async def test_wrong_url_and_server_down_are_clear_errors(
    daemon: Daemon, server: ServerProcess, silent: SilentServer, name: str, words: list[str]
) -> None:
    url = {"wrongpath": server.url + "/user/nobody", "silent": silent.url}.get(name)
    t0 = time.monotonic()
    error = await rpc_error(daemon, "runbridge/openSession", {"name": f"j-{name}", "profile": name})
    elapsed = time.monotonic() - t0
    assert elapsed < 3 + 5, f"{elapsed:.1f} s for an error (read_timeout 3 s)"
    assert error.code == BACKEND_ERROR, error
    message = error.message
    assert repr(name) in message, message
    assert (url or "http://127.0.0.1:") in message, message
    for word in words:
        assert word.lower() in message.lower(), message
    assert_secret_nowhere(daemon, [server.token], message, error_data(error))
    check = await daemon.request("runbridge/checkProfile", {"profile": name})
    assert check["ok"] is False, check
    assert_secret_nowhere(daemon, [server.token], check)
    # the daemon still serves the good profile
    result = await daemon.run("print('fine')", session="j-runs")
    assert daemon.text(result["runId"]) == "fine\n"


async def test_check_profile_reports_the_server(daemon: Daemon, server: ServerProcess) -> None:
    good = await daemon.request("runbridge/checkProfile", {})
    assert good["ok"] is True and good["type"] == "jupyter", good
    assert server.url in good["message"], good
    assert_secret_nowhere(daemon, [server.token], good)


# -- the server killed mid-run ----------------------------------------------------------------


@pytest.mark.timeout(150)
async def test_server_killed_mid_run(
    server: ServerProcess, silent: SilentServer, tmp_path: Path
) -> None:
    """The server (and its kernels) killed during a run: a clear error, the daemon survives,
    and the next run after the server returns works.

    On Jupyter Server the server comes back within runbridge's reconnect window (the run
    ends when the reconnect finds its kernel gone); on Kernel Gateway it stays down until
    the run has been given up (the window runs out)."""
    kind = "kernel-gateway" if gateway(server) else "jupyter-server"
    back_early = not gateway(server)
    own = make_server(kind, tmp_path / "server")
    await asyncio.to_thread(own.start)
    try:
        options = {
            "profiles": {"mine": profile(own.url, own.token, connect_timeout=3, read_timeout=5)},
            "profile": "mine",
        }
        async with start_daemon(tmp_path / "home", init_options=options) as d:
            await d.run("z = 7", session="j-kill")
            task = await start_run(
                d, "j-kill", "import time\nprint('running', flush=True)\ntime.sleep(120)", "runn"
            )
            t0 = time.monotonic()
            await asyncio.to_thread(own.kill)
            # the daemon survives: it answers, and says clearly that the server is gone
            listed = (await d.request("runbridge/listSessions"))["sessions"]
            assert "j-kill" in [s["name"] for s in listed]
            t1 = time.monotonic()
            error = await rpc_error(d, "runbridge/openSession", {"name": "j-kill2"})
            assert time.monotonic() - t1 < 8
            assert error.code == BACKEND_ERROR, error
            assert own.url in error.message and "'mine'" in error.message, error.message
            assert "cannot be reached" in error.message, error.message
            if back_early:
                await asyncio.to_thread(own.start)
            result = await asyncio.wait_for(task, 60)
            lost_after = time.monotonic() - t0
            print(f"\n[{kind}] run ended {lost_after:.1f} s after the kill: {result}")
            assert result["status"] == "failed" and result["exitCode"] is None, result
            message = result["message"]
            assert own.url in message and "'mine'" in message, message
            if back_early:
                assert "no longer exists" in message, message
                assert lost_after < 15, f"the lost kernel was noticed after {lost_after:.0f} s"
            else:
                assert "cannot be reached" in message, message
                assert lost_after < 45, f"the lost server was noticed after {lost_after:.0f} s"
                await asyncio.to_thread(own.start)
            # the server is back at the same address: the next run works
            after = await d.run("print(6 * 7)", session="j-kill")
            assert (after["status"], d.text(after["runId"])) == ("finished", "42\n"), (
                after,
                d.console(after["runId"]),
            )
            other = await d.run("print('new')", session="j-after")
            assert d.text(other["runId"]) == "new\n"
            assert_secret_nowhere(d, [own.token], result, error.message)
    finally:
        await asyncio.to_thread(own.stop)
