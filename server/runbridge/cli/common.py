"""What the ``runbridge`` commands share: results on stdout, the code to run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
