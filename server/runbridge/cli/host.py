"""The ``runbridge`` commands through this user's session host: ``runbridge run -s NAME``
runs in the kernel an editor's session NAME uses, and the session stays after the
command (until ``runbridge close``, its idle timeout, or the host's end).

Every command is a client of the host (:mod:`runbridge.host_client`); ``run``,
``upload``, ``download`` and ``term`` start the host when none runs, the others
only talk to a running one.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbridge import paths
from runbridge.cli.common import host_gone_first, run_code, say, say_table, session_options
from runbridge.cli.events import CliEvents
from runbridge.host_client import REQUEST_CANCELLED, HostClient, HostError, connect

#: How long ``stop`` waits for the host to close its sessions and exit.
STOP_WAIT_S = 30.0

NO_HOST = "no runbridge host is running"
#: Signals that end ``term`` (and with it, its shell).
_TERM_ENDINGS = (signal.SIGHUP, signal.SIGTERM)


def _note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _answer_input(client: HostClient, events: CliEvents) -> None:
    """``runbridge/input`` answered from this terminal (a null result cancels)."""

    async def ask(params: Any) -> Any:
        value = await events.ask_input(params if isinstance(params, dict) else {})
        return None if value is None else {"value": value}

    client.requests["runbridge/input"] = ask


def _profile(args: argparse.Namespace) -> str | None:
    """``-p``, else ``RUNBRIDGE_PROFILE`` of this shell (the host's own default profile
    is that of the environment it started in)."""
    return args.profile or os.environ.get("RUNBRIDGE_PROFILE") or None


async def _open_params(
    client: HostClient, args: argparse.Namespace, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``openSession``'s params: ``-p`` is checked against an open session's profile
    (``SessionConflict``); ``RUNBRIDGE_PROFILE`` only opens a session that is not
    open, as ``run``'s profile does (an open session is used as an editor's would be)."""
    params: dict[str, Any] = {"name": args.session}
    profile = _profile(args)
    if profile is not None and not args.profile:
        listed = await client.request("runbridge/listSessions")
        if args.session in {s.get("name") for s in listed.get("sessions", [])}:
            profile = None
    if profile is not None:
        params["profile"] = profile
    if args.image is not None:
        params["image"] = args.image
    if options is None:  # (given when the caller has read them already)
        options = session_options(args)
    if options is not None:
        params["options"] = options
    return params


def _on_sigint(action: Callable[[], None]) -> Callable[[], None]:
    """Call ``action`` on Ctrl+C; returns what removes it."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, action)

    def remove() -> None:
        loop.remove_signal_handler(signal.SIGINT)

    return remove


async def cmd_run(args: argparse.Namespace) -> int:
    events = CliEvents(sys.stdout, sys.stderr, Path(args.media_dir or paths.cache_dir() / "media"))
    code = run_code(args)  # read before anything else (it may be stdin)
    mode = "batch" if (args.build or args.exec) else "query"
    params: dict[str, Any] = {"session": args.session, "code": code, "mode": mode}
    options = {
        key: value
        for key, value in (
            ("build", args.build),
            ("exec", args.exec),
            ("clean", args.clean),
            ("timeout", args.timeout),
        )
        if value is not None
    }
    if options:
        params["options"] = options
    if (profile := _profile(args)) is not None:
        params["profile"] = profile  # used only if the run opens the session
    if args.image is not None:
        params["image"] = args.image
    session_opts = session_options(args)  # read (the bootstrap script) before connecting
    client = await connect(start=True)
    assert client is not None
    try:
        if session_opts is not None:  # runbridge/run has no options: open the session first
            opening = await _open_params(client, args, session_opts)
            await client.request("runbridge/openSession", opening)

        def on_output(p: Any) -> None:
            if isinstance(p, dict) and p.get("session") == args.session:
                events.show(p)

        client.notifications["runbridge/output"] = on_output
        _answer_input(client, events)
        interrupts = 0
        leave = asyncio.Event()

        def interrupt() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts == 1:
                client.cancel(msg_id)  # the run is interrupted; its output still comes
            else:
                leave.set()  # a second Ctrl+C: stop waiting

        remove = _on_sigint(interrupt)
        msg_id, result = client.send_request("runbridge/run", params)
        # This command shows its own run: the output of other clients' runs on the
        # session (queued before it) is not sent to it.
        _, unfollowed = client.send_request(
            "runbridge/follow", {"session": args.session, "follow": False}
        )
        unfollowed.add_done_callback(lambda f: f.cancelled() or f.exception())  # no answer needed
        leaving = asyncio.ensure_future(leave.wait())
        try:
            await asyncio.wait({result, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            remove()
            leaving.cancel()
        if not result.done():
            return 130
        try:
            outcome = result.result()
        except HostError as exc:
            if exc.code == REQUEST_CANCELLED:
                return 130
            raise
        status, message = outcome.get("status"), outcome.get("message")
        if message and status != "finished":
            _note(f"runbridge: {status}: {message}")
        exit_code = outcome.get("exitCode")
        return exit_code if isinstance(exit_code, int) else 1
    finally:
        await client.close()


async def cmd_transfer(args: argparse.Namespace) -> int:
    client = await connect(start=True)
    assert client is not None
    started = time.monotonic()
    token = f"runbridge-cli-{args.command}-{os.getpid()}"

    def on_progress(p: Any) -> None:
        if not isinstance(p, dict) or p.get("token") != token:
            return
        value = p.get("value") or {}
        if value.get("kind") == "report":
            pct = value.get("percentage")
            pct_text = f"{pct:3d}%" if isinstance(pct, int) else "    "
            sys.stderr.write(f"\r{args.command}: {pct_text} {value.get('message') or ''}")
            sys.stderr.flush()

    client.notifications["$/progress"] = on_progress
    try:
        await client.request("runbridge/openSession", await _open_params(client, args))
        if args.command == "upload":
            # paths on this machine, as this shell means them (the host runs in /)
            files = [os.path.abspath(f) for f in args.files]
            params = {"session": args.session, "files": files, "dest": args.dest or "."}
        else:
            dest = os.path.abspath(args.dest or ".")
            params = {"session": args.session, "files": args.files, "dest": dest}
        params["workDoneToken"] = token
        result = await client.request(f"runbridge/{args.command}", params)
        entries = result.get("files", [])
        _note(f"\n{len(entries)} file(s) in {time.monotonic() - started:.2f}s")
        for entry in entries:
            say(f"{entry['size']:12d}  {entry['path']}")
        return 0
    finally:
        await client.close()


def _terminal_size() -> tuple[int, int]:
    """This TTY's rows and columns; 24 x 80 when it does not say (0 x 0, or no TTY)."""
    try:
        size = os.get_terminal_size(sys.stdin.fileno())
    except OSError:
        return 24, 80
    return size.lines or 24, size.columns or 80


async def cmd_term(args: argparse.Namespace) -> int:
    import termios
    import tty

    client = await connect(start=True)
    assert client is not None
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    exited = False

    def on_output(p: Any) -> None:
        if isinstance(p, dict) and isinstance(p.get("data"), str):
            queue.put_nowait(p["data"])

    def on_exit(p: Any) -> None:
        nonlocal exited
        exited = True
        queue.put_nowait(None)

    client.notifications["runbridge/terminalOutput"] = on_output
    client.notifications["runbridge/terminalExit"] = on_exit
    gone = asyncio.ensure_future(client.closed.wait())
    gone.add_done_callback(lambda _: queue.put_nowait(None))
    terminal_id: str | None = None
    try:
        await client.request("runbridge/openSession", await _open_params(client, args))
        rows, cols = _terminal_size()
        opened = await client.request(
            "runbridge/openTerminal", {"session": args.session, "rows": rows, "cols": cols}
        )
        terminal_id = str(opened["terminalId"])
        loop = asyncio.get_running_loop()
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if sys.stdin.isatty() else None
        if saved is not None:
            tty.setraw(fd)

        decoder = codecs.getincrementaldecoder("utf-8")("replace")  # keystrokes may split

        def on_stdin() -> None:
            data = os.read(fd, 4096)
            if not data:  # end of input: the shell goes on until it exits
                loop.remove_reader(fd)
                return
            if text := decoder.decode(data):
                params = {"terminalId": terminal_id, "data": text}
                client.notify("runbridge/terminalInput", params)

        def on_resize() -> None:
            rows, cols = _terminal_size()
            params = {"terminalId": terminal_id, "rows": rows, "cols": cols}
            client.notify("runbridge/resizeTerminal", params)

        loop.add_reader(fd, on_stdin)
        loop.add_signal_handler(signal.SIGWINCH, on_resize)
        for ending in _TERM_ENDINGS:  # this TTY hung up, or the command is told to end
            loop.add_signal_handler(ending, queue.put_nowait, None)
        try:
            while (data := await queue.get()) is not None:
                os.write(sys.stdout.fileno(), data.encode("utf-8"))
        finally:
            loop.remove_reader(fd)
            for handled in (signal.SIGWINCH, *_TERM_ENDINGS):
                loop.remove_signal_handler(handled)
            if saved is not None:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        return 0
    finally:
        gone.cancel()
        if terminal_id is not None and not exited and not client.closed.is_set():
            with contextlib.suppress(HostError):  # this shell is done with it: it ends
                await client.request("runbridge/closeTerminal", {"terminalId": terminal_id})
        await client.close()


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
    return f"{seconds // 86400}d{seconds // 3600 % 24:02d}h"


def print_remote(listed: dict[str, Any], as_json: bool) -> int:
    """``runbridge/listRemote``'s answer: JSON, or a table (profile, id, label, attached
    as, description), as the daemon made its labels and descriptions; each profile whose
    listing failed is a line on stderr and makes the exit code 1."""
    sessions = listed.get("sessions", [])
    for failure in listed.get("failures", []):
        sys.stderr.write(f"runbridge: profile {failure.get('profile')}: {failure.get('message')}\n")
    status = 1 if listed.get("failures") else 0
    if as_json:
        say(json.dumps(sessions))
        return status
    if not sessions:
        where = f"profile {listed['profile']}" if listed.get("profile") else "any remote profile"
        say(f"nothing to attach to on {where}")
        return status
    rows = [("PROFILE", "ID", "LABEL", "ATTACHED AS", "DESCRIPTION")]
    for entry in sessions:
        rows.append(
            (
                str(entry.get("profile")),
                str(entry.get("id")),
                str(entry.get("label")),
                str(entry.get("attachedAs") or "-"),
                str(entry.get("description")),
            )
        )
    say_table(rows)
    return status


async def cmd_sessions(args: argparse.Namespace) -> int:
    if args.remote:
        remote_client = await connect(start=True)
        assert remote_client is not None
        try:
            params = {"profile": args.profile} if args.profile else {"allProfiles": True}
            listed = await remote_client.request("runbridge/listRemote", params)
        finally:
            await remote_client.close()
        return print_remote(listed, args.json)
    client = await connect(start=False)
    if client is None:
        say("[]" if args.json else f"{NO_HOST}: no sessions")
        return 0
    try:
        sessions = (await client.request("runbridge/listSessions"))["sessions"]
    finally:
        await client.close()
    now = time.time()
    for info in sessions:
        last = info.get("lastActivity")
        info["idleSeconds"] = round(now - last, 1) if isinstance(last, int | float) else None
    if args.json:
        say(json.dumps(sessions))
        return 0
    if not sessions:
        say("no sessions")
        return 0
    rows = [("NAME", "PROFILE", "BACKEND", "STATE", "RUNS", "IDLE", "FOLLOWING", "OPTIONS")]
    for info in sessions:
        idle = info["idleSeconds"]
        rows.append(
            (
                str(info.get("name")),
                str(info.get("profile")),
                str(info.get("backend")),
                str(info.get("state")),
                str(info.get("runs", "")),
                "-" if idle is None else _duration(idle),
                str(info.get("followers", "")),
                str(info.get("summary") or ""),
            )
        )
    say_table(rows)
    return 0


async def cmd_close(args: argparse.Namespace) -> int:
    client = await connect(start=False)
    if client is None:
        _note(f"runbridge: {NO_HOST}: no session named {args.session!r}")
        return 2
    try:
        closed = await client.request("runbridge/closeSession", {"name": args.session})
    finally:
        await client.close()
    say(str(closed.get("message") or f"session {args.session} closed"))
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (its parent has not reaped it yet) has exited
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


async def cmd_stop(args: argparse.Namespace) -> int:
    client = await connect(start=False)
    if client is None:
        say(NO_HOST)
        return 0
    pid = client.peer_pid
    try:
        await client.request("runbridge/stopDaemon")
    finally:
        await client.close()
    deadline = time.monotonic() + STOP_WAIT_S
    while pid is not None and _alive(pid):
        if time.monotonic() > deadline:
            _note(f"runbridge: the host (pid {pid}) has not exited after {STOP_WAIT_S:g} s")
            return 1
        await asyncio.sleep(0.05)
    say("runbridge host stopped" + (f" (pid {pid})" if pid is not None else ""))
    return 0


async def cmd_attach(args: argparse.Namespace) -> int:
    session = args.session
    client = await connect(start=False)
    if client is None:
        _note(f"runbridge: {NO_HOST}: no session named {session!r}")
        return 2
    events = CliEvents(sys.stdout, sys.stderr, Path(args.media_dir or paths.cache_dir() / "media"))
    #: run id -> the last ``seq`` shown (history, then live output after it)
    shown: dict[str, int] = {}
    waiting: list[dict[str, Any]] | None = []  # live output that came before the history
    current: list[str] = []
    done = asyncio.Event()
    interrupting: list[asyncio.Future[None]] = []

    def show(p: dict[str, Any]) -> None:
        run_id, seq = str(p.get("runId")), p.get("seq")
        if isinstance(seq, int):
            if seq <= shown.get(run_id, 0):
                return  # history had it
            shown[run_id] = seq
        if current != [run_id]:
            current[:] = [run_id]
            _note(f"[run {run_id}]")
        events.show(p)

    def on_output(p: Any) -> None:
        if not isinstance(p, dict) or p.get("session") != session:
            return
        if waiting is not None:
            waiting.append(p)
        else:
            show(p)

    def on_state(p: Any) -> None:
        info = p.get("session") if isinstance(p, dict) else None
        if not isinstance(info, dict):
            return
        if info.get("state") == "closed" and info.get("name") == session:
            _note(f"[session {session} closed]")
            done.set()

    def on_sigint() -> None:
        if args.interrupt and not interrupting:
            interrupting.append(asyncio.ensure_future(interrupt_then_leave()))
        elif not args.interrupt:
            done.set()

    async def interrupt_then_leave() -> None:
        try:
            await client.request("runbridge/interrupt", {"session": session})
        except HostError as exc:
            _note(f"runbridge: {exc.message}")
        done.set()

    client.notifications["runbridge/output"] = on_output
    client.notifications["runbridge/sessionChanged"] = on_state
    _answer_input(client, events)
    remove = _on_sigint(on_sigint)  # from now on (even before the history shows)
    try:
        await client.request("runbridge/follow", {"session": session, "follow": True})
        history = await client.request(
            "runbridge/history", {"session": session, "limit": args.runs}
        )
        for run in history.get("runs", []):
            run_id = str(run["runId"])
            status = run.get("status")
            state = "running" if status is None else f"{status}, exit {run.get('exitCode')}"
            _note(f"[run {run_id}: {state}]")
            current[:] = [run_id]
            for batch in run.get("batches", []):
                events.show({"runId": run_id, **batch})
            shown[run_id] = int(run.get("lastSeq") or 0)
        early, waiting = waiting, None
        for p in early or []:
            show(p)
        hint = "Ctrl+C interrupts the run and detaches" if args.interrupt else "Ctrl+C detaches"
        _note(f"[attached to session {session}: live output follows; {hint}]")
        if await host_gone_first(client.closed, done):
            _note("runbridge: the host closed the connection")
            return 1
        _note(f"[detached from session {session}]")
        return 0
    finally:
        remove()
        await client.close()
