"""The ``runbridge`` command: the daemon (``serve``) and the same powers in a shell.

``run``, ``upload``, ``download``, ``term``, ``app``, ``sessions``, ``attach``, ``close``
and ``stop`` talk to this user's session host (:mod:`runbridge.cli.host`), so a shell
shares the editors' sessions. With ``RUNBRIDGE_STANDALONE=1`` the first five run in
process instead (:mod:`runbridge.cli.local`), their sessions ending with the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from runbridge import PROTOCOL_VERSION, __version__
from runbridge.cli.common import add_session_arguments
from runbridge.serve_args import SERVE_HELP, add_serve_arguments

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbridge", description=__doc__)
    parser.add_argument(
        "--version",
        action="version",
        version=f"runbridge {__version__} (protocol {PROTOCOL_VERSION})",
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help=SERVE_HELP)
    add_serve_arguments(serve)

    run = sub.add_parser("run", help="run a file, -c CODE, or - (stdin) and stream the output")
    add_session_arguments(run)
    run.add_argument("file", nargs="?", help="file to run, or - for stdin")
    run.add_argument("-c", "--code", help="code to run")
    run.add_argument("--build", help="batch mode: build command ('*' = default build)")
    run.add_argument("--exec", help="batch mode: exec command ('*' = python main.py)")
    run.add_argument("--clean", help="batch mode: clean command")
    run.add_argument("--timeout", type=float, help="seconds before the run is stopped")
    run.add_argument("--media-dir", help="where media records are saved")

    sessions = sub.add_parser(
        "sessions",
        help="list the host's sessions: name, profile, backend, state, runs, idle time, "
        "clients following",
    )
    sessions.add_argument("--json", action="store_true", help="one JSON array")
    sessions.add_argument(
        "--remote",
        action="store_true",
        help="list what runs on the remote profiles' servers that runbridge did not "
        "create (what openSession can attach to)",
    )
    sessions.add_argument(
        "-p", "--profile", help="with --remote: one profile (default: every remote one)"
    )

    for name, helptext in (
        ("upload", "copy files into a session's work folder"),
        ("download", "copy files out of a session's work folder"),
    ):
        p = sub.add_parser(name, help=helptext)
        add_session_arguments(p)
        p.add_argument("files", nargs="+")
        p.add_argument("--dest", default=None)

    term = sub.add_parser("term", help="attach this TTY to a shell in the session")
    add_session_arguments(term)

    attach = sub.add_parser(
        "attach", help="show a session's last runs, then its live output (Ctrl+C detaches)"
    )
    attach.add_argument("-s", "--session", default="default", help="session name")
    attach.add_argument("-n", "--runs", type=int, default=10, help="how many past runs to show")
    attach.add_argument(
        "--interrupt",
        action="store_true",
        help="Ctrl+C interrupts the session's run, then detaches",
    )
    attach.add_argument("--media-dir", help="where media records are saved")

    close = sub.add_parser("close", help="close a session of the host (its kernel ends)")
    close.add_argument("-s", "--session", default="default", help="session name")

    sub.add_parser("stop", help="stop the host: every session is closed (remote ones kept)")

    from runbridge.cli.app import add_app_parser

    add_app_parser(sub)
    return parser


def _commands(standalone: bool) -> dict[str, Command]:
    if standalone:
        from runbridge.cli import local

        return {
            "run": local.cmd_run,
            "sessions": local.cmd_sessions,
            "upload": local.cmd_transfer,
            "download": local.cmd_transfer,
            "term": local.cmd_term,
        }
    from runbridge.cli import app, host

    return {
        "app": app.cmd_app,
        "run": host.cmd_run,
        "sessions": host.cmd_sessions,
        "upload": host.cmd_transfer,
        "download": host.cmd_transfer,
        "term": host.cmd_term,
        "attach": host.cmd_attach,
        "close": host.cmd_close,
        "stop": host.cmd_stop,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        sys.stderr.write("runbridge: serve is started through runbridge.entry\n")
        return 2
    standalone = os.environ.get("RUNBRIDGE_STANDALONE") == "1"
    command = _commands(standalone).get(args.command)
    if command is None:
        sys.stderr.write(
            f"runbridge: {args.command} needs the session host (unset RUNBRIDGE_STANDALONE)\n"
        )
        return 2
    from runbridge.errors import RunbridgeError
    from runbridge.host_client import HostError

    try:
        return asyncio.run(command(args))
    except KeyboardInterrupt:  # Ctrl+C before the command was ready for it
        return 130
    except (RunbridgeError, HostError) as exc:
        sys.stderr.write(f"runbridge: {exc.message}\n")
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"runbridge: {exc}\n")
        return 2
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
