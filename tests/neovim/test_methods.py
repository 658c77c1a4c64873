"""The Neovim client sends and handles only methods of the protocol: every ``runbridge/...``
name in its Lua source is a method name of ``server/runbridge/protocol.py``."""

from __future__ import annotations

import re

from runbridge import protocol
from tests.neovim.test_neovim import PLUGIN

#: A quoted method name ('runbridge://...' buffer names do not match).
METHOD = re.compile(r"""['"](runbridge/[A-Za-z]+)['"]""")


def protocol_methods() -> set[str]:
    return {
        value
        for value in vars(protocol).values()
        if isinstance(value, str) and value.startswith("runbridge/")
    }


def lua_methods() -> dict[str, set[str]]:
    """Method name -> the plugin files (relative) that name it."""
    found: dict[str, set[str]] = {}
    for path in sorted([*PLUGIN.glob("lua/**/*.lua"), *PLUGIN.glob("lsp/*.lua")]):
        for name in METHOD.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(PLUGIN)))
    return found


def test_the_plugin_names_only_protocol_methods() -> None:
    used = lua_methods()
    unknown = {
        name: sorted(files) for name, files in used.items() if name not in protocol_methods()
    }
    assert not unknown, f"not in server/runbridge/protocol.py: {unknown}"
    # the session host's methods the plugin relies on (attach, terminal reattach, stop)
    host = {
        protocol.HISTORY,
        protocol.FOLLOW,
        protocol.LIST_TERMINALS,
        protocol.ATTACH_TERMINAL,
        protocol.STOP_DAEMON,
    }
    assert host <= used.keys(), sorted(host - used.keys())
