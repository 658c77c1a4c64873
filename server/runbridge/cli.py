"""The ``runbridge`` command: the daemon (``serve``) and the same powers in a shell.

``run``, ``sessions``, ``upload``, ``download`` and ``term`` drive the same
:class:`~runbridge.sessions.manager.SessionManager` as the daemon, in process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import getpass
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from runbridge import PROTOCOL_VERSION, __version__, mime, paths
from runbridge.config import load_settings
from runbridge.errors import RunbridgeError
from runbridge.model import BatchOptions, RunRequest, RunStatus
from runbridge.serve_args import SERVE_HELP, add_serve_arguments
from runbridge.sessions.manager import SessionManager
from runbridge.sessions.output import OutputBatch

_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/svg+xml": "svg",
    "text/html": "html",
    "text/markdown": "md",
    "text/latex": "tex",
    "application/json": "json",
    mime.DRAWING: "drawing.json",
}


class CliEvents:
    """Prints a run's output to this terminal and saves media to files."""

    def __init__(self, out: TextIO, err: TextIO, media_dir: Path) -> None:
        self.out, self.err = out, err
        self.media_dir = media_dir
        self.media: list[Path] = []
        #: The file of each display with an id (its updates rewrite it).
        self.displays: dict[str, Path] = {}
        self.terminal_sink: Any = None
        #: An input answer the terminal has already echoed (the run's stream repeats it).
        self._echoed: str | None = None

    def output(self, batch: OutputBatch) -> None:
        params = batch.to_params()
        for record in params["console"]:
            kind, data = record[0], record[1]  # a display's record has a third element
            if kind == "stdout":
                if self._echoed is not None and data.startswith(self._echoed):
                    data = data[len(self._echoed) :]
                self._echoed = None
                self.out.write(data)
                self.out.flush()
            elif kind == "stderr":
                self.err.write(data)
                self.err.flush()
            elif kind == mime.CLEAR_OUTPUT:
                continue
            else:
                display = record[2] if len(record) > 2 and isinstance(record[2], dict) else {}
                display_id = display.get("displayId")
                if display.get("update"):
                    if display_id not in self.displays:
                        continue  # an update of a display this shell never showed
                    path = self.save_media(params["runId"], kind, data, self.displays[display_id])
                    self.err.write(f"[{kind} display updated: {path}]\n")
                else:
                    path = self.save_media(params["runId"], kind, data)
                    if isinstance(display_id, str):
                        self.displays[display_id] = path
                    self.err.write(f"[{kind} saved to {path}]\n")
                self.err.flush()

    def save_media(self, run_id: str, kind: str, data: str, path: Path | None = None) -> Path:
        """Write a media record to a new file, or over ``path`` (a display update)."""
        self.media_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ext = _EXTENSIONS.get(kind, "txt")
        if path is None:
            path = self.media_dir / f"{run_id}-{len(self.media) + 1}.{ext}"
            self.media.append(path)
        if data.startswith("data:") and ";base64," in data:
            content = base64.b64decode(data.split(",", 1)[1])
        else:
            content = data.encode("utf-8")
        # what a session drew is as private as what it printed (0600, never through a link)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with open(paths.open_private(path, flags), "wb") as file:
            file.write(content)
        return path

    def session_changed(self, info: dict[str, Any]) -> None:
        pass

    def terminal_output(self, terminal_id: str, data: str) -> None:
        if self.terminal_sink is not None:
            self.terminal_sink(data)

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        if self.terminal_sink is not None:
            self.terminal_sink(None)

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        # The prompt is already on screen (the run's stdout shows it), so it is not
        # repeated here; the stream also echoes the answer, which a terminal has shown.
        password = bool(params.get("password"))
        ask = getpass.getpass if password else input
        try:
            value = await asyncio.to_thread(ask, "")
        except (EOFError, KeyboardInterrupt):
            return None
        if sys.stdin.isatty() and self.out.isatty():
            self._echoed = ("" if password else value) + "\n"
        return value


def _say(text: str) -> None:
    """CLI commands (not the daemon) write their results to stdout."""
    sys.stdout.write(text + "\n")


def _read_code(args: argparse.Namespace) -> str:
    if args.code is not None:
        return str(args.code)
    if args.file in (None, "-"):
        return sys.stdin.read()
    return Path(args.file).read_text(encoding="utf-8")


async def _cmd_run(args: argparse.Namespace) -> int:
    events = CliEvents(sys.stdout, sys.stderr, Path(args.media_dir or paths.cache_dir() / "media"))
    manager = SessionManager(load_settings(), events)
    try:
        options = BatchOptions(
            build=args.build, exec=args.exec, clean=args.clean, timeout=args.timeout
        )
        mode = "batch" if (args.build or args.exec) else "query"
        code = (
            "" if mode == "batch" and args.code is None and args.file is None else _read_code(args)
        )
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


async def _cmd_sessions(args: argparse.Namespace) -> int:
    root = paths.data_dir() / "sessions"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    if args.json:
        _say(json.dumps([{"workdir": str(p), "name": p.name} for p in folders]))
    else:
        _say("local session work folders:" if folders else "no local session work folders")
        for folder in folders:
            _say(f"  {folder.name:24} {folder}")
    return 0


async def _cmd_transfer(args: argparse.Namespace) -> int:
    events = CliEvents(sys.stdout, sys.stderr, paths.cache_dir() / "media")
    manager = SessionManager(load_settings(), events)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        pct = 100 if total == 0 else done * 100 // total
        sys.stderr.write(f"\r{args.command}: {pct:3d}% ({done}/{total} bytes)")
        sys.stderr.flush()

    try:
        await manager.open(args.session, args.profile, args.image)
        if args.command == "upload":
            entries = await manager.upload(args.session, args.files, args.dest or ".", progress)
        else:
            dest = os.path.abspath(args.dest or ".")
            entries = await manager.download(args.session, args.files, dest, progress)
        sys.stderr.write(f"\n{len(entries)} file(s) in {time.monotonic() - started:.2f}s\n")
        for entry in entries:
            _say(f"{entry.size:12d}  {entry.path}")
        return 0
    finally:
        await manager.aclose()


async def _cmd_term(args: argparse.Namespace) -> int:
    import termios
    import tty

    queue: asyncio.Queue[str | None] = asyncio.Queue()
    events = CliEvents(sys.stdout, sys.stderr, paths.cache_dir() / "media")
    events.terminal_sink = queue.put_nowait
    manager = SessionManager(load_settings(), events)
    try:
        await manager.open(args.session, args.profile, args.image)
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

    def session_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("-s", "--session", default="default", help="session name")
        p.add_argument("-p", "--profile", default=None, help="profile name from config.toml")
        p.add_argument("--image", default=None, help="kernelspec (local) or image")

    run = sub.add_parser("run", help="run a file, -c CODE, or - (stdin) and stream the output")
    session_args(run)
    run.add_argument("file", nargs="?", help="file to run, or - for stdin")
    run.add_argument("-c", "--code", help="code to run")
    run.add_argument("--build", help="batch mode: build command ('*' = default build)")
    run.add_argument("--exec", help="batch mode: exec command ('*' = python main.py)")
    run.add_argument("--clean", help="batch mode: clean command")
    run.add_argument("--timeout", type=float, help="seconds before the run is stopped")
    run.add_argument("--media-dir", help="where media records are saved")

    sessions = sub.add_parser("sessions", help="list local session work folders")
    sessions.add_argument("--json", action="store_true")

    for name, helptext in (
        ("upload", "copy files into a session's work folder"),
        ("download", "copy files out of a session's work folder"),
    ):
        p = sub.add_parser(name, help=helptext)
        session_args(p)
        p.add_argument("files", nargs="+")
        p.add_argument("--dest", default=None)

    term = sub.add_parser("term", help="attach this TTY to a shell in the session")
    session_args(term)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        sys.stderr.write("runbridge: serve is started through runbridge.entry\n")
        return 2
    handlers = {
        "run": _cmd_run,
        "sessions": _cmd_sessions,
        "upload": _cmd_transfer,
        "download": _cmd_transfer,
        "term": _cmd_term,
    }
    try:
        return asyncio.run(handlers[args.command](args))
    except RunbridgeError as exc:
        sys.stderr.write(f"runbridge: {exc.message}\n")
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"runbridge: {exc}\n")
        return 2
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
