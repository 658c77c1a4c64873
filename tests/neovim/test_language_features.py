"""Completion and hover from the kernel through headless Neovim's own LSP client
(``vim.lsp.start``, not the plugin): Neovim syncs the buffer itself (utf-8 positions)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import psutil

from tests.conftest import ROOT
from tests.neovim.test_neovim import describe, find_nvim, leftovers, spec_env

SCRIPT = Path(__file__).with_name("language_features.lua")


def test_neovims_lsp_client_completes_and_hovers_from_the_kernel(tmp_path: Path) -> None:
    env = spec_env(tmp_path)
    out = tmp_path / "answers.json"
    args = [find_nvim(), "--headless", "--clean", "-u", "NONE", "-l", str(SCRIPT), str(out)]
    proc = subprocess.run(
        args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=105
    )
    deadline = time.monotonic() + 5  # what Neovim started ends with it
    left = leftovers(env["RB_TEST_TMP"])
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftovers(env["RB_TEST_TMP"])
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    assert out.exists(), proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    answers = json.loads(out.read_text())
    assert "error" not in answers, answers
    assert answers["offset_encoding"] == "utf-8"
    assert answers["completion_provider"]["resolveProvider"] is True
    assert answers["run_status"] == "finished"
    assert answers["labels"] == ["kernel_only_name_42"]
    end = len('x = "é"; kernel_only'.encode())
    assert answers["text_edit"]["range"] == {
        "start": {"line": 0, "character": end - len("kernel_only")},
        "end": {"line": 0, "character": end},
    }
    assert "add_things(a, b=1)" in answers["hover"] and "Add things up." in answers["hover"]
    assert not left, f"processes left after Neovim exited:\n{describe(left)}"
