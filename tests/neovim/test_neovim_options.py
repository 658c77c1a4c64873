"""The Neovim plugin's statusline with a Backend.AI session's options: the spec
``editors/neovim/tests/backendai/options_spec.lua`` in a real headless Neovim, with the real
daemon and a ``backendai`` profile on the manager emulator (in a process of its own)."""

from __future__ import annotations

from pathlib import Path

from tests.backendai.daemon_helpers import ACCESS_KEY, IMAGE, SECRET_KEY
from tests.backendai_emulator import EmulatorProcess
from tests.neovim.test_neovim import PLUGIN, assert_spec_passes, spec_env

SPEC = PLUGIN / "tests" / "backendai" / "options_spec.lua"


def test_statusline_shows_the_session_options_summary(tmp_path: Path) -> None:
    env = spec_env(tmp_path)
    with EmulatorProcess(
        generation="new", access_key=ACCESS_KEY, secret_key=SECRET_KEY, scheduling_delay=0.1
    ) as emulator:
        config = Path(env["RUNBRIDGE_CONFIG_DIR"]) / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f'[profiles.bai]\ntype = "backendai"\nendpoint = "{emulator.url}"\n'
            f'access_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\nimage = "{IMAGE}"\n'
            "keep_sessions = false\n"
        )
        assert_spec_passes(SPEC, env)
