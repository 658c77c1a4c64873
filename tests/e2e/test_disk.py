"""A broken disk: the editor's stream never depends on the transcript or the log.

The tests run as root in CI, where permission bits do not stop a write; so a
folder is made unwritable by putting a regular file where the folder should be,
and a full disk is a file-size limit (RLIMIT_FSIZE: writes past it fail with
EFBIG, as they would with ENOSPC).
"""

from __future__ import annotations

import os
import resource
import shutil
import stat
from pathlib import Path
from typing import Any

from tests.e2e.raw_wire import RawPeer, stdio_daemon

NOTE = "[runbridge] this session's transcript cannot be written"


async def run(peer: RawPeer, session: str, code: str) -> tuple[dict[str, Any], str, str]:
    """A run's result, its stdout and its stderr as the editor received them."""
    reply = await peer.request("runbridge/run", {"session": session, "code": code}, timeout=60)
    assert "result" in reply, reply
    result = reply["result"]
    out, err = [], []
    for message in peer.seen:
        if message.get("method") == "runbridge/output":
            params = message["params"]
            if params["runId"] == result["runId"]:
                for kind, data, *_ in params["console"]:
                    (out if kind == "stdout" else err).append(data)
    return result, "".join(out), "".join(err)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_transcript_folder_gone_bad_mid_life_costs_no_output(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with stdio_daemon(home) as daemon:
        peer = daemon.peer
        result, out, _ = await run(peer, "early", "x = 1\nprint('early')")
        assert (result["status"], out) == ("finished", "early\n")
        folder = home / "state" / "transcripts"
        shutil.rmtree(folder)
        folder.write_text("not a folder any more")  # no transcript can be opened now

        result, out, err = await run(peer, "late", "print('shown')")
        assert result["status"] == "finished", result
        assert out == "shown\n"
        assert err.count(NOTE) == 1, err
        result, out, err = await run(peer, "late", "print('again')")
        assert (result["status"], out, err) == ("finished", "again\n", "")  # told once
        assert (await peer.request("runbridge/listSessions"))["result"]["sessions"]
        result, out, _ = await run(peer, "early", "print(x)")  # the other session runs on
        assert (result["status"], out) == ("finished", "1\n")
        assert daemon.log().count("cannot be written") == 1

        folder.unlink()  # the disk is back: the next run is kept again
        result, out, err = await run(peer, "late", "print('kept')")
        assert (out, err) == ("kept\n", "")
        assert '"kept\\n"' in Path(result["transcript"]).read_text()


def small_files() -> None:
    """The daemon's files may not grow past 1 MB (a nearly full disk)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


async def test_a_full_disk_costs_no_output(tmp_path: Path) -> None:
    async with stdio_daemon(tmp_path / "home", preexec_fn=small_files) as daemon:
        peer = daemon.peer
        code = "for i in range(3000):\n    print(f'{i:05d} ' + 'z' * 994)"  # 3 MB
        result, out, err = await run(peer, "full", code)
        assert result["status"] == "finished", result
        assert out.count("z" * 994) == 3000 and out.startswith("00000 ")
        assert err.count(NOTE) == 1 and "too large" in err.lower(), err
        result, out, _ = await run(peer, "full", "print('still here')")
        assert (result["status"], out) == ("finished", "still here\n")


async def test_an_unwritable_state_folder_at_start_is_reported_and_runs_work(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folders should be")
    env = {"RUNBRIDGE_STATE_DIR": str(blocker / "state"), "RUNBRIDGE_LOG_DIR": str(blocker / "log")}
    async with stdio_daemon(tmp_path / "home", env=env, initialize=False) as daemon:
        peer = daemon.peer
        caps = await peer.initialize()
        assert caps["capabilities"]["experimental"]["runbridge"]["logFile"] is None
        result, out, err = await run(peer, "s", "print('works')")
        assert (result["status"], out) == ("finished", "works\n")
        assert NOTE in err
        shown = [
            m["params"]["message"] for m in peer.seen if m.get("method") == "window/showMessage"
        ]
        assert any(str(blocker / "log" / "daemon.log") in m and "stderr" in m for m in shown), shown
        assert any(str(blocker / "state" / "transcripts") in m for m in shown), shown


async def test_transcripts_and_logs_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = home / "state" / "transcripts" / "old.jsonl"
    old.parent.mkdir(parents=True)
    os.chmod(old.parent, 0o755)  # as an older runbridge left them
    old.write_text("")
    os.chmod(old, 0o644)
    async with stdio_daemon(home) as daemon:
        result, _, _ = await run(daemon.peer, "new", "print('private')")
        await run(daemon.peer, "old", "print('now private too')")
        transcript = Path(result["transcript"])
        assert mode(transcript) == 0o600 and mode(transcript.parent) == 0o700
        assert mode(old) == 0o600
        log = home / "log" / "daemon.log"
        assert mode(log) == 0o600
        kernel_log = home / "log" / "kernels" / "new.log"
        assert mode(kernel_log) == 0o600 and mode(kernel_log.parent) == 0o700
        assert mode(home / "data" / "sessions" / "new") == 0o700
