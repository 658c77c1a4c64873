"""The ``runbridge`` command's entry: ``serve`` is dispatched here, before anything
heavy is imported (the relay must answer ``initialize`` quickly); every other
command goes to :mod:`runbridge.cli`.

``runbridge serve`` (no flags) is a relay to this user's session host (found or
started); ``--host`` is the host itself; ``--standalone`` (or
``RUNBRIDGE_STANDALONE=1``) serves stdio in process, its sessions ending with it.
"""

from __future__ import annotations

import argparse
import os
import sys

from runbridge.serve_args import SERVE_HELP, add_serve_arguments


def serve(args: argparse.Namespace) -> int:
    if args.host or args.socket:
        from pathlib import Path

        from runbridge.lsp.serve import main as serve_main

        return serve_main(
            args.log_level, Path(args.socket) if args.socket else None, args.linger, host=True
        )
    if args.standalone or os.environ.get("RUNBRIDGE_STANDALONE") == "1":
        from runbridge.lsp.serve import main as serve_main

        return serve_main(args.log_level)
    from runbridge import relay

    return relay.main(args.log_level)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] == "serve":
        parser = argparse.ArgumentParser(prog="runbridge serve", description=SERVE_HELP)
        add_serve_arguments(parser)
        return serve(parser.parse_args(argv[1:]))
    from runbridge import cli

    return cli.main(argv)
