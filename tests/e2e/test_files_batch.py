"""Files in and out of a session's work folder, and batch jobs, on the ``local`` backend.

The round trip, progress, refusals, build / exec / clean, exit codes, timeouts and
interrupts that every backend shares are in tests/conformance; here is what only the
local backend shows: the files on disk, links, environment, make and venv builds.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import Daemon
from tests.e2e.helpers import batch, open_session, rpc_error, session_text


async def open_workdir(daemon: Daemon, name: str, **extra: Any) -> Path:
    """Open ``name``; its work folder (a local path)."""
    return Path((await open_session(daemon, name, **extra))["workdir"])


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# -- upload / download -----------------------------------------------------------------------


async def test_upload_default_dest_is_the_work_folder(daemon: Daemon, tmp_path: Path) -> None:
    workdir = await open_workdir(daemon, "f-default-dest")
    src = tmp_path / "top.txt"
    src.write_text("top\n")
    result = await daemon.request(
        "runbridge/upload", {"session": "f-default-dest", "files": [str(src)]}
    )
    assert result["files"] == [{"path": "top.txt", "size": 4}]
    assert (workdir / "top.txt").read_text() == "top\n"


@pytest.mark.parametrize("dest", ["../escaped", "/etc", "sub/../../escaped2", "/tmp"])
async def test_upload_dest_outside_work_folder_is_refused(
    daemon: Daemon, tmp_path: Path, dest: str
) -> None:
    workdir = await open_workdir(daemon, "f-traversal")
    marker = f"rb-marker-{os.getpid()}-{time.monotonic_ns()}.txt"
    src = tmp_path / marker
    src.write_text("must not escape\n")
    before = files_under(daemon.home)

    error = await rpc_error(
        daemon, "runbridge/upload", {"session": "f-traversal", "files": [str(src)], "dest": dest}
    )
    assert dest in error.message
    assert "work folder" in error.message
    assert "Traceback" not in error.message

    assert files_under(daemon.home) == before
    for where in (workdir.parent / "escaped", workdir.parent / "escaped2", Path(dest)):
        assert not (where / marker).exists()
    assert not (workdir / marker).exists()


async def test_upload_into_symlink_leaving_work_folder_is_refused(
    daemon: Daemon, tmp_path: Path
) -> None:
    workdir = await open_workdir(daemon, "f-symlink")
    outside = tmp_path / "outside"
    outside.mkdir()
    (workdir / "link").symlink_to(outside, target_is_directory=True)
    src = tmp_path / "s.txt"
    src.write_text("x")
    error = await rpc_error(
        daemon, "runbridge/upload", {"session": "f-symlink", "files": [str(src)], "dest": "link"}
    )
    assert "link" in error.message
    assert list(outside.iterdir()) == []


# -- links planted by code in the session are never followed -----------------------------------


async def test_upload_does_not_write_through_a_link_at_its_temporary_name(
    daemon: Daemon, tmp_path: Path
) -> None:
    """Code in the session plants a link where an upload used to write its partial file
    (``NAME.part-runbridge``): the upload must not write to what it points at."""
    workdir = await open_workdir(daemon, "f-plant")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    plant = f"import os; os.symlink({str(victim)!r}, 'data.txt.part-runbridge')"
    assert (await daemon.run(plant, session="f-plant"))["status"] == "finished"
    src = tmp_path / "data.txt"
    src.write_text("uploaded\n")
    result = await daemon.request("runbridge/upload", {"session": "f-plant", "files": [str(src)]})
    assert result["files"] == [{"path": "data.txt", "size": 9}]
    assert victim.read_text() == "precious\n"
    assert not (workdir / "data.txt").is_symlink()
    assert (workdir / "data.txt").read_text() == "uploaded\n"
    # an upload onto a link replaces the link, never what it points at
    os.symlink(victim, workdir / "onto.txt")
    (tmp_path / "onto.txt").write_text("new\n")
    await daemon.request(
        "runbridge/upload", {"session": "f-plant", "files": [str(tmp_path / "onto.txt")]}
    )
    assert victim.read_text() == "precious\n"
    assert not (workdir / "onto.txt").is_symlink()
    assert (workdir / "onto.txt").read_text() == "new\n"


async def test_batch_code_is_not_written_through_a_planted_link(
    daemon: Daemon, tmp_path: Path
) -> None:
    """Code in the session makes ``.runbridge`` (where batch code is saved) a link to a
    folder outside: the batch run fails saying so, and nothing is written there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    plant = f"import os; os.symlink({str(outside)!r}, '.runbridge')"
    assert (await daemon.run(plant, session="b-plant"))["status"] == "finished"
    result = await daemon.request(
        "runbridge/run",
        {"session": "b-plant", "mode": "batch", "code": "print('hi')", "languageId": "python"},
    )
    assert result["status"] == "failed", result
    assert "symbolic link" in result["message"] and ".runbridge" in result["message"]
    assert list(outside.iterdir()) == []
    # without the link, batch code is saved and run as before
    os.unlink(await open_workdir(daemon, "b-plant") / ".runbridge")
    result = await daemon.request(
        "runbridge/run",
        {"session": "b-plant", "mode": "batch", "code": "print('hi')", "languageId": "python"},
    )
    assert (result["status"], result["exitCode"]) == ("finished", 0)
    assert "hi\n" in session_text(daemon, "b-plant")


async def test_links_in_the_work_folder_are_refused_not_followed(
    daemon: Daemon, tmp_path: Path
) -> None:
    workdir = await open_workdir(daemon, "f-links")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the session\n")
    (workdir / "data").mkdir()
    (workdir / "data" / "real.txt").write_text("real\n")
    os.symlink(secret, workdir / "to-secret.txt")
    os.symlink("data/real.txt", workdir / "to-real.txt")  # even one that stays inside
    os.symlink("data", workdir / "inner")
    dest = tmp_path / "dest"
    dest.mkdir()
    for name in ("to-secret.txt", "to-real.txt", "inner/real.txt"):
        error = await rpc_error(
            daemon,
            "runbridge/download",
            {"session": "f-links", "files": ["data/real.txt", name], "dest": str(dest)},
        )
        assert error.code == -32014, error
        assert repr(name) in error.message and "symbolic link" in error.message, error.message
        assert list(dest.iterdir()) == []
    for path in ("inner", "inner/."):
        error = await rpc_error(daemon, "runbridge/listFiles", {"session": "f-links", "path": path})
        assert error.code == -32014, error
        assert "symbolic link" in error.message and "does not follow" in error.message
    error = await rpc_error(
        daemon,
        "runbridge/upload",
        {"session": "f-links", "files": [str(secret)], "dest": "inner/sub"},
    )
    assert error.code == -32014 and "symbolic link" in error.message, error
    assert sorted(p.name for p in (workdir / "data").iterdir()) == ["real.txt"]
    # the listing shows links as they are, without following them
    listing = await daemon.request("runbridge/listFiles", {"session": "f-links"})
    kinds = {e["name"]: e["type"] for e in listing["entries"]}
    assert kinds == {
        "data": "dir",
        "inner": "other",
        "to-real.txt": "other",
        "to-secret.txt": "other",
    }


async def test_upload_with_a_missing_file_copies_nothing(daemon: Daemon, tmp_path: Path) -> None:
    workdir = await open_workdir(daemon, "f-missing")
    first = tmp_path / "first.txt"
    first.write_text("1")
    last = tmp_path / "last.txt"
    last.write_text("3")
    missing = tmp_path / "not-there.txt"
    before = files_under(workdir)

    error = await rpc_error(
        daemon,
        "runbridge/upload",
        {"session": "f-missing", "files": [str(first), str(missing), str(last)]},
    )
    assert str(missing) in error.message
    assert "does not exist" in error.message
    assert files_under(workdir) == before

    error = await rpc_error(
        daemon, "runbridge/upload", {"session": "f-missing", "files": [str(tmp_path)]}
    )
    assert "folder" in error.message
    assert files_under(workdir) == before


async def test_download_errors(daemon: Daemon, tmp_path: Path) -> None:
    workdir = await open_workdir(daemon, "f-download-errors")
    (workdir / "here.txt").write_text("here")
    secret = workdir.parent / "f-secret.txt"
    secret.write_text("not yours")
    dest = tmp_path / "dest"
    dest.mkdir()

    error = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": "f-download-errors", "files": ["../f-secret.txt"], "dest": str(dest)},
    )
    assert "../f-secret.txt" in error.message
    assert "outside" in error.message

    error = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": "f-download-errors", "files": ["here.txt", "gone.txt"], "dest": str(dest)},
    )
    assert "gone.txt" in error.message
    assert list(dest.iterdir()) == []

    error = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": "f-download-errors", "files": ["here.txt"], "dest": "relative/dir"},
    )
    assert "relative/dir" in error.message
    assert "absolute" in error.message

    error = await rpc_error(
        daemon, "runbridge/download", {"session": "f-download-errors", "files": ["here.txt"]}
    )
    assert error.code == -32602
    assert "dest" in error.message

    error = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": "f-never-opened", "files": ["here.txt"], "dest": str(dest)},
    )
    assert "f-never-opened" in error.message


# -- batch -------------------------------------------------------------------------------------

HELLO_C = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *who = getenv("GREETING");
    printf("hello from C, %s\n", who ? who : "(unset)");
    fprintf(stderr, "to stderr\n");
    return 3;
}
"""


async def test_batch_build_exec_clean_with_explicit_commands(
    daemon: Daemon, tmp_path: Path
) -> None:
    workdir = await open_workdir(daemon, "b-c", env={"GREETING": "batch world"})
    src = tmp_path / "hello.c"
    src.write_text(HELLO_C)
    await daemon.request("runbridge/upload", {"session": "b-c", "files": [str(src)]})

    result = await batch(
        daemon,
        "b-c",
        build="cc -o hello hello.c && echo BUILT",
        exec="./hello",
        clean="rm -f hello",
    )
    assert result["status"] == "finished", result
    assert result["exitCode"] == 3
    assert "exec" in result.get("message", "")
    assert daemon.text(result["runId"]) == "BUILT\nhello from C, batch world\n"
    assert daemon.text(result["runId"], "stderr") == "to stderr\n"
    assert (workdir / "hello.c").exists()
    assert not (workdir / "hello").exists()  # clean ran


async def test_batch_output_is_streamed_while_running(daemon: Daemon, tmp_path: Path) -> None:
    workdir = await open_workdir(daemon, "b-stream")
    main = tmp_path / "main.py"
    main.write_text(
        "import os, sys, time\n"
        "print('first', flush=True)\n"
        "deadline = time.time() + 20\n"
        "while not os.path.exists('go') and time.time() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print('second')\n"
        "sys.exit(3)\n"
    )
    await daemon.request("runbridge/upload", {"session": "b-stream", "files": [str(main)]})
    task = asyncio.create_task(batch(daemon, "b-stream", exec="*"))
    try:
        await daemon.wait_for(lambda: "first" in session_text(daemon, "b-stream"), timeout=15)
        assert not task.done()  # 'first' arrived while the job was still running
        assert "second" not in session_text(daemon, "b-stream")
        (workdir / "go").touch()
        result = await asyncio.wait_for(task, 20)
    finally:
        (workdir / "go").touch()
    assert result["exitCode"] == 3
    assert result["status"] == "finished"
    assert daemon.text(result["runId"]) == "first\nsecond\n"


async def test_batch_needs_build_or_exec(daemon: Daemon) -> None:
    await open_workdir(daemon, "b-empty")
    error = await rpc_error(
        daemon,
        "runbridge/run",
        {"session": "b-empty", "mode": "batch", "code": "", "options": {}},
    )
    assert error.code == -32602
    assert "options.exec" in error.message


async def test_batch_interrupt_right_after_start(daemon: Daemon) -> None:
    """An interrupt sent right behind the run request still stops it."""
    await open_workdir(daemon, "b-interrupt-early")
    task = asyncio.create_task(batch(daemon, "b-interrupt-early", exec="sleep 60"))
    await asyncio.sleep(0)  # the run request is written first
    started = time.monotonic()
    await daemon.request("runbridge/interrupt", {"session": "b-interrupt-early"})
    result = await asyncio.wait_for(task, 15)
    assert time.monotonic() - started < 10  # (the step sleeps 60 s)
    assert result["status"] == "interrupted", result


async def test_batch_default_build_makes_a_venv_first_on_path(daemon: Daemon) -> None:
    workdir = await open_workdir(daemon, "b-venv")
    (workdir / "requirements.txt").write_text("")
    result = await batch(
        daemon,
        "b-venv",
        build="*",
        exec='echo "PATH=$PATH"; echo "VENV=$VIRTUAL_ENV"; command -v python',
        timeout=120,
    )
    assert result["status"] == "finished", (result, daemon.text(result["runId"], "stderr"))
    assert result["exitCode"] == 0
    lines = dict(
        line.split("=", 1) for line in daemon.text(result["runId"]).splitlines() if "=" in line
    )
    venv_bin = str(workdir / ".venv" / "bin")
    assert lines["PATH"].split(os.pathsep)[0] == venv_bin
    assert lines["VENV"] == str(workdir / ".venv")
    assert daemon.text(result["runId"]).splitlines()[-1] == f"{venv_bin}/python"
    assert (workdir / ".venv" / "bin" / "python").exists()


async def test_list_files_shows_folders_first_and_refuses_escapes(daemon: Daemon) -> None:
    workdir = await open_workdir(daemon, "b-list")
    (workdir / "data" / "deep").mkdir(parents=True)
    (workdir / "data" / "b.txt").write_bytes(b"12345")
    (workdir / "data" / "a.txt").write_bytes(b"1")
    listing = await daemon.request("runbridge/listFiles", {"session": "b-list", "path": "data"})
    assert listing["path"] == "data"
    rows = [(e["name"], e["path"], e["type"], e["size"]) for e in listing["entries"]]
    assert rows[0][:3] == ("deep", "data/deep", "dir")
    assert rows[1:] == [("a.txt", "data/a.txt", "file", 1), ("b.txt", "data/b.txt", "file", 5)]
    assert all(isinstance(e["mtime"], float) for e in listing["entries"])
    top = await daemon.request("runbridge/listFiles", {"session": "b-list"})
    assert "data" in [e["name"] for e in top["entries"]]
    for bad in ("../", "/etc", "data/b.txt", "nope"):
        with pytest.raises(JsonRpcException) as info:
            await daemon.request("runbridge/listFiles", {"session": "b-list", "path": bad})
        assert bad.rstrip("/") in info.value.message or "outside" in info.value.message


async def test_cancelling_the_transfer_progress_stops_the_copy(
    daemon: Daemon, tmp_path: Path
) -> None:
    workdir = await open_workdir(daemon, "f-cancel")
    src = tmp_path / "huge.bin"
    with src.open("wb") as f:  # sparse: cheap to make, still 1 GiB to copy
        f.truncate(1 << 30)
    token = "tok-cancel-upload"
    daemon.client.progress_reports[token] = []
    uploading = asyncio.ensure_future(
        daemon.request(
            "runbridge/upload",
            {"session": "f-cancel", "files": [str(src)], "workDoneToken": token},
        )
    )
    await daemon.wait_for(lambda: daemon.client.progress_reports[token], timeout=10)
    assert daemon.client.progress_reports[token][0].cancellable is True
    daemon.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(uploading, 30)
    assert "uploading was cancelled" in str(caught.value)
    # the copy thread stops at its next chunk and removes its partial file
    deadline = time.monotonic() + 10
    while list(workdir.iterdir()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert list(workdir.iterdir()) == []
