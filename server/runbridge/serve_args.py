"""The arguments of ``runbridge serve``: read by :mod:`runbridge.entry`, listed by the CLI."""

from __future__ import annotations

import argparse
import os

SERVE_HELP = "serve LSP JSON-RPC over stdio (a relay to your session host); the default"


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--log-level", default=os.environ.get("RUNBRIDGE_LOG_LEVEL", "INFO"))
    serve.add_argument(
        "--host",
        action="store_true",
        help="be the session host: own every session, serve clients on a Unix socket",
    )
    serve.add_argument(
        "--standalone",
        action="store_true",
        help="serve stdio in this process; its sessions end with it (also RUNBRIDGE_STANDALONE=1)",
    )
    serve.add_argument(
        "--socket",
        default=None,
        help="the host's socket (default: $XDG_RUNTIME_DIR/runbridge/host.sock, "
        "or RUNBRIDGE_HOST_SOCKET); implies --host",
    )
    serve.add_argument(
        "--linger",
        type=float,
        default=600.0,
        help="host: seconds with no session and no client before it exits (default 600)",
    )
