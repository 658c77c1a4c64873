"""The session host (``runbridge serve --host``): one process owns every session and
serves many clients at once; sessions outlive their clients.

Each test starts the real host as a process on a Unix socket and connects to it
like an editor does (LSP framing over the socket), or through the relay that
``runbridge serve`` is by default (an editor's stdio); a window reload is: the client
sends ``shutdown`` + ``exit`` (or just disappears), a new one connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

import psutil

from tests.e2e.host import Client, Host, default_socket, host_env, host_processes, spawn_relay
from tests.e2e.raw_wire import RUNBRIDGE
from tests.e2e.test_lifecycle import assert_all_gone, descendants

#: How long kernels may outlive a host killed with SIGKILL (they look for their
#: parent once a second).
KILLED_CLEANUP_S = 5.0


def state_of(client: Client, session: str) -> str | None:
    """The last state ``client`` was told for ``session``."""
    states = [
        n["params"]["session"]["state"]
        for n in client.notifications
        if n["method"] == "runbridge/sessionChanged" and n["params"]["session"]["name"] == session
    ]
    return states[-1] if states else None


async def listed_state(client: Client, session: str) -> str | None:
    listed = await client.request("runbridge/listSessions", {})
    return next((s["state"] for s in listed["sessions"] if s["name"] == session), None)


# -- sessions outlive their clients -----------------------------------------------------


async def test_sessions_survive_a_client_leaving_and_coming_back(host: Host) -> None:
    first = await host.client("first")
    caps = first.initialized
    assert caps["capabilities"]["experimental"]["runbridge"]["protocolVersion"] == 1
    result = await first.run("keep", "import os\nx = 41\nprint(os.getpid())")
    assert result["status"] == "finished"
    pid = int(first.stdout(result["runId"]))
    (kernel,) = [k for k in host.kernels() if k.pid == pid]
    await first.leave()  # a window reload: shutdown + exit
    await asyncio.sleep(0.5)
    assert host.proc.poll() is None, "the host must outlive its clients"
    assert kernel.is_running()

    second = await host.client("second")
    listed = await second.request("runbridge/listSessions", {})
    assert [s["name"] for s in listed["sessions"]] == ["keep"]
    again = await second.run("keep", "print(x + 1, os.getpid())")
    assert second.stdout(again["runId"]) == f"42 {pid}\n"  # the same kernel, its variable kept
    await second.leave()


async def test_a_new_client_does_not_take_over_the_connected_one(host: Host) -> None:
    """The shared daemon of old hung up on an editor when another connected; the host
    serves both, and both are told of every session's changes."""
    old = await host.client("old")
    await old.run("take", "y = 'kept'")
    new = await host.client("new")
    result = await new.run("take", "print(y)")
    assert new.stdout(result["runId"]) == "kept\n"
    assert not old.hung_up.is_set(), "the first client's connection was closed"
    result = await old.run("take", "print(y * 2)")
    assert old.stdout(result["runId"]) == "keptkept\n"
    await new.wait_for(lambda: state_of(new, "take") == "idle")
    await old.leave()
    await new.leave()


async def test_a_client_that_vanishes_mid_run_leaves_the_run_finishing(host: Host) -> None:
    first = await host.client("first")
    await first.request("runbridge/openSession", {"name": "bg"})
    first.start("runbridge/run", {"session": "bg", "code": "import time\ntime.sleep(1)\nz = 1"})
    await first.wait_for(lambda: state_of(first, "bg") == "busy")
    await first.close()  # the editor dies: no shutdown, no exit
    second = await host.client("second")
    result = await second.run("bg", "print(z)")
    assert second.stdout(result["runId"]) == "1\n"  # queued behind the first run
    await second.leave()


async def test_a_client_that_leaves_mid_run_is_answered_and_the_run_finishes(
    host: Host,
) -> None:
    """A window reload during a run: ``shutdown`` is answered (pygls' shutdown cancels the
    requests in flight, but the host's run outlives its client)."""
    first = await host.client("first")
    await first.request("runbridge/openSession", {"name": "bg"})
    code = "import time\ntime.sleep(1.5)\nz = 'done'"
    first.start("runbridge/run", {"session": "bg", "code": code})
    await first.wait_for(lambda: state_of(first, "bg") == "busy")
    assert await first.request("shutdown") is None  # an error reply raises
    first.notify("exit")
    await first.close()
    second = await host.client("second")
    result = await second.run("bg", "print(z)")
    assert result["status"] == "finished"
    assert second.stdout(result["runId"]) == "done\n"  # not interrupted: it finished
    await second.leave()


async def test_stop_daemon_closes_everything_now(host: Host) -> None:
    """Every session closed before the reply; then the host exits at once, hanging up on
    every client (they start a new host when they need one), even on the one that asked
    and stays connected."""
    client = await host.client()
    other = await host.client("other")
    await client.run("gone", "pass")
    kernels = host.kernels()
    assert kernels
    assert await client.request("runbridge/stopDaemon", {}) == {}
    _, alive = psutil.wait_procs(kernels, timeout=5)
    assert not alive
    assert await host.exited(10) == 0
    assert client.hung_up.is_set() and other.hung_up.is_set()
    assert not host.sock.exists()


# -- lifetime -----------------------------------------------------------------------------


async def test_linger_counts_only_while_there_is_no_session_and_no_client(
    tmp_path: Path,
) -> None:
    """The shared daemon of old closed its sessions once no editor had been connected for
    ``linger`` s; the host keeps them: it exits only with no session and no client."""
    host = Host(tmp_path / "home", linger=1)
    try:
        client = await host.client()
        await client.run("brief", "pass")
        (kernel,) = host.kernels()
        assert stat.S_IMODE(host.sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(host.sock.parent.stat().st_mode) == 0o700
        await client.leave()
        await asyncio.sleep(2.5)  # over twice the linger with a session and no client
        assert host.proc.poll() is None, "the host exited with a session open"
        assert kernel.is_running()

        client = await host.client()
        await client.request("runbridge/closeSession", {"name": "brief"})
        await asyncio.sleep(1.5)  # no session, but a client
        assert host.proc.poll() is None, "the host exited with a client connected"
        await client.leave()
        assert await host.exited(10) == 0
        assert not host.sock.exists()
        assert "no session and no client for 1.0s" in host.log()
    finally:
        await host.stop()


async def test_a_second_host_on_a_served_socket_leaves_at_once(host: Host) -> None:
    client = await host.client()  # the first one is up
    rival = subprocess.run(
        [*RUNBRIDGE, "serve", "--host", "--socket", str(host.sock)],
        env=host.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert rival.returncode == 0, rival.stderr
    assert f"another runbridge host serves {host.sock}" in host.log()
    assert "sessions" in await client.request("runbridge/listSessions", {})  # still served
    assert host_processes(host.sock) == [psutil.Process(host.proc.pid)]
    await client.leave()


async def test_a_killed_host_leaves_no_kernel_and_the_next_host_serves(tmp_path: Path) -> None:
    """SIGKILL: nothing the host started outlives it (a session's kernel, the spare, a
    terminal's shell); a host started next replaces the stale socket and serves."""
    home = tmp_path / "home"
    first = Host(home, spares=True)
    second: Host | None = None
    procs: list[psutil.Process] = []
    try:
        client = await first.client()
        result = await client.run("k", "import os\nprint(os.getpid())")
        pid = int(client.stdout(result["runId"]))
        await client.wait_for(lambda: len(first.kernels()) == 2)  # the spare has started
        await client.request("runbridge/openTerminal", {"session": "k"})

        def shell_started() -> bool:  # the reply comes once the PTY's child is forked
            return "sh" in [p.name() for p in descendants(first.proc.pid)]

        await client.wait_for(shell_started)
        procs = descendants(first.proc.pid)
        assert pid in [p.pid for p in procs]
        first.kill()
        await client.wait_for(lambda: client.hung_up.is_set())
        assert first.sock.exists()  # stale: nobody serves it
        second = Host(home)
        client = await second.client()
        assert (await client.request("runbridge/listSessions", {}))["sessions"] == []
        assert_all_gone(procs, within=KILLED_CLEANUP_S)
        result = await client.run("k", "print('again')")
        assert client.stdout(result["runId"]) == "again\n"
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()  # psutil checks the start time: never a reused pid
        await first.stop()
        if second is not None:
            await second.stop()


# -- many clients on one session ---------------------------------------------------------


def stdout_of_session(client: Client, session: str) -> str:
    return "".join(
        data
        for p in client.outputs()
        if p["session"] == session
        for kind, data, *_ in p["console"]
        if kind == "stdout"
    )


async def roundtrip(client: Client) -> None:
    """Everything the host sent ``client`` before now has arrived."""
    await client.request("runbridge/listSessions", {})


async def test_clients_of_one_session_share_its_queue_and_its_output(host: Host) -> None:
    """Two socket clients and one through the relay on one session: the runs keep the order
    they were sent in; output goes to the starter and to every follower, not to others;
    ``runbridge/follow`` turns it off and on."""
    a = await host.client("a")
    b = await host.client("b")
    watcher = await host.client("watcher")
    c, relay = await spawn_relay(host.env, "c (relay)")
    try:
        await c.initialize()
        await a.request("runbridge/openSession", {"name": "s"})
        await a.run("s", "order = []")
        one = a.start(
            "runbridge/run",
            {"session": "s", "code": "import time\ntime.sleep(1)\norder.append('a')\nprint('A')"},
        )
        await a.wait_for(lambda: state_of(a, "s") == "busy")
        two = b.start("runbridge/run", {"session": "s", "code": "order.append('b')\nprint('B')"})
        await asyncio.sleep(0.3)
        three = c.start("runbridge/run", {"session": "s", "code": "order.append('c')\nprint('C')"})
        ids = []
        for reply in (one, two, three):
            result = (await asyncio.wait_for(reply, 30))["result"]
            assert result["status"] == "finished", result
            ids.append(result["runId"])
        result = await c.run("s", "print(order)")
        assert c.stdout(result["runId"]) == "['a', 'b', 'c']\n"

        # the starter gets its run's output; a follows (it opened s), b since it ran in s
        assert [a.stdout(i) for i in ids] == ["A\n", "B\n", "C\n"]
        assert [b.stdout(i) for i in ids[1:]] == ["B\n", "C\n"]
        assert c.stdout(ids[2]) == "C\n"
        assert a.outputs(ids[2]) == c.outputs(ids[2]) == b.outputs(ids[2])  # same seq
        # c follows s too since it ran there; the watcher never opened nor ran in it
        await roundtrip(watcher)
        assert watcher.outputs() == []
        assert state_of(watcher, "s") == "idle"  # but it is told of the session's changes

        assert await b.request("runbridge/follow", {"session": "s", "follow": False}) == {
            "session": "s",
            "follow": False,
        }
        assert await watcher.request("runbridge/follow", {"session": "s"}) == {
            "session": "s",
            "follow": True,
        }
        result = await a.run("s", "print('later')")
        await roundtrip(b)
        await roundtrip(watcher)
        assert b.outputs(result["runId"]) == []
        assert watcher.stdout(result["runId"]) == "later\n"
        await c.leave()
        assert await asyncio.wait_for(relay.wait(), 10) == 0
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()


ASK = (
    "try:\n    v = input('q? ')\nexcept KeyboardInterrupt:\n    v = 'interrupted'\nprint('got', v)"
)


async def test_input_goes_to_the_starter_then_to_a_follower_when_the_starter_leaves(
    host: Host,
) -> None:
    a = await host.client("a")
    b = await host.client("b")
    await a.request("runbridge/openSession", {"name": "ask"})
    await b.request("runbridge/follow", {"session": "ask"})
    a.answer = lambda params: {"value": "from a"}
    b.answer = lambda params: {"value": "from b"}
    result = await a.run("ask", ASK)
    assert a.stdout(result["runId"]).endswith("got from a\n")
    assert (len(a.input_requests), len(b.input_requests)) == (1, 0)
    await roundtrip(b)
    assert b.stdout(result["runId"]).endswith("got from a\n")  # b follows: it sees the output

    a.answer = None  # a leaves the prompt open, then disconnects
    pending = a.start("runbridge/run", {"session": "ask", "code": ASK})
    await a.wait_for(lambda: len(a.input_requests) == 2)
    run_id = a.input_requests[-1]["params"]["runId"]
    assert b.input_requests == []
    await a.close()
    with contextlib.suppress(ConnectionError):
        await pending
    await b.wait_for(lambda: b.input_requests)
    assert b.input_requests[0]["params"]["runId"] == run_id
    await b.wait_for(lambda: b.stdout(run_id).endswith("got from b\n"))
    await b.wait_for(lambda: state_of(b, "ask") == "idle")
    result = await b.run("ask", "print(v)")
    assert b.stdout(result["runId"]) == "from b\n"
    await b.leave()


async def test_input_with_no_follower_interrupts_the_run(host: Host) -> None:
    """The starter leaves with its prompt open and nobody else follows the session: the
    run is interrupted (as with the shared daemon of old, with no editor connected)."""
    a = await host.client("a")
    bystander = await host.client("bystander")  # connected, but not following
    a.answer = None
    bystander.answer = lambda params: {"value": "not asked"}
    a.start("runbridge/run", {"session": "lone", "code": ASK})
    await a.wait_for(lambda: a.input_requests)
    await a.close()
    await bystander.wait_for(lambda: state_of(bystander, "lone") == "idle", timeout=20)
    result = await bystander.run("lone", "print(v)")
    assert bystander.stdout(result["runId"]) == "interrupted\n"
    assert bystander.input_requests == []
    assert "asked for input with no client following it: interrupted" in host.log()
    await bystander.leave()


async def test_a_client_reconnecting_mid_flood_gets_history_then_live_output(
    host: Host,
) -> None:
    """No gap, no duplicate: ``runbridge/history`` up to ``lastSeq``, then the live
    notifications with a greater ``seq`` (docs/protocol.md)."""
    lines = 3000
    first = await host.client("first")
    await first.request("runbridge/openSession", {"name": "flood"})
    code = (  # about 6 s: time for the second client to come while it runs
        f"import time\nfor i in range({lines}):\n    print(i)\n"
        "    if i % 10 == 0:\n        time.sleep(0.02)\n"
    )
    first.start("runbridge/run", {"session": "flood", "code": code})
    await first.wait_for(lambda: "\n100\n" in stdout_of_session(first, "flood"))
    run_id = first.outputs()[0]["runId"]
    await first.close()

    second = await host.client("second")
    await second.request("runbridge/follow", {"session": "flood"})
    history = await second.request("runbridge/history", {"session": "flood"})
    (run,) = [r for r in history["runs"] if r["runId"] == run_id]
    assert run["status"] is None, "the run should still be going on"
    last = run["lastSeq"]
    assert [b["seq"] for b in run["batches"]] == list(range(1, last + 1))
    await second.wait_for(lambda: state_of(second, "flood") == "idle", timeout=60)
    live = [p for p in second.outputs(run_id) if p["seq"] > last]
    assert live, "no live output came after the history"
    seqs = [b["seq"] for b in run["batches"]] + [p["seq"] for p in live]
    assert seqs == list(range(1, len(seqs) + 1)), "a gap or a duplicate"
    text = "".join(
        data
        for console in [b["console"] for b in run["batches"]] + [p["console"] for p in live]
        for kind, data, *_ in console
        if kind == "stdout"
    )
    assert text == "".join(f"{i}\n" for i in range(lines))
    end = await second.request("runbridge/history", {"session": "flood"})
    (done,) = [r for r in end["runs"] if r["runId"] == run_id]
    assert (done["status"], done["lastSeq"]) == ("finished", seqs[-1])
    await second.leave()


async def test_terminals_outlive_the_client_that_opened_them(host: Host) -> None:
    def screen(client: Client, terminal_id: str) -> str:
        return "".join(
            n["params"]["data"]
            for n in client.notifications
            if n["method"] == "runbridge/terminalOutput"
            and n["params"]["terminalId"] == terminal_id
        )

    first = await host.client("first")
    opened = await first.request("runbridge/openTerminal", {"session": "t"})
    terminal_id = opened["terminalId"]
    # the quotes keep the typed command (echoed back) from matching the output
    first.notify("runbridge/terminalInput", {"terminalId": terminal_id, "data": 'echo mar""ker\n'})
    await first.wait_for(lambda: "marker" in screen(first, terminal_id))
    await first.close()

    second = await host.client("second")
    listed = await second.request("runbridge/listTerminals", {})
    assert listed == {"terminals": [{"terminalId": terminal_id, "session": "t", "attached": 0}]}
    attached = await second.request("runbridge/attachTerminal", {"terminalId": terminal_id})
    assert (attached["terminalId"], attached["session"]) == (terminal_id, "t")
    assert "marker" in attached["replay"]
    listed = await second.request("runbridge/listTerminals", {})
    assert listed["terminals"][0]["attached"] == 1
    second.notify("runbridge/terminalInput", {"terminalId": terminal_id, "data": 'echo ag""ain\n'})
    await second.wait_for(lambda: "again" in screen(second, terminal_id))
    await second.request("runbridge/closeTerminal", {"terminalId": terminal_id})
    await second.wait_for(
        lambda: any(n["method"] == "runbridge/terminalExit" for n in second.notifications)
    )
    assert (await second.request("runbridge/listTerminals", {})) == {"terminals": []}
    await second.leave()


# -- the relay: `runbridge serve` with no flags --------------------------------------------


async def test_the_relay_starts_the_host_and_its_sessions_outlive_the_relay(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    env = host_env(home)
    sock = default_socket(home)
    try:
        first, relay = await spawn_relay(env, "first relay")
        await first.initialize()
        result = await first.run("r", "x = 1")
        assert result["status"] == "finished", result
        await first.leave()
        assert await asyncio.wait_for(relay.wait(), 10) == 0
        (started,) = host_processes(sock)  # detached from the relay: still running

        second, relay = await spawn_relay(env, "second relay")
        await second.initialize()
        result = await second.run("r", "print(x)")
        assert second.stdout(result["runId"]) == "1\n"
        assert await second.request("runbridge/stopDaemon", {}) == {}
        await second.close()
        assert await asyncio.wait_for(relay.wait(), 10) == 0
        started.wait(10)  # not our child: no exit code to see
        assert not started.is_running()
    finally:
        for proc in host_processes(sock):
            proc.kill()


async def test_two_relays_started_at_once_end_with_one_host(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = host_env(home)
    sock = default_socket(home)
    relays: list[Any] = []
    try:
        pairs = await asyncio.gather(spawn_relay(env, "one"), spawn_relay(env, "two"))
        relays = [relay for _, relay in pairs]
        clients = [client for client, _ in pairs]
        answers = await asyncio.gather(*(c.initialize() for c in clients))
        assert all(a["capabilities"]["experimental"]["runbridge"] for a in answers)
        await clients[0].run("same", "shared = 'yes'")
        result = await clients[1].run("same", "print(shared)")
        assert clients[1].stdout(result["runId"]) == "yes\n"
        hosts = host_processes(sock)
        assert len(hosts) == 1, [p.cmdline() for p in hosts]
        log = (home / "log" / "daemon.log").read_text()
        # Mostly both relays start a host and one of them leaves at once; on a slow
        # machine the second relay may find the first host already listening.
        starts = log.count("runbridge session host starting")
        assert starts == 1 or f"another runbridge host serves {sock}" in log, log
        assert await clients[0].request("runbridge/stopDaemon", {}) == {}
        for client in clients:
            await client.close()
        hosts[0].wait(10)
        assert not hosts[0].is_running()
    finally:
        for relay in relays:
            if relay.returncode is None:
                relay.send_signal(signal.SIGKILL)
                await relay.wait()
        for proc in host_processes(sock):
            proc.kill()
