"""A state file of remote ids by server and session name: which kernel each session
name has on a Jupyter server without a sessions API (Kernel Gateway, Enterprise Gateway,
``jupyter-kernels.json``), which Backend.AI sessions runbridge created
(``backendai-sessions.json``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from runbridge.errors import quote

log = logging.getLogger(__name__)


class NameStore:
    """``{server URL: {session name: {"kernel_id", ...}}}`` in a JSON file (``kernel_id``
    is the server's id of the session, whatever the backend)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, server: str, name: str) -> dict[str, Any] | None:
        entry = self._load().get(server, {}).get(name)
        return entry if isinstance(entry, dict) and entry.get("kernel_id") else None

    def kernel_ids(self, server: str) -> set[str]:
        """The kernel ids runbridge started on ``server`` (its sessions' kernels)."""
        names = self._load().get(server, {})
        if not isinstance(names, dict):
            return set()
        return {
            str(entry["kernel_id"])
            for entry in names.values()
            if isinstance(entry, dict) and entry.get("kernel_id")
        }

    def put(self, server: str, name: str, entry: dict[str, Any] | None) -> None:
        data = self._load()
        names = data.setdefault(server, {})
        if not isinstance(names, dict):
            names = data[server] = {}
        if entry is None:
            names.pop(name, None)
            if not names:
                data.pop(server, None)
        else:
            names[name] = entry
        text = json.dumps(data, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # a new 0600 file under a random name (O_EXCL), renamed onto the store
            fd, partial = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(text)
                os.replace(partial, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
                raise
        except OSError as exc:
            log.warning(
                "cannot record the kernel of session %s in %s (%s): reopening the name "
                "in a new daemon will not find it",
                quote(name),
                self.path,
                exc.strerror or exc,
            )
