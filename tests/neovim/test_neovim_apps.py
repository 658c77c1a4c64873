"""``:Runbridge app`` in headless Neovim against the Backend.AI emulator (a process of its
own), whose profile is the default one of the spec's daemon: ``editors/neovim/tests/
apps_backendai.lua`` (not a ``*_spec.lua``: the local-backend specs run without a manager)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.backendai.daemon_helpers import ACCESS_KEY, IMAGE, SECRET_KEY
from tests.backendai_emulator import EmulatorProcess
from tests.conftest import ROOT
from tests.neovim.test_neovim import PLUGIN, RUNNER, SPEC_TIMEOUT, find_nvim, spec_env

SPEC = PLUGIN / "tests" / "apps_backendai.lua"


def test_app_command_on_a_backendai_session(tmp_path: Path) -> None:
    nvim = find_nvim()
    env = spec_env(tmp_path)
    with EmulatorProcess(
        generation="new", access_key=ACCESS_KEY, secret_key=SECRET_KEY, scheduling_delay=0.1
    ) as manager:
        config = Path(env["RUNBRIDGE_CONFIG_DIR"]) / "config.toml"
        config.write_text(
            'default_profile = "bai"\n\n[profiles.bai]\ntype = "backendai"\n'
            f'endpoint = "{manager.url}"\naccess_key = "{ACCESS_KEY}"\n'
            f'secret_key = "{SECRET_KEY}"\nimage = "{IMAGE}"\n'
        )
        config.chmod(0o600)
        args = [nvim, "--headless", "--clean", "-u", "NONE", "-l", str(RUNNER), str(SPEC)]
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
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    text = out.decode("utf-8", "replace")
    print(text)
    assert proc.returncode == 0, text
    assert "# 1 tests, 0 failed" in text, text
