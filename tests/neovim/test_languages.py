"""The filetypes the Neovim client syncs by default are languages the daemon serves: a buffer
the client attaches is never one the daemon answers with nothing by default."""

from __future__ import annotations

import re

from runbridge.languages import SERVED_LANGUAGES
from tests.neovim.test_neovim import PLUGIN

CONFIG = PLUGIN / "lua" / "runbridge" / "config.lua"


def client_languages() -> list[str]:
    text = CONFIG.read_text(encoding="utf-8")
    block = re.search(r"^M\.LANGUAGES = \{(.*?)^\}", text, re.M | re.S)
    assert block, f"M.LANGUAGES not found in {CONFIG}"
    return re.findall(r"'([^']+)'", block[1])


def test_the_client_syncs_only_languages_the_daemon_serves() -> None:
    languages = client_languages()
    assert "python" in languages and "sh" in languages, languages
    assert set(languages) <= SERVED_LANGUAGES, sorted(set(languages) - SERVED_LANGUAGES)
