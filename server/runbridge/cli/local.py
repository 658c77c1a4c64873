"""The ``runbridge`` commands in process (``RUNBRIDGE_STANDALONE=1``): each drives its own
:class:`~runbridge.sessions.manager.SessionManager`, whose sessions end with the command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from runbridge import paths
from runbridge.cli.common import run_code, say, session_options
from runbridge.cli.events import CliEvents
from runbridge.config import load_settings
from runbridge.model import BatchOptions, RunRequest, RunStatus
from runbridge.session_options import SessionOptions, parse_session_options
from runbridge.sessions.manager import SessionManager


def _options(args: argparse.Namespace) -> SessionOptions | None:
    """The session option flags, checked as the daemon checks ``options``."""
    raw = session_options(args)
    return None if raw is None else parse_session_options(raw)


async def cmd_run(args: argparse.Namespace) -> int:
    events = CliEvents(sys.stdout, sys.stderr, Path(args.media_dir or paths.cache_dir() / "media"))
    manager = SessionManager(load_settings(), events)
    try:
        options = BatchOptions(
            build=args.build, exec=args.exec, clean=args.clean, timeout=args.timeout
        )
        mode = "batch" if (args.build or args.exec) else "query"
        code = run_code(args)
        session_opts = _options(args)
        if session_opts is not None:  # a run request has no options: open the session first
            await manager.open(args.session, args.profile, args.image, options=session_opts)
        request = RunRequest(
            args.session, code, mode, options, profile=args.profile, image=args.image
        )
        task = asyncio.ensure_future(manager.run(request))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(
            signal.SIGINT,
            lambda: asyncio.ensure_future(manager.cancel_run(request.session, request.run_id)),
        )
        result = await task
        outcome = result.outcome
        if outcome.message and outcome.status != RunStatus.FINISHED:
            sys.stderr.write(f"runbridge: {outcome.status}: {outcome.message}\n")
        if outcome.exit_code is None:
            return 1
        return outcome.exit_code
    finally:
        await manager.aclose()


async def cmd_sessions(args: argparse.Namespace) -> int:
    if args.remote:
        from runbridge.cli.host import print_remote

        events = CliEvents(sys.stdout, sys.stderr, paths.cache_dir() / "media")
        manager = SessionManager(load_settings(), events)
        try:
            listed = await manager.list_remote(args.profile, all_profiles=not args.profile)
        finally:
            await manager.aclose()
        return print_remote(listed, args.json)
    root = paths.data_dir() / "sessions"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    if args.json:
        say(json.dumps([{"workdir": str(p), "name": p.name} for p in folders]))
    else:
        say("local session work folders:" if folders else "no local session work folders")
        for folder in folders:
            say(f"  {folder.name:24} {folder}")
    return 0


async def cmd_transfer(args: argparse.Namespace) -> int:
    events = CliEvents(sys.stdout, sys.stderr, paths.cache_dir() / "media")
    manager = SessionManager(load_settings(), events)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        pct = 100 if total == 0 else done * 100 // total
        sys.stderr.write(f"\r{args.command}: {pct:3d}% ({done}/{total} bytes)")
        sys.stderr.flush()

    try:
        await manager.open(args.session, args.profile, args.image, options=_options(args))
        if args.command == "upload":
            entries = await manager.upload(args.session, args.files, args.dest or ".", progress)
        else:
            dest = os.path.abspath(args.dest or ".")
            entries = await manager.download(args.session, args.files, dest, progress)
        sys.stderr.write(f"\n{len(entries)} file(s) in {time.monotonic() - started:.2f}s\n")
        for entry in entries:
            say(f"{entry.size:12d}  {entry.path}")
        return 0
    finally:
        await manager.aclose()


async def cmd_term(args: argparse.Namespace) -> int:
    import termios
    import tty

    queue: asyncio.Queue[str | None] = asyncio.Queue()
    events = CliEvents(sys.stdout, sys.stderr, paths.cache_dir() / "media")
    events.terminal_sink = queue.put_nowait
    manager = SessionManager(load_settings(), events)
    try:
        await manager.open(args.session, args.profile, args.image, options=_options(args))
        size = os.get_terminal_size() if sys.stdin.isatty() else os.terminal_size((80, 24))
        tid = await manager.open_terminal(args.session, size.lines, size.columns)
        loop = asyncio.get_running_loop()
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if sys.stdin.isatty() else None
        if saved is not None:
            tty.setraw(fd)

        def on_stdin() -> None:
            data = os.read(fd, 4096)
            if data:
                manager.terminal_input(tid, data.decode("utf-8", "replace"))

        def on_resize() -> None:
            s = os.get_terminal_size()
            manager.resize_terminal(tid, s.lines, s.columns)

        loop.add_reader(fd, on_stdin)
        loop.add_signal_handler(signal.SIGWINCH, on_resize)
        try:
            while (data := await queue.get()) is not None:
                os.write(sys.stdout.fileno(), data.encode("utf-8"))
        finally:
            loop.remove_reader(fd)
            if saved is not None:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        return 0
    finally:
        await manager.aclose()
