"""Neovim's session picker attaches to a kernel that runs on a Jupyter server.

The test starts a Jupyter Server and a notebook kernel on it as JupyterLab does
(``POST /api/sessions``), then runs ``editors/neovim/tests/attach/picker_spec.lua`` in a
headless Neovim whose daemon has the server as profile ``jup`` (config.toml). The spec
picks the kernel under "on the server", runs in it, detaches, reattaches and destroys it;
afterwards the server no longer has the kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.jupyter.servers import JupyterServer
from tests.neovim.test_neovim import PLUGIN, assert_spec_passes, spec_env

pytestmark = pytest.mark.timeout(150)


def test_picker_attaches_to_a_notebook_kernel(tmp_path: Path) -> None:
    with JupyterServer(tmp_path / "server") as server:
        (server.root / "work").mkdir()
        notebook = server.api(
            "POST",
            "/api/sessions",
            {"path": "work/nb.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
        )
        kernel_id = notebook["kernel"]["id"]
        env = spec_env(tmp_path)
        config = tmp_path / "config.toml"
        config.write_text(
            f'[profiles.jup]\ntype = "jupyter"\nurl = "{server.url}"\ntoken = "{server.token}"\n'
            # a server that is not there (port 9: nothing listens): the picker warns of it
            '[profiles.down]\ntype = "jupyter"\nurl = "http://127.0.0.1:9/"\ntoken = "x"\n'
        )
        env["RUNBRIDGE_CONFIG"] = str(config)
        env["RB_TEST_KERNEL_ID"] = kernel_id
        spec = PLUGIN / "tests" / "attach" / "picker_spec.lua"
        text = assert_spec_passes(spec, env)
        summary = re.search(r"^# (\d+) tests, (\d+) failed", text, re.M)
        assert summary and int(summary[1]) == 2, text
        assert kernel_id not in [k["id"] for k in server.kernels()], text  # destroyed from Neovim
