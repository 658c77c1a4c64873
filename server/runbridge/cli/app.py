"""``runbridge app -s NAME APP [-b [HOST:]PORT] [--port CONTAINER_PORT]``: a session's app
(service port) forwarded to this machine through the session host, as ``backend.ai app``
does, until Ctrl+C.

The forward is the host's (``runbridge/openApp``): its URL is printed on stdout, and
Ctrl+C, SIGTERM or SIGHUP close it (``runbridge/closeApp``). It also ends when the
session closes or the host exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from runbridge.backends.apps import LOOPBACK
from runbridge.cli.common import add_session_arguments, host_gone_first, say
from runbridge.cli.host import _open_params
from runbridge.host_client import HostError, connect

#: Host names ``--bind`` takes: a forward is reached without a password, so it listens
#: on this machine's loopback only.
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
_ENDINGS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class BindError(ValueError):
    pass


def parse_bind(text: str | None) -> int | None:
    """``[HOST:]PORT`` -> the port (None: a free one); HOST must be the loopback."""
    if text is None:
        return None
    host, sep, port = text.rpartition(":")
    if sep and host not in LOOPBACK_NAMES:
        raise BindError(
            f"--bind {text}: forwards listen on {LOOPBACK} only (an app is reached without "
            "a password); give PORT or 127.0.0.1:PORT"
        )
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BindError(f"--bind {text}: the port must be a number from 0 to 65535")
    return int(port) or None


def add_app_parser(sub: Any) -> None:
    app = sub.add_parser(
        "app",
        help="forward an app (service port) of a Backend.AI session to 127.0.0.1 until Ctrl+C",
    )
    add_session_arguments(app)
    app.add_argument("app", help="the app's name (as the session lists it, e.g. jupyter)")
    app.add_argument(
        "-b", "--bind", default=None, help="[127.0.0.1:]PORT to listen on (default: a free port)"
    )
    app.add_argument(
        "--port", type=int, default=None, help="the app's container port, when it has several"
    )


async def cmd_app(args: argparse.Namespace) -> int:
    try:
        local_port = parse_bind(args.bind)
    except BindError as exc:
        sys.stderr.write(f"runbridge: {exc}\n")
        return 2
    client = await connect(start=True)
    assert client is not None
    done = asyncio.Event()

    def on_state(p: Any) -> None:
        info = p.get("session") if isinstance(p, dict) else None
        closed = isinstance(info, dict) and info.get("state") == "closed"
        if closed and isinstance(info, dict) and info.get("name") == args.session:
            sys.stderr.write(f"[session {args.session} closed: the forward ended]\n")
            done.set()

    client.notifications["runbridge/sessionChanged"] = on_state
    loop = asyncio.get_running_loop()
    app_id: str | None = None
    try:
        await client.request("runbridge/openSession", await _open_params(client, args))
        params: dict[str, Any] = {"session": args.session, "app": args.app}
        if local_port is not None:
            params["localPort"] = local_port
        if args.port is not None:
            params["port"] = args.port
        opened = await client.request("runbridge/openApp", params)
        app_id = str(opened["appId"])
        for signum in _ENDINGS:
            loop.add_signal_handler(signum, done.set)
        say(str(opened["url"]))
        sys.stderr.write(
            f"[app {args.app} of session {args.session} at {opened['url']}; Ctrl+C ends it]\n"
        )
        sys.stderr.flush()
        if await host_gone_first(client.closed, done):
            sys.stderr.write("runbridge: the host closed the connection\n")
            return 1
        return 0
    finally:
        for signum in _ENDINGS:
            loop.remove_signal_handler(signum)
        if app_id is not None and not client.closed.is_set():
            with contextlib.suppress(HostError):
                await client.request("runbridge/closeApp", {"appId": app_id})
        await client.close()
