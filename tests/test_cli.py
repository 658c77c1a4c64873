"""The ``runbridge`` command in a shell: run, upload, sessions, batch jobs, term.

Tests taking ``either_env`` run twice: in process (``RUNBRIDGE_STANDALONE=1``) and
through a session host of their own (``tests/test_cli_host.py`` has what only the
host does)."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import signal
import stat
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbridge import PROTOCOL_VERSION, __version__
from tests.cli_host import host_env, read_until
from tests.conftest import PYTHON, isolated_env
from tests.media import DRAWING_SVG, DRAWING_VECTOR, drawing_code


def _png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()


@pytest.fixture
def env(rb_home: Path) -> dict[str, str]:
    return isolated_env(rb_home)


@pytest.fixture(params=["standalone", "host"])
def either_env(request: pytest.FixtureRequest, rb_home: Path) -> Iterator[dict[str, str]]:
    if request.param == "standalone":
        yield isolated_env(rb_home)
    else:
        with host_env(rb_home) as env:
            yield env


def rb(
    env: dict[str, str],
    *args: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "runbridge", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def test_run_code_prints_and_exits_zero(either_env: dict[str, str]) -> None:
    proc = rb(either_env, "run", "-c", "print(6*7)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "42\n"


def test_run_a_file(either_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text("import sys\nprint('from file', 1 + 1)\nprint('oops', file=sys.stderr)\n")
    proc = rb(either_env, "run", str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "from file 2\n"
    assert "oops" in proc.stderr


def test_run_reads_code_from_stdin(env: dict[str, str]) -> None:
    proc = rb(env, "run", "-", stdin="x = 5\nprint(x * 3)\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "15\n"


def test_an_exception_exits_one_with_the_traceback(either_env: dict[str, str]) -> None:
    proc = rb(either_env, "run", "-c", "print('before')\n1/0")
    assert proc.returncode == 1
    assert proc.stdout == "before\n"
    assert "ZeroDivisionError" in proc.stderr


def test_input_is_answered_from_piped_stdin(either_env: dict[str, str]) -> None:
    proc = rb(
        either_env,
        "run",
        "-c",
        "a = input('name? ')\nb = input('age? ')\nprint(f'hi {a}, {int(b) + 1}')",
        stdin="bob\n41\n",
    )
    assert proc.returncode == 0, proc.stderr
    # like a transcript: each prompt once, then the answer it got
    assert proc.stdout == "name? bob\nage? 41\nhi bob, 42\n"


def test_input_at_end_of_stdin_interrupts_the_run(either_env: dict[str, str]) -> None:
    proc = rb(either_env, "run", "-c", "input('more? ')\nprint('not reached')", stdin="")
    assert proc.returncode == 130
    assert "not reached" not in proc.stdout


def test_a_png_display_is_saved_and_its_path_printed(either_env: dict[str, str]) -> None:
    code = (
        "import base64\n"
        "from IPython.display import Image, display\n"
        f"display(Image(data=base64.b64decode({base64.b64encode(PNG).decode()!r})))\n"
        "print('shown')\n"
    )
    proc = rb(either_env, "run", "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "shown\n"
    match = re.search(r"\[image/png saved to (.+?)\]", proc.stderr)
    assert match, proc.stderr
    saved = Path(match.group(1))
    assert saved.suffix == ".png"
    assert saved.is_relative_to(Path(either_env["RUNBRIDGE_CACHE_DIR"]))
    data = saved.read_bytes()
    assert data == PNG
    assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_drawing_is_saved_as_an_svg_file(env: dict[str, str], tmp_path: Path) -> None:
    media = tmp_path / "media"
    proc = rb(env, "run", "--media-dir", str(media), "-c", drawing_code(DRAWING_VECTOR))
    assert proc.returncode == 0, proc.stderr
    [saved] = list(media.iterdir())
    assert saved.name.endswith(".svg") and not saved.name.endswith(".drawing.json"), saved
    assert saved.read_text() == DRAWING_SVG
    assert f"[image/svg+xml saved to {saved}]" in proc.stderr


def test_a_display_update_rewrites_its_file(env: dict[str, str], tmp_path: Path) -> None:
    code = (
        "from IPython.display import HTML, display, update_display\n"
        "h = display(HTML('<b>v1</b>'), display_id='d')\n"
        "h.update(HTML('<b>v2</b>'))\n"
        "update_display(HTML('<b>lost</b>'), display_id='never-shown')\n"
    )
    media = tmp_path / "media"
    proc = rb(env, "run", "--media-dir", str(media), "-c", code)
    assert proc.returncode == 0, proc.stderr
    files = list(media.iterdir())
    assert len(files) == 1, files
    assert files[0].read_text() == "<b>v2</b>"
    assert f"[text/html saved to {files[0]}]" in proc.stderr
    assert f"[text/html display updated: {files[0]}]" in proc.stderr
    assert "lost" not in proc.stderr


def test_media_dir_option(env: dict[str, str], tmp_path: Path) -> None:
    code = "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))"
    media = tmp_path / "media"
    proc = rb(env, "run", "--media-dir", str(media), "-c", code)
    assert proc.returncode == 0, proc.stderr
    files = list(media.iterdir())
    assert len(files) == 1 and files[0].suffix == ".html"
    assert files[0].read_text() == "<b>bold</b>"
    assert str(files[0]) in proc.stderr
    # what the session showed is as private as what it printed
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(media.stat().st_mode) == 0o700


def test_upload_then_read_it_in_the_session(env: dict[str, str], tmp_path: Path) -> None:
    local = tmp_path / "notes.txt"
    local.write_text("uploaded text ü")
    proc = rb(env, "upload", "-s", "S", str(local))
    assert proc.returncode == 0, proc.stderr
    assert "notes.txt" in proc.stdout
    proc = rb(env, "run", "-s", "S", "-c", "print(open('notes.txt', encoding='utf-8').read())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "uploaded text ü\n"
    # another session does not see it
    proc = rb(env, "run", "-s", "T", "-c", "import os; print(os.path.exists('notes.txt'))")
    assert proc.stdout == "False\n"


def test_download_copies_out_of_the_work_folder(env: dict[str, str], tmp_path: Path) -> None:
    proc = rb(env, "run", "-s", "D", "-c", "open('out.txt', 'w').write('made here')")
    assert proc.returncode == 0, proc.stderr
    dest = tmp_path / "dl"
    dest.mkdir()
    proc = rb(env, "download", "-s", "D", "out.txt", "--dest", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert (dest / "out.txt").read_text() == "made here"


def test_upload_of_a_missing_file_fails_with_a_message(either_env: dict[str, str]) -> None:
    proc = rb(either_env, "upload", "-s", "S", "/nonexistent/file.txt")
    assert proc.returncode == 2
    assert "/nonexistent/file.txt" in proc.stderr


def test_upload_and_download_open_the_session_with_profile_and_image(
    either_env: dict[str, str], tmp_path: Path
) -> None:
    local = tmp_path / "in.txt"
    local.write_text("through the profile")
    proc = rb(either_env, "upload", "-s", "P", "-p", "local", "--image", "python3", str(local))
    assert proc.returncode == 0, proc.stderr
    dest = tmp_path / "back"
    dest.mkdir()
    proc = rb(
        either_env, "download", "-s", "P", "--profile", "local", "in.txt", "--dest", str(dest)
    )
    assert proc.returncode == 0, proc.stderr
    assert (dest / "in.txt").read_text() == "through the profile"
    # the flags reach the session's opening: an unknown profile or kernelspec is named
    proc = rb(either_env, "upload", "-s", "Q", "-p", "nosuch", str(local))
    assert proc.returncode == 2
    assert "nosuch" in proc.stderr and "profile" in proc.stderr, proc.stderr
    proc = rb(either_env, "download", "-s", "Q", "--image", "nosuch-kernel", "in.txt")
    assert proc.returncode == 2
    assert "nosuch-kernel" in proc.stderr and "kernelspec" in proc.stderr, proc.stderr


def test_sessions_lists_the_work_folders(env: dict[str, str]) -> None:
    proc = rb(env, "sessions")
    assert proc.returncode == 0
    assert "no local session work folders" in proc.stdout
    assert rb(env, "run", "-s", "alpha", "-c", "pass").returncode == 0
    proc = rb(env, "sessions")
    assert proc.returncode == 0
    workdir = Path(env["RUNBRIDGE_DATA_DIR"]) / "sessions" / "alpha"
    assert "alpha" in proc.stdout and str(workdir) in proc.stdout
    listed = json.loads(rb(env, "sessions", "--json").stdout)
    assert listed == [{"workdir": str(workdir), "name": "alpha"}]


def test_version(env: dict[str, str]) -> None:
    proc = rb(env, "--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"runbridge {__version__} (protocol {PROTOCOL_VERSION})"


def test_batch_exit_status_is_passed_through(either_env: dict[str, str]) -> None:
    proc = rb(either_env, "run", "--exec", "echo batch-out; exit 3")
    assert proc.returncode == 3
    assert "batch-out" in proc.stdout


def test_batch_runs_in_the_session_work_folder(env: dict[str, str], tmp_path: Path) -> None:
    main = tmp_path / "main.py"
    main.write_text("import os; print('main ran in', os.path.basename(os.getcwd()))")
    assert rb(env, "upload", "-s", "job", str(main)).returncode == 0
    proc = rb(env, "run", "-s", "job", "--exec", "*")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "main ran in job\n"


def test_ctrl_c_interrupts_the_run(either_env: dict[str, str]) -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('not reached')"
    proc = subprocess.Popen(
        [PYTHON, "-m", "runbridge", "run", "-s", "c", "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=either_env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"started\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 130
        assert b"not reached" not in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_input_on_a_terminal_shows_prompt_and_answer_once(either_env: dict[str, str]) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [PYTHON, "-m", "runbridge", "run", "-c", "a = input('name? ')\nprint('hi', a)"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=either_env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = read_until(master, b"name? ", 30)
        os.write(master, b"bob\n")  # the terminal echoes it, as for any program
        seen += read_until(master, b"hi bob", 30)
        assert proc.wait(timeout=15) == 0
        seen += read_until(master, b"\n", 1)
        text = seen.decode().replace("\r\n", "\n")
        assert text.count("name? ") == 1, text
        assert text.count("bob") == 2, text  # the echoed answer and the greeting
        assert text.startswith("name? bob\nhi bob\n"), text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_term_attaches_a_pty_to_a_shell(either_env: dict[str, str]) -> None:
    master, slave = pty.openpty()
    shell_env = {**either_env, "SHELL": "/bin/sh", "PS1": "rb$ "}
    proc = subprocess.Popen(
        [PYTHON, "-m", "runbridge", "term", "-s", "tty"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=shell_env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        # the prompt shows that the shell is up and this TTY is in raw mode
        read_until(master, b"rb$ ", 30)
        os.write(master, b"echo marker-$((6*7))\n")
        read_until(master, b"marker-42", 30)
        os.write(master, b"exit\n")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
