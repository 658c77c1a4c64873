"""The ``jupyter`` backend against a real Jupyter Enterprise Gateway 3.3.0, through the daemon.

One gateway for the whole test session (``enterprise_gateway`` in tests/conftest.py, from
``.venv-eg``): on 127.0.0.1 with a token, ``EG_AUTHORIZED_USERS=alice`` (and EG's default
``EG_UNAUTHORIZED_USERS``, root), ``EG_LIST_KERNELS`` on so that the tests can see which
kernels exist, kernels started by the ``LocalProcessProxy``. One daemon for the module,
with a profile per case. The scenarios every backend shares also run against this
gateway in tests/conformance.
"""

from __future__ import annotations

import asyncio
import functools
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon, start_daemon, start_run
from tests.e2e.helpers import (
    error_data,
    open_session,
    progress_ended,
    progress_messages,
    rpc_error,
    states_of,
)
from tests.jupyter.conftest import profile
from tests.jupyter.helpers import assert_secret_nowhere
from tests.jupyter.servers import EG_USER, QUEUED_KERNEL_S, SLOW_KERNEL_S, EnterpriseGateway, http

pytestmark = pytest.mark.timeout(90)

BACKEND_ERROR = -32020
CONFIG_ERROR = -32010
KERNEL_ENV = {"KERNEL_NAMESPACE": "team-a", "KERNEL_IMAGE": "registry.example/kernel-py:3.11"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def daemon(enterprise_gateway: EnterpriseGateway) -> AsyncIterator[Daemon]:
    url, token = enterprise_gateway.url, enterprise_gateway.token
    profiles = {
        "eg": profile(url, token, username=EG_USER, kernel_env=KERNEL_ENV),
        "eg-slow": profile(url, token, username=EG_USER, kernel_name="slow"),
        "eg-queued": profile(url, token, username=EG_USER, kernel_name="queued"),
        "eg-short": profile(url, token, username=EG_USER, kernel_name="queued", start_timeout=1),
        "eg-root": profile(url, token),  # the tests run as root: EG refuses root by default
        "eg-bob": profile(url, token, username="bob"),
        "eg-notkernel": profile(url, token, username=EG_USER, kernel_env={"PATH": "/x"}),
        "eg-number": profile(url, token, username=EG_USER, kernel_env={"KERNEL_UID": 1000}),
        "eg-list": profile(url, token, username=EG_USER, kernel_env={"KERNEL_UID": [1]}),
        "eg-long": profile(url, token, username=EG_USER, kernel_env={"KERNEL_X": "x" * 4097}),
        "eg-kuser": profile(url, token, kernel_env={"KERNEL_USERNAME": EG_USER}),
    }
    home = Path(tempfile.mkdtemp(prefix="rb-eg-"))
    async with start_daemon(home, init_options={"profiles": profiles, "profile": "eg"}) as d:
        yield d


def kernel_ids(gateway: EnterpriseGateway) -> set[str]:
    return {k["id"] for k in gateway.kernels()}


async def test_sessions_runs_input_interrupt_restart_and_death(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    """Open-or-reuse by name, output, input(), interrupt, restart, and a kernel that dies."""
    name = "eg-main"
    before = kernel_ids(enterprise_gateway)
    info = await open_session(daemon, name)
    assert (info["created"], info["state"], info["backend"]) == (True, "idle", "jupyter"), info
    (kernel,) = kernel_ids(enterprise_gateway) - before
    assert info["backendStatus"] == f"kernel {kernel} on {enterprise_gateway.url}", info
    result = await daemon.run("kept = 6 * 7\nprint('hello from EG')", session=name)
    assert (result["status"], daemon.text(result["runId"])) == ("finished", "hello from EG\n")
    again = await open_session(daemon, name)
    assert (again["created"], again["state"]) == (False, "idle"), again
    assert kernel_ids(enterprise_gateway) - before == {kernel}
    # input() answered by the editor
    daemon.answer = lambda p: {"value": "forty-two"}
    try:
        result = await daemon.run("print('got', input('n? '))", session=name)
    finally:
        daemon.answer = lambda p: {"value": ""}
    assert daemon.input_requests[-1]["prompt"] == "n? ", daemon.input_requests[-1]
    assert (result["status"], daemon.text(result["runId"])) == (
        "finished",
        "n? forty-two\ngot forty-two\n",
    )
    # interrupt (POST /api/kernels/{id}/interrupt)
    task = await start_run(
        daemon, name, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", "sleeping"
    )
    await daemon.request("runbridge/interrupt", {"session": name})
    result = await asyncio.wait_for(task, 20)
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    result = await daemon.run("print(kept)", session=name)
    assert daemon.text(result["runId"]) == "42\n"
    # restart: the same kernel, variables lost
    restarted = await daemon.request("runbridge/restart", {"session": name})
    assert restarted["state"] == "idle", restarted
    result = await daemon.run("print('kept' in globals())", session=name)
    assert daemon.text(result["runId"]) == "False\n"
    assert kernel in kernel_ids(enterprise_gateway)
    # the kernel dies: the run fails, the session is dead, the next run works
    result = await daemon.run("print('bye', flush=True)\nimport os\nos._exit(1)", session=name)
    assert (result["status"], result["exitCode"]) == ("failed", None), result
    assert "died" in result["message"], result
    await daemon.wait_for(lambda: "dead" in states_of(daemon, name), 10)
    after = await daemon.run("print('back', 6 * 7)", session=name)
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "back 42\n"), after
    await daemon.request("runbridge/closeSession", {"name": name})
    assert kernel_ids(enterprise_gateway) <= before
    assert_secret_nowhere(daemon, [enterprise_gateway.token], info, result)


ENVIRON = (
    "import os\n"
    "shown = lambda k: k.startswith('KERNEL_') or k in ('PATH', 'HOME')\n"
    "print({k: v for k, v in os.environ.items() if shown(k)})"
)


async def test_username_and_kernel_env_reach_the_kernel(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    """``username`` is sent as ``KERNEL_USERNAME`` (EG authorises by it) and the profile's
    ``kernel_env`` as the other ``KERNEL_*`` variables; the LocalProcessProxy hands them to
    the kernel's environment."""
    name = "eg-env"
    result = await daemon.run(ENVIRON, session=name)
    assert result["status"] == "finished", result
    seen = eval(daemon.text(result["runId"]))  # a dict literal printed by the kernel
    assert seen["KERNEL_USERNAME"] == EG_USER, seen
    for key, value in KERNEL_ENV.items():
        assert seen[key] == value, (key, seen)
    assert seen["KERNEL_ID"] in kernel_ids(enterprise_gateway), seen
    # of EG's own environment, only what EG_INHERITED_ENVS names (PATH) reaches the kernel
    assert seen["PATH"] == enterprise_gateway.environment()["PATH"], seen
    assert "HOME" not in seen, seen
    await daemon.request("runbridge/closeSession", {"name": name})


async def test_a_refused_user_is_named_with_the_username_to_set(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    """EG answers 403 "User 'x' is not authorized to start kernel ..."; the error names the
    user and the profile's ``username`` / ``KERNEL_USERNAME``, and does not blame the token.
    Root without ``username`` (the tests run as root; EG refuses root by default) too."""
    before = kernel_ids(enterprise_gateway)
    for profile_name, user, says in (
        ("eg-root", "root", "the profile has no username"),
        ("eg-bob", "bob", "the profile's username 'bob' (sent as KERNEL_USERNAME)"),
    ):
        error = await rpc_error(
            daemon, "runbridge/openSession", {"name": f"eg-{user}", "profile": profile_name}
        )
        assert error.code == BACKEND_ERROR, error
        message = error.message
        assert f"User '{user}' is not" in message and "403" in message, message
        assert says in message and "KERNEL_USERNAME" in message, message
        assert "set username" in message, message
        assert "check the token" not in message, message
        listed = (await daemon.request("runbridge/listSessions"))["sessions"]
        assert f"eg-{user}" not in [s["name"] for s in listed]
    assert kernel_ids(enterprise_gateway) == before
    # the daemon keeps serving
    result = await daemon.run("print('still here')", session="eg-after-refusal")
    assert daemon.text(result["runId"]) == "still here\n"
    await daemon.request("runbridge/closeSession", {"name": "eg-after-refusal"})


async def test_bad_kernel_env_is_a_config_error_naming_the_key(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    cases = {
        "eg-notkernel": ("kernel_env.PATH", "is not a KERNEL_* variable name"),
        "eg-list": ("kernel_env.KERNEL_UID", "must be a string"),
        "eg-long": ("kernel_env.KERNEL_X", "is longer than 4096 characters"),
        "eg-kuser": ("kernel_env.KERNEL_USERNAME", "is set by the profile's username key"),
    }
    for profile_name, (key, problem) in cases.items():
        error = await rpc_error(
            daemon, "runbridge/openSession", {"name": profile_name, "profile": profile_name}
        )
        assert error.code == CONFIG_ERROR, error
        assert key in error.message and problem in error.message, error.message
        assert error_data(error)["key"] == key, error_data(error)
    # (EG 3.3 itself refuses such a value: 400)
    status, body = http(
        "POST",
        f"{enterprise_gateway.url}/api/kernels",
        enterprise_gateway.token,
        {"name": "python3", "env": {"KERNEL_USERNAME": EG_USER, "KERNEL_X": "x" * 4097}},
    )
    assert status == 400 and "KERNEL_X" in body["message"], (status, body)
    # an integer is taken as its decimal text
    result = await daemon.run(ENVIRON, session="eg-number", profile="eg-number")
    assert eval(daemon.text(result["runId"]))["KERNEL_UID"] == "1000", daemon.console(
        result["runId"]
    )
    await daemon.request("runbridge/closeSession", {"name": "eg-number"})


async def test_a_slow_kernel_start_shows_progress_and_can_be_cancelled(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    """The ``slow`` kernelspec sleeps before it execs ipykernel (a kernel being scheduled):
    the openSession progress tells what is awaited, where and for how long (never the
    token); cancelling it fails the open ("cancelled") and leaves no kernel on the gateway."""
    url = re.escape(enterprise_gateway.url)
    waiting = re.compile(rf"waiting for kernel [0-9a-f-]+ on {url}, (\d+) s")
    before = kernel_ids(enterprise_gateway)
    token = "tok-eg-cancel"
    daemon.client.progress_reports[token] = []
    opening = asyncio.ensure_future(
        daemon.request(
            "runbridge/openSession",
            {"name": "eg-slow", "profile": "eg-slow", "workDoneToken": token},
        )
    )
    await daemon.wait_for(
        lambda: any(waiting.fullmatch(m) for m in progress_messages(daemon, token)), 15
    )
    assert len(kernel_ids(enterprise_gateway) - before) == 1  # the kernel is being started
    daemon.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(opening, 30)
    assert "starting session 'eg-slow' was cancelled" in str(caught.value)
    await daemon.wait_for(functools.partial(progress_ended, daemon, token), 10)
    assert daemon.client.progress_reports[token][-1].message == "cancelled"
    assert kernel_ids(enterprise_gateway) == before  # deleted, not left starting
    # the same start, not cancelled: the progress counts the seconds until the kernel answers
    token = "tok-eg-slow"
    daemon.client.progress_reports[token] = []
    info = await daemon.request(
        "runbridge/openSession", {"name": "eg-slow", "profile": "eg-slow", "workDoneToken": token}
    )
    assert info["created"] is True and info["state"] == "idle", info
    messages = progress_messages(daemon, token)
    assert messages[0] == f"starting a 'slow' kernel on {enterprise_gateway.url}", messages
    seconds = [int(m.group(1)) for m in map(waiting.fullmatch, messages) if m]
    assert seconds == sorted(seconds) and seconds[-1] >= SLOW_KERNEL_S - 2, messages
    assert messages[-1] == info["backendStatus"], (messages, info)
    result = await daemon.run("print('slow but here')", session="eg-slow")
    assert daemon.text(result["runId"]) == "slow but here\n"
    await daemon.request("runbridge/closeSession", {"name": "eg-slow"})
    assert kernel_ids(enterprise_gateway) == before
    assert_secret_nowhere(daemon, [enterprise_gateway.token], messages)


async def late_kernel_deleted(
    daemon: Daemon, gateway: EnterpriseGateway, started_before: list[str], before: set[str]
) -> None:
    """Wait until the kernel the gateway started after ``started_before`` (its log's list)
    was shut down and the gateway lists the kernels of ``before`` again."""

    def deleted() -> bool:
        started, shut_down = gateway.kernels_started_and_shut_down()
        late = started[len(started_before) :]
        return bool(late) and set(late) <= set(shut_down)

    await daemon.wait_for(deleted, QUEUED_KERNEL_S + 15)
    # (EG logs the shutdown a moment before it drops the kernel from its list)
    await daemon.wait_for(lambda: kernel_ids(gateway) == before, 10)


async def test_a_start_cancelled_while_its_post_is_in_flight_deletes_the_late_kernel(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    """The ``queued`` kernelspec's process proxy holds ``POST /api/kernels`` for a few
    seconds (a scheduler's queue). Cancelled meanwhile, the open fails at once; the gateway
    still starts the kernel when the POST completes, and runbridge then deletes it."""
    url = re.escape(enterprise_gateway.url)
    queued = re.compile(rf"starting a 'queued' kernel on {url}, (\d+) s")
    before = kernel_ids(enterprise_gateway)
    started_before = enterprise_gateway.kernels_started_and_shut_down()[0]
    token = "tok-eg-queued"
    daemon.client.progress_reports[token] = []
    opening = asyncio.ensure_future(
        daemon.request(
            "runbridge/openSession",
            {"name": "eg-queued", "profile": "eg-queued", "workDoneToken": token},
        )
    )
    await daemon.wait_for(
        lambda: any(queued.fullmatch(m) for m in progress_messages(daemon, token)), 15
    )
    assert kernel_ids(enterprise_gateway) == before  # the POST has not returned
    daemon.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(opening, QUEUED_KERNEL_S / 2)  # not held until the POST ends
    assert "starting session 'eg-queued' was cancelled" in str(caught.value)
    await late_kernel_deleted(daemon, enterprise_gateway, started_before, before)
    listed = (await daemon.request("runbridge/listSessions"))["sessions"]
    assert "eg-queued" not in [s["name"] for s in listed]


async def test_a_start_longer_than_start_timeout_names_the_key(
    daemon: Daemon, enterprise_gateway: EnterpriseGateway
) -> None:
    """``start_timeout`` bounds the start: past it the open fails naming the key. The gateway
    still starts the kernel when its POST completes, and runbridge then deletes it."""
    before = kernel_ids(enterprise_gateway)
    started_before = enterprise_gateway.kernels_started_and_shut_down()[0]
    error = await rpc_error(
        daemon, "runbridge/openSession", {"name": "eg-short", "profile": "eg-short"}
    )
    assert error.code == BACKEND_ERROR, error
    assert "did not start the 'queued' kernel within start_timeout (1 s)" in error.message
    assert "raise start_timeout in the profile" in error.message, error.message
    assert "runbridge deletes the kernel if the server still starts it" in error.message
    assert enterprise_gateway.url in error.message, error.message
    assert kernel_ids(enterprise_gateway) == before  # the POST has not returned
    await late_kernel_deleted(daemon, enterprise_gateway, started_before, before)
