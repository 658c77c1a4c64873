"""The guardian: ends the daemon's process sessions when the daemon is gone.

Batch steps, terminal shells and kernels each lead a session of their own
(``setsid``); a session's id is its leader's pid. Kernels notice a dead parent
by themselves, but their children do not, and batch steps and shells do not
either. So the daemon starts this program (``guardian.py``) as

    python -I -S guardian_process.py DAEMON_PID RECORD_FOLDER

in a session of its own, with a pipe from the daemon as stdin and ``/dev/null``
as stdout and stderr. The daemon writes one line per change:

    watch SID START    watch session SID, whose leader started at START
                       (field 22 of /proc/SID/stat; "-" if it was already gone)
    forget SID

When stdin ends (the daemon exited or was killed: the kernel closes the pipe),
or the parent dies (``PR_SET_PDEATHSIG`` sends SIGHUP; it matters when the pipe
leaked into another process), every process of every watched session gets
SIGHUP and SIGCONT, then SIGKILL after :data:`GRACE_S`, and the guardian exits.

A session is only touched while it is provably the one watched: its leader,
if a process with that pid exists, must have the recorded start time (else the
pid was reused and the session is gone); without a leader, the session id
cannot be reused while any member lives. Each signal goes through a pidfd
after checking the process is still in the session, so a pid reused in
between is never signalled.

RECORD_FOLDER (may be empty: no records) holds ``<daemon pid>-<daemon start>``,
the watched sessions, rewritten on each change and removed once they are ended.
A record left behind means the daemon and its guardian died together (as with
``pkill -9 -f runbridge``): the next guardian to start ends those sessions.

Standard library only, and nothing heavy: the daemon waits for nothing from
this program, but it should cost little to start.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time

#: How long processes are given to end after SIGHUP before SIGKILL.
GRACE_S = 1.0
_POLL_S = 0.02
#: Rounds of SIGKILL (a session that keeps forking between rounds).
_KILL_ROUNDS = 20
_MAX_RECORD = 1 << 20
_PR_SET_PDEATHSIG = 1

Watched = dict[int, str | None]


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()


# -- processes ------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].decode("ascii", "replace").split()


def start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot); None if it is gone or unknown."""
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def has_proc() -> bool:
    return os.path.isdir("/proc/self")


def members_of(sids: set[int]) -> dict[int, list[int]]:
    """The live (not zombie) processes of each of the sessions ``sids``, found through /proc."""
    members: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if _number(entry):
            pid = int(entry)
            with contextlib.suppress(OSError):
                sid = os.getsid(pid)
                if sid in sids:
                    fields = _stat(pid)
                    if fields and fields[0] != "Z":
                        members.setdefault(sid, []).append(pid)
    return members


def session_members(sid: int) -> list[int]:
    """The live (not zombie) processes of session ``sid``."""
    return members_of({sid}).get(sid, [])


def still_watched(sid: int, start: str | None) -> bool:
    """False when the pid ``sid`` now belongs to another process than the one watched."""
    leader_start = start_time(sid)
    return leader_start is None or leader_start == start


def signal_member(pid: int, sid: int, sig: int) -> bool:
    """Send ``sig`` to ``pid`` if it is (still) in session ``sid``; True if it was."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):  # no pidfds here: the narrow check-then-kill
        try:
            if os.getsid(pid) != sid:
                return False
            os.kill(pid, sig)
        except OSError:
            return False
        return True
    try:
        # the pidfd pins the pid: what getsid sees is the process signalled
        if os.getsid(pid) != sid:
            return False
        signal.pidfd_send_signal(pidfd, sig)
    except OSError:
        return False
    finally:
        os.close(pidfd)
    return True


def _signal_sessions(sessions: Watched, sig: int) -> bool:
    """Signal every member of the sessions; True if any was found."""
    for sid, start in list(sessions.items()):
        if not still_watched(sid, start):
            del sessions[sid]
    found = False
    for sid, pids in members_of(set(sessions)).items():
        for pid in pids:
            if pid != os.getpid():
                found = signal_member(pid, sid, sig) or found
    return found


def end_sessions(watched: Watched, grace: float = GRACE_S) -> None:
    """SIGHUP (and SIGCONT) every process of the sessions; SIGKILL what is left after ``grace``."""
    sessions = dict(watched)
    if not has_proc():  # no way to find a session's members: its leader's process group
        _end_groups(list(sessions), grace)
        return
    if not _signal_sessions(sessions, signal.SIGHUP):
        return
    _signal_sessions(sessions, signal.SIGCONT)  # a stopped job sees its SIGHUP
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not members_of(set(sessions)):
            return
        time.sleep(_POLL_S)
    for _ in range(_KILL_ROUNDS):
        if not _signal_sessions(sessions, signal.SIGKILL):
            return
        time.sleep(_POLL_S)


def _end_groups(groups: list[int], grace: float) -> None:
    for sig in (signal.SIGHUP, signal.SIGCONT):
        for pgid in groups:
            with contextlib.suppress(OSError):
                os.killpg(pgid, sig)
    time.sleep(grace)
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


# -- records --------------------------------------------------------------------------


def record_name(daemon_pid: int) -> str:
    return f"{daemon_pid}-{start_time(daemon_pid) or '-'}"


def write_record(folder: str, name: str, watched: Watched) -> None:
    """Replace the record ``name`` with ``watched`` (remove it when nothing is watched)."""
    path = os.path.join(folder, name)
    try:
        if not watched:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        text = "".join(f"{sid} {start or '-'}\n" for sid, start in watched.items())
        part = path + ".part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        fd = os.open(part, flags, 0o600)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
        os.replace(part, path)
    except OSError:
        pass  # a full or read-only disk: the guardian itself still works


def read_record(path: str) -> Watched:
    watched: Watched = {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return watched
    try:
        data = os.read(fd, _MAX_RECORD)
    except OSError:
        return watched
    finally:
        os.close(fd)
    for line in data.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and _number(parts[0]) and (_number(parts[1]) or parts[1] == "-"):
            watched[int(parts[0])] = None if parts[1] == "-" else parts[1]
    return watched


def _daemon_alive(pid: int, start: str | None) -> bool:
    if has_proc():
        return start_time(pid) == start if start is not None else start_time(pid) is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def reap_records(folder: str, own: str) -> None:
    """End the sessions in the records of daemons that are no longer running."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        base = name.removesuffix(".part")
        pid_text, _, start_text = base.partition("-")
        if not (_number(pid_text) and (_number(start_text) or start_text == "-")) or base == own:
            continue
        pid, start = int(pid_text), None if start_text == "-" else start_text
        if _daemon_alive(pid, start):
            continue
        path = os.path.join(folder, name)
        if name == base:
            end_sessions(read_record(path))
        with contextlib.suppress(OSError):
            os.unlink(path)


# -- the program ----------------------------------------------------------------------


def _on_hangup(signum: int, frame: object) -> None:
    """Nothing: the wakeup fd wakes the main loop, which looks at the parent."""


def _set_parent_death_signal() -> None:
    """Have the kernel send SIGHUP when the daemon dies (Linux; best effort)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)


def _apply(line: bytes, watched: Watched) -> bool:
    """Apply one command line; True if ``watched`` changed."""
    parts = line.decode("ascii", "replace").split()
    if len(parts) == 3 and parts[0] == "watch" and _number(parts[1]):
        watched[int(parts[1])] = parts[2] if _number(parts[2]) else None
        return True
    if len(parts) == 2 and parts[0] == "forget" and _number(parts[1]) and int(parts[1]) in watched:
        del watched[int(parts[1])]
        return True
    return False


def _read_now() -> tuple[bytes, bool]:
    """What stdin holds now, and whether it has ended."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(0, 65536)
        except BlockingIOError:
            return b"".join(chunks), False
        except OSError:
            return b"".join(chunks), True
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def serve(daemon_pid: int, folder: str, name: str, watched: Watched) -> None:
    """Apply the daemon's commands until stdin ends or the daemon is gone."""
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w, 0):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGHUP, _on_hangup)
    _set_parent_death_signal()
    if folder:
        reap_records(folder, name)
    pending = b""
    while True:
        parent_gone = os.getppid() != daemon_pid
        if not parent_gone:
            readable = select.select([0, wake_r], [], [])[0]
            if wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 512)
            if 0 not in readable:
                continue
        data, ended = _read_now()
        lines = (pending + data).split(b"\n")
        pending = lines.pop()
        changed = False
        for line in lines:
            changed = _apply(line, watched) or changed
        if changed and folder:
            write_record(folder, name, watched)
        if ended or parent_gone:  # a parent gone with its pipe still open elsewhere
            return


def main(argv: list[str]) -> int:
    daemon_pid, folder = int(argv[1]), argv[2]
    name = record_name(daemon_pid)
    watched: Watched = {}
    serve(daemon_pid, folder, name, watched)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    end_sessions(watched)
    if folder:
        write_record(folder, name, {})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
