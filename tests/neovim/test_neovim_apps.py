"""``:Runbridge app`` in headless Neovim against the Backend.AI emulator (a process of its
own), whose profile is the default one of the spec's daemon: ``editors/neovim/tests/
apps_backendai.lua`` (not a ``*_spec.lua``: the local-backend specs run without a manager)."""

from __future__ import annotations

from pathlib import Path

from tests.backendai.daemon_helpers import ACCESS_KEY, IMAGE, SECRET_KEY
from tests.backendai_emulator import EmulatorProcess
from tests.neovim.test_neovim import PLUGIN, assert_spec_passes, spec_env

SPEC = PLUGIN / "tests" / "apps_backendai.lua"


def test_app_command_on_a_backendai_session(tmp_path: Path) -> None:
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
        text = assert_spec_passes(SPEC, env)
    assert "# 2 tests, 0 failed" in text, text
