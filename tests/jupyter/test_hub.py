"""``jupyter`` profiles naming a JupyterHub (``hub_url``), through the real daemon.

One real JupyterHub 6 (PyPI) with its real proxy (npm ``configurable-http-proxy``),
``DummyAuthenticator`` and ``SimpleLocalProcessSpawner`` (``hub`` fixture,
``tests/jupyter/hub_process.py``), and one daemon for the module whose profiles name it:
the user's server found stopped, started with the hub's progress shown in ``$/progress``,
reused, found stopped again; a named server; the token checked; a failing spawn, one too
slow for ``spawn_timeout``, one cancelled; a hub that is not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon, start_daemon
from tests.e2e.helpers import progress_ended, progress_messages, rpc_error
from tests.jupyter.conftest import WRONG_TOKEN
from tests.jupyter.helpers import assert_secret_nowhere
from tests.jupyter.hub_process import SPAWN_FAILURE, HubProcess
from tests.jupyter.servers import free_port, http

pytestmark = pytest.mark.timeout(90)

BACKEND_ERROR = -32020
ALICE_ENV = "RB_TEST_HUB_ALICE"
SERVICE_ENV = "RB_TEST_HUB_SERVICE"
BAD_ENV = "RB_TEST_HUB_BAD"
#: What a user's own token may do with its servers (the scopes the docs name).
ALICE_SCOPES = ["servers!user=alice", "access:servers!user=alice"]


@pytest.fixture(scope="module")
def alice_token(hub: HubProcess) -> str:
    return hub.user_token("alice", ALICE_SCOPES)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(hub: HubProcess, alice_token: str) -> AsyncIterator[Daemon]:
    url = hub.url + "/"

    def prof(token_env: str = ALICE_ENV, **extra: Any) -> dict[str, Any]:
        return {"type": "jupyter", "hub_url": url, "token_env": token_env, **extra}

    profiles = {
        "hub": prof(),  # alice's own token: her default server
        "hub-named": prof(server_name="work"),
        "hub-bob": prof(SERVICE_ENV, user="bob"),
        "hub-bad": prof(BAD_ENV),
        "hub-nobody": prof(SERVICE_ENV, user="nobody"),
        "hub-service": prof(SERVICE_ENV),  # a service's token, no user
        "hub-carol": prof(SERVICE_ENV, user="carol"),
        "hub-broken": prof(server_name="broken1"),
        "hub-crash": prof(server_name="crash1"),
        "hub-slow": prof(server_name="slow1", spawn_timeout=2),
        "hub-cancel": prof(server_name="slow2"),
        "hub-list": prof(server_name="list1"),
        "hub-down": {
            "type": "jupyter",
            "hub_url": f"http://127.0.0.1:{free_port()}/",
            "token_env": ALICE_ENV,
            "connect_timeout": 3,
        },
        "hub-both": prof(url=hub.url + "/user/alice/"),
    }
    home = Path(tempfile.mkdtemp(prefix="rb-hub-"))
    options = {"profiles": profiles, "profile": "hub"}
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # the daemon's environment
            env.setenv(ALICE_ENV, alice_token)
            env.setenv(SERVICE_ENV, hub.token)
            env.setenv(BAD_ENV, WRONG_TOKEN)
            started = await stack.enter_async_context(start_daemon(home, init_options=options))
        yield started


async def open_watched(
    daemon: Daemon, name: str, profile: str, token: str
) -> tuple[dict[str, Any], list[str]]:
    """Open a session with a client-given progress token: its info and the messages of the
    ``$/progress`` reports in between begin and end."""
    daemon.client.progress_reports[token] = []
    info = await daemon.request(
        "runbridge/openSession", {"name": name, "profile": profile, "workDoneToken": token}
    )
    await daemon.wait_for(functools.partial(progress_ended, daemon, token), timeout=10)
    return info, hub_part(progress_messages(daemon, token))


#: How the jupyter backend tells its own kernel start (after the hub's part).
KERNEL_START = ("starting a '", "waiting for kernel ", "kernel ")


def hub_part(messages: list[str]) -> list[str]:
    """The messages before the kernel start's: the hub's part of the progress."""
    for i, message in enumerate(messages):
        if message.startswith(KERNEL_START):
            return messages[:i]
    return messages


async def stdout_of(daemon: Daemon, session: str, code: str) -> str:
    result = await daemon.run(code, session=session)
    assert result["status"] == "finished", daemon.console(result["runId"])
    return daemon.text(result["runId"])


async def open_error(daemon: Daemon, name: str, profile: str) -> JsonRpcException:
    return await rpc_error(daemon, "runbridge/openSession", {"name": name, "profile": profile})


# -- the user's server ---------------------------------------------------------------------


async def test_open_starts_the_stopped_server_showing_the_hubs_progress(
    daemon: Daemon, hub: HubProcess, alice_token: str
) -> None:
    assert hub.server_model("alice") is None
    info, messages = await open_watched(daemon, "h-main", "hub", "tok-hub-main")
    assert info["state"] == "idle" and info["created"] is True
    assert messages[0] == "asking JupyterHub to start the server of user 'alice'", messages
    # then the hub's own progress events, in order, with their percentages
    assert messages.index("Server requested (0%)") < messages.index("Spawning server... (50%)")
    assert messages[-1] == "Server ready at /user/alice/ (100%)", messages
    # then the session's kernel start on that server, in the same progress
    kernel = progress_messages(daemon, "tok-hub-main")[len(messages) :]
    assert kernel and kernel[-1].startswith("kernel ") and "/user/alice" in kernel[-1], kernel
    # ... which are the session's backendStatus while it starts, too
    statuses = [s.get("backendStatus") for s in daemon.states if s["name"] == "h-main"]
    assert "Spawning server... (50%)" in statuses, statuses
    model = hub.server_model("alice")
    assert model is not None and model["ready"] is True
    # the single-user server ignores a token in the URL: runbridge sends the header
    status, _ = http("GET", f"{hub.url}/user/alice/api/kernelspecs?token={alice_token}")
    assert status == 403
    # the kernel runs in alice's single-user server, reached with the same token
    code = "import os\nprint(os.environ['JUPYTERHUB_USER'], os.environ['JUPYTERHUB_SERVER_NAME'])"
    assert await stdout_of(daemon, "h-main", code) == "alice \n"
    daemon.answer = lambda p: {"value": "forty-two"}
    answer = await stdout_of(daemon, "h-main", "print(input('say: ').upper())")
    assert answer == "say: forty-two\nFORTY-TWO\n"  # the prompt and the answer are echoed
    assert daemon.input_requests[-1]["prompt"] == "say: "


async def test_a_second_session_reuses_the_running_server(daemon: Daemon, hub: HubProcess) -> None:
    await daemon.request("runbridge/openSession", {"name": "h-main", "profile": "hub"})
    model = hub.server_model("alice")
    assert model is not None
    info, messages = await open_watched(daemon, "h-second", "hub", "tok-hub-second")
    assert info["created"] is True
    assert messages == [], messages  # nothing started
    assert await stdout_of(daemon, "h-second", "print(6 * 7)") == "42\n"
    again = hub.server_model("alice")
    assert again is not None and again["started"] == model["started"]
    for name in ("h-main", "h-second"):
        await daemon.request("runbridge/closeSession", {"name": name})


async def test_a_server_stopped_meanwhile_is_started_again(daemon: Daemon, hub: HubProcess) -> None:
    await daemon.request("runbridge/openSession", {"name": "h-before", "profile": "hub"})
    await daemon.request("runbridge/closeSession", {"name": "h-before"})
    hub.stop_server("alice")
    # two sessions open at once: one start, which the other waits for
    (info, messages), (other, other_messages) = await asyncio.gather(
        open_watched(daemon, "h-after", "hub", "tok-hub-after"),
        open_watched(daemon, "h-along", "hub", "tok-hub-along"),
    )
    assert info["state"] == other["state"] == "idle"
    if not messages:
        messages, other_messages = other_messages, messages
    assert "Server requested (0%)" in messages and messages[-1].startswith("Server ready")
    assert other_messages == [], other_messages
    for name in ("h-after", "h-along"):
        assert await stdout_of(daemon, name, "print('back')") == "back\n"
        await daemon.request("runbridge/closeSession", {"name": name})


async def test_a_named_server(daemon: Daemon, hub: HubProcess) -> None:
    assert hub.server_model("alice", "work") is None
    _, messages = await open_watched(daemon, "h-named", "hub-named", "tok-hub-named")
    assert messages[-1] == "Server ready at /user/alice/work/ (100%)", messages
    code = "import os\nprint(os.environ['JUPYTERHUB_SERVER_NAME'])"
    assert await stdout_of(daemon, "h-named", code) == "work\n"
    model = hub.server_model("alice", "work")
    assert model is not None and model["ready"] is True
    await daemon.request("runbridge/closeSession", {"name": "h-named"})
    hub.stop_server("alice", "work")


async def test_list_remote_lists_the_kernels_of_the_users_server_without_starting_it(
    daemon: Daemon, hub: HubProcess, alice_token: str
) -> None:
    params = {"profile": "hub-list"}
    assert (await daemon.request("runbridge/listRemote", params))["sessions"] == []
    assert hub.server_model("alice", "list1") is None  # not started by the listing
    hub.hub_api("POST", "/users/alice/servers/list1")  # started elsewhere
    await daemon.wait_for(lambda: (hub.server_model("alice", "list1") or {}).get("ready"), 30)
    try:
        status, kernel = http(
            "POST", f"{hub.url}/user/alice/list1/api/kernels", alice_token, {"name": "python3"}
        )
        assert status == 201, kernel
        listed = (await daemon.request("runbridge/listRemote", params))["sessions"]
        assert [s["id"] for s in listed] == [kernel["id"]], listed
    finally:
        hub.stop_server("alice", "list1")


async def test_a_start_in_progress_elsewhere_is_followed(daemon: Daemon, hub: HubProcess) -> None:
    hub.hub_api("POST", "/users/carol/server")  # someone else starts carol's server
    _, messages = await open_watched(daemon, "h-carol", "hub-carol", "tok-hub-carol")
    assert "Server requested (0%)" in messages
    assert messages[-1] == "Server ready at /user/carol/ (100%)", messages
    assert not any(m.startswith("asking JupyterHub to start") for m in messages), messages
    code = "import os\nprint(os.environ['JUPYTERHUB_USER'])"
    assert await stdout_of(daemon, "h-carol", code) == "carol\n"
    await daemon.request("runbridge/closeSession", {"name": "h-carol"})
    hub.stop_server("carol")


async def test_check_profile_checks_the_token_and_says_whether_the_server_runs(
    daemon: Daemon, hub: HubProcess
) -> None:
    await daemon.request("runbridge/openSession", {"name": "h-check", "profile": "hub"})
    running = await daemon.request("runbridge/checkProfile", {"profile": "hub"})
    assert running["ok"] is True, running
    assert (
        f"JupyterHub {hub.url}/ (profile 'hub') accepts the token (user 'alice')"
        in (running["message"])
    )
    assert "the server of user 'alice' is running: Jupyter Server" in running["message"]
    assert "kernelspec 'python3' is available" in running["message"]
    stopped = await daemon.request("runbridge/checkProfile", {"profile": "hub-bob"})
    assert stopped["ok"] is True, stopped
    assert (
        "the server of user 'bob' is not running (opening a session starts it)"
        in (stopped["message"])
    )
    assert hub.server_model("bob") is None  # checking started nothing
    await daemon.request("runbridge/closeSession", {"name": "h-check"})


# -- errors ----------------------------------------------------------------------------------


async def test_a_refused_token_is_named_by_its_variable_never_shown(
    daemon: Daemon, hub: HubProcess, alice_token: str
) -> None:
    error = await open_error(daemon, "h-bad", "hub-bad")
    assert error.code == BACKEND_ERROR
    assert (
        f"JupyterHub {hub.url}/ (profile 'hub-bad') refused asking whose token it is "
        "(GET /hub/api/user) (HTTP 403, not authorised); check the token "
        "(token_env RB_TEST_HUB_BAD)" in error.message
    )
    check = await daemon.request("runbridge/checkProfile", {"profile": "hub-bad"})
    assert check["ok"] is False and "token_env RB_TEST_HUB_BAD" in check["message"]
    assert_secret_nowhere(daemon, [WRONG_TOKEN, alice_token, hub.token], error, check)


async def test_unknown_user(daemon: Daemon, hub: HubProcess) -> None:
    error = await open_error(daemon, "h-nobody", "hub-nobody")
    assert error.code == BACKEND_ERROR
    assert f"JupyterHub {hub.url}/ (profile 'hub-nobody') has no user 'nobody'" in error.message
    assert "(HTTP 404); check user in the profile and that the token (token_env " in error.message
    assert "has servers!user=nobody and access:servers!user=nobody" in error.message


async def test_a_service_token_needs_a_user(daemon: Daemon) -> None:
    error = await open_error(daemon, "h-service", "hub-service")
    assert "belongs to a service, not a user: set user in the profile" in error.message


async def test_a_failing_spawn_quotes_the_hub(daemon: Daemon, hub: HubProcess) -> None:
    error = await open_error(daemon, "h-broken", "hub-broken")
    assert error.code == BACKEND_ERROR
    assert (
        f"JupyterHub {hub.url}/ (profile 'hub-broken') could not start server 'broken1' of "
        f"user 'alice': Spawn failed: {SPAWN_FAILURE} broken1" in error.message
    )
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "h-broken" not in [s["name"] for s in listed]


async def test_a_spawn_failing_after_it_was_accepted_quotes_the_hub(
    daemon: Daemon, hub: HubProcess
) -> None:
    error = await open_error(daemon, "h-crash", "hub-crash")
    assert error.code == BACKEND_ERROR
    assert (
        f"(profile 'hub-crash') could not start server 'crash1' of user 'alice': Spawn failed: "
        f"{SPAWN_FAILURE} crash1" in error.message
    )


async def test_a_spawn_slower_than_spawn_timeout_is_stopped(
    daemon: Daemon, hub: HubProcess
) -> None:
    error = await open_error(daemon, "h-slow", "hub-slow")
    assert error.code == BACKEND_ERROR
    assert (
        "server 'slow1' of user 'alice' did not start within 2 s (spawn_timeout in the "
        "profile); runbridge asked the hub to stop it" in error.message
    )
    hub.wait_stopped("alice", "slow1")


async def test_cancelling_the_open_during_the_spawn_stops_it(
    daemon: Daemon, hub: HubProcess
) -> None:
    token = "tok-hub-cancel"
    daemon.client.progress_reports[token] = []
    opening = asyncio.ensure_future(
        daemon.request(
            "runbridge/openSession",
            {"name": "h-cancel", "profile": "hub-cancel", "workDoneToken": token},
        )
    )

    def hub_said(text: str) -> bool:
        reports = daemon.client.progress_reports[token]
        return any(getattr(r, "message", None) == text for r in reports)

    await daemon.wait_for(lambda: hub_said("Spawning server... (50%)"), timeout=20)
    model = hub.server_model("alice", "slow2")
    assert model is not None and model["pending"] == "spawn"
    daemon.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(opening, 30)
    assert "starting session 'h-cancel' was cancelled" in str(caught.value)
    hub.wait_stopped("alice", "slow2")


async def test_a_hub_that_is_not_there(daemon: Daemon) -> None:
    error = await open_error(daemon, "h-down", "hub-down")
    assert error.code == BACKEND_ERROR
    assert "(profile 'hub-down') cannot be reached (connection refused)" in error.message
    assert "check hub_url and that the hub is running" in error.message


async def test_url_and_hub_url_together_are_refused(daemon: Daemon) -> None:
    check = await daemon.request("runbridge/checkProfile", {"profile": "hub-both"})
    assert check["ok"] is False
    assert "url and hub_url are both set" in check["message"]
