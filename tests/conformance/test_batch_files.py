"""Batch runs and files on every backend: build / exec / clean, upload, download, listFiles."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest

from tests.conformance.conftest import FILE_ERROR, UNSUPPORTED, Target
from tests.e2e.helpers import (
    batch,
    check_progress,
    open_session,
    progress_ended,
    rpc_error,
    session_text,
)

pytestmark = pytest.mark.timeout(90)

MAKEFILE = "hello.txt:\n\techo built > hello.txt\n"
MAIN_PY = "import sys\nprint('main saw', open('hello.txt').read().strip())\nsys.exit(3)\n"
NAMES = "print(sorted(k for k in globals() if not k.startswith('_')))"


async def test_batch_build_exec_clean_and_exit_codes(target: Target) -> None:
    daemon, name = target.daemon, "c-batch"
    before = await daemon.run(NAMES, session=name)
    ok = await batch(
        daemon,
        name,
        build="echo building",
        exec="echo ran; echo to-err >&2; exit 4",
        clean="echo cleaning",
    )
    assert (ok["status"], ok["exitCode"]) == ("finished", 4), ok
    named = "exec exited with code 4" if target.names_the_failing_step else None
    assert ok.get("message") == named, ok
    steps = ["building", "ran", "cleaning"]
    if target.clean_runs_first:
        steps = ["cleaning", "building", "ran"]
    assert daemon.text(ok["runId"]).splitlines() == steps, daemon.console(ok["runId"])
    assert daemon.text(ok["runId"], "stderr") == "to-err\n"
    # a failing build skips exec
    failing = await batch(daemon, name, build="echo oops >&2; exit 2", exec="echo not-reached")
    assert (failing["status"], failing["exitCode"]) == ("finished", 2), failing
    named = "build exited with code 2" if target.names_the_failing_step else None
    assert failing.get("message") == named, failing
    assert "not-reached" not in daemon.text(failing["runId"])
    assert daemon.text(failing["runId"], "stderr") == "oops\n"
    # the default build and exec: make (with a Makefile), then python main.py
    await daemon.run(
        f"open('Makefile', 'w').write({MAKEFILE!r})\nopen('main.py', 'w').write({MAIN_PY!r})",
        session=name,
    )
    default = await batch(daemon, name, build="*", exec="*")
    assert (default["status"], default["exitCode"]) == ("finished", 3), default
    out = daemon.text(default["runId"])
    assert "echo built" in out and out.endswith("main saw built\n"), out
    # code sent with a batch run is saved in the work folder and run there
    where = "import os, sys\nprint('code ran', sys.argv[0][-3:], os.path.realpath(os.getcwd()))"
    code = await batch(daemon, name, code=where)
    assert (code["status"], code["exitCode"]) == ("finished", 0), code
    cwd = await daemon.run("print(__import__('os').path.realpath('.'))", session=name)
    expected = f"code ran .py {daemon.text(cwd['runId']).strip()}\n"
    assert daemon.text(code["runId"]) == expected, daemon.console(code["runId"])
    # the session's namespace is untouched by batch runs
    after = await daemon.run(NAMES, session=name)
    assert daemon.text(after["runId"]) == daemon.text(before["runId"])


async def test_batch_timeout_and_interrupt(target: Target) -> None:
    daemon, name = target.daemon, "c-batch-stop"
    await open_session(daemon, name)
    t0 = time.monotonic()
    timed = await batch(daemon, name, exec="echo before; sleep 30", timeout=1)
    assert time.monotonic() - t0 < 10
    assert (timed["status"], timed["exitCode"]) == ("exec-timeout", 124), timed
    assert daemon.text(timed["runId"]) == "before\n"
    task = asyncio.ensure_future(batch(daemon, name, exec="echo sleeping; sleep 60"))
    await daemon.wait_for(lambda: task.done() or "sleeping" in session_text(daemon, name), 20)
    assert not task.done()
    t0 = time.monotonic()
    await daemon.request("runbridge/interrupt", {"session": name})
    result = await asyncio.wait_for(task, 15)
    assert time.monotonic() - t0 < 10  # (the step sleeps 60 s)
    assert (result["status"], result["exitCode"]) == ("interrupted", 130), result
    # the session is usable afterwards
    after = await batch(daemon, name, exec="echo after")
    assert (after["status"], daemon.text(after["runId"])) == ("finished", "after\n"), after


async def test_upload_list_download_round_trip(target: Target, tmp_path: Path) -> None:
    daemon, name = target.daemon, "c-files"
    src = tmp_path / "src"
    src.mkdir()
    payload = os.urandom(target.upload_size)
    (src / "data.bin").write_bytes(payload)
    (src / "note é.txt").write_text("héllo\n", encoding="utf-8")
    files = [str(src / "data.bin"), str(src / "note é.txt")]
    dest = tmp_path / "back"
    dest.mkdir()
    if not target.files:
        for method, params in (
            ("runbridge/upload", {"session": name, "files": files}),
            ("runbridge/download", {"session": name, "files": ["x"], "dest": str(dest)}),
            ("runbridge/listFiles", {"session": name}),
        ):
            error = await rpc_error(daemon, method, params)
            assert error.code == UNSUPPORTED, (method, error)
            assert "contents" in error.message and target.url in error.message, error.message
        # the session is unchanged and works
        result = await daemon.run("print('still here')", session=name)
        assert daemon.text(result["runId"]) == "still here\n"
        return
    daemon.client.progress_reports.update({"tok-c-up": [], "tok-c-down": []})
    uploaded = await daemon.request(
        "runbridge/upload",
        {"session": name, "files": files, "dest": "in/sub", "workDoneToken": "tok-c-up"},
    )
    assert uploaded["files"] == [
        {"path": "in/sub/data.bin", "size": len(payload)},
        {"path": "in/sub/note é.txt", "size": 7},
    ], uploaded
    # the kernel sees the files in its working folder, byte for byte
    result = await daemon.run(
        "import hashlib\nprint(hashlib.sha256(open('in/sub/data.bin','rb').read()).hexdigest())",
        session=name,
    )
    assert daemon.text(result["runId"]).strip() == hashlib.sha256(payload).hexdigest()
    # listed folders first, then by name; nothing else (no partial file) is there
    listing = await daemon.request("runbridge/listFiles", {"session": name, "path": "in/sub"})
    assert listing["path"] == "in/sub", listing
    rows = [(e["name"], e["path"], e["type"], e["size"]) for e in listing["entries"]]
    assert rows == [
        ("data.bin", "in/sub/data.bin", "file", len(payload)),
        ("note é.txt", "in/sub/note é.txt", "file", 7),
    ]
    top = await daemon.request("runbridge/listFiles", {"session": name, "path": "in"})
    assert [(e["name"], e["path"], e["type"]) for e in top["entries"]] == [("sub", "in/sub", "dir")]
    downloaded = await daemon.request(
        "runbridge/download",
        {
            "session": name,
            "files": ["in/sub/data.bin", "in/sub/note é.txt"],
            "dest": str(dest),
            "workDoneToken": "tok-c-down",
        },
    )
    assert downloaded["files"] == [
        {"path": str(dest / "data.bin"), "size": len(payload)},
        {"path": str(dest / "note é.txt"), "size": 7},
    ], downloaded
    assert (dest / "data.bin").read_bytes() == payload
    assert (dest / "note é.txt").read_text(encoding="utf-8") == "héllo\n"
    for token in ("tok-c-up", "tok-c-down"):
        await daemon.wait_for(lambda t=token: progress_ended(daemon, t), timeout=10)
        check_progress(daemon, token)
        assert "2 file" in daemon.client.progress_reports[token][0].title
    # a file the kernel wrote comes back too
    await daemon.run("open('made.txt', 'w').write('by the kernel\\n')", session=name)
    got = await daemon.request(
        "runbridge/download", {"session": name, "files": ["made.txt"], "dest": str(dest)}
    )
    assert Path(got["files"][0]["path"]).read_text() == "by the kernel\n"
    missing = await rpc_error(
        daemon,
        "runbridge/download",
        {"session": name, "files": ["in/sub/nope.bin"], "dest": str(dest)},
    )
    assert missing.code == FILE_ERROR and "nope.bin" in missing.message, missing


async def test_paths_leaving_the_work_folder_are_refused(target: Target, tmp_path: Path) -> None:
    daemon, name = target.daemon, "c-escape"
    src = tmp_path / "escape.txt"
    src.write_text("must not escape\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    await open_session(daemon, name)
    if target.files:
        before = await daemon.request("runbridge/listFiles", {"session": name})
    refusals = [
        *(
            ("runbridge/upload", {"session": name, "files": [str(src)], "dest": where}, where)
            for where in ("../escaped", "/etc", "sub/../../escaped2")
        ),
        (
            "runbridge/download",
            {"session": name, "files": ["../secret.txt"], "dest": str(dest)},
            "../secret.txt",
        ),
        ("runbridge/listFiles", {"session": name, "path": "../"}, ".."),
    ]
    for method, params, named in refusals:
        # the path is checked first, on every backend (a Kernel Gateway's too)
        error = await rpc_error(daemon, method, params)
        assert error.code == FILE_ERROR, (method, params, error)
        assert named in error.message, (method, error.message)
        assert ("work folder" if method == "runbridge/upload" else "outside") in error.message
        assert "Traceback" not in error.message
    assert list(dest.iterdir()) == []
    if target.files:  # nothing was written: the work folder is as it was
        after = await daemon.request("runbridge/listFiles", {"session": name})
        assert after == before, (before, after)
