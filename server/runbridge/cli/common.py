"""What the ``runbridge`` commands share: results on stdout, the code to run."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runbridge.errors import InvalidParams


def say(text: str) -> None:
    """CLI commands (not the daemon) write their results to stdout."""
    sys.stdout.write(text + "\n")


def read_code(args: argparse.Namespace) -> str:
    """The code of ``run``: ``-c CODE``, a file, or stdin (no file, or ``-``)."""
    if args.code is not None:
        return str(args.code)
    if args.file in (None, "-"):
        return sys.stdin.read()
    return Path(args.file).read_text(encoding="utf-8")


def run_code(args: argparse.Namespace) -> str:
    """The code of a run: none for a batch run given no code, else :func:`read_code`."""
    batch = bool(args.build or args.exec)
    if batch and args.code is None and args.file is None:
        return ""
    return read_code(args)


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """``-s``, ``-p``, ``--image`` and the session options: what opens a session."""
    parser.add_argument("-s", "--session", default="default", help="session name")
    parser.add_argument("-p", "--profile", default=None, help="profile name from config.toml")
    parser.add_argument("--image", default=None, help="kernelspec (local) or image")
    add_option_arguments(parser)


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """Backend.AI session options, as ``backend.ai session create`` takes them."""
    group = parser.add_argument_group("Backend.AI session options (when the session opens)")
    group.add_argument(
        "-r", "--resource", action="append", metavar="KEY=VALUE", default=[],
        help="a resource slot, e.g. cpu=2, mem=4g, cuda.shares=0.5 (repeatable)",
    )  # fmt: skip
    group.add_argument("--cluster-size", type=int, metavar="N", help="number of containers")
    group.add_argument("--cluster-mode", choices=("single-node", "multi-node"))
    group.add_argument(
        "-m", "--mount", action="append", metavar="NAME[:TARGET]", default=[],
        help="a vfolder to mount (at /home/work/NAME, or TARGET) (repeatable)",
    )  # fmt: skip
    group.add_argument("--scaling-group", metavar="NAME", help="the scaling (resource) group")
    group.add_argument(
        "--bootstrap-script", metavar="FILE", help="a shell script run once when it starts"
    )
    group.add_argument("--tag", help="the session's tag")


_INTEGER = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d*\.\d+|\d+\.\d*")


def _amount(text: str) -> int | float | str:
    """``2`` -> 2, ``0.5`` -> 0.5, anything else (``4g``) as written."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    return text


def session_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """``openSession``'s ``options`` from the flags (None when none is given); the daemon
    checks them. The bootstrap script's file is read here, as ``backend.ai`` does."""
    options: dict[str, Any] = {}
    resources: dict[str, Any] = {}
    for item in getattr(args, "resource", None) or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise InvalidParams(f"--resource {item!r}: write KEY=VALUE (e.g. cpu=2)", field="-r")
        resources[key.strip()] = _amount(value.strip())
    if resources:
        options["resources"] = resources
    if getattr(args, "cluster_size", None) is not None:
        options["clusterSize"] = args.cluster_size
    if getattr(args, "cluster_mode", None) is not None:
        options["clusterMode"] = args.cluster_mode
    mounts = []
    for item in getattr(args, "mount", None) or []:
        name, colon, target = item.partition(":")
        mounts.append({"name": name, "target": target} if colon else {"name": name})
    if mounts:
        options["mounts"] = mounts
    if getattr(args, "scaling_group", None) is not None:
        options["scalingGroup"] = args.scaling_group
    if getattr(args, "bootstrap_script", None) is not None:
        options["bootstrapScript"] = Path(args.bootstrap_script).read_text(encoding="utf-8")
    if getattr(args, "tag", None) is not None:
        options["tag"] = args.tag
    return options or None


async def host_gone_first(host_closed: asyncio.Event, done: asyncio.Event) -> bool:
    """Wait until the user ends the command (``done``: Ctrl+C, a signal) or the host closes
    the connection; True when the host went away first."""
    gone = asyncio.ensure_future(host_closed.wait())
    ending = asyncio.ensure_future(done.wait())
    try:
        await asyncio.wait({gone, ending}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        ending.cancel()
    return host_closed.is_set() and not done.is_set()


def say_table(rows: Sequence[Sequence[str]]) -> None:
    """Rows (the first the header) as columns two spaces apart, on stdout."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
