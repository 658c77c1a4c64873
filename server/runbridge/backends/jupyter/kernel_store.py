"""The gateway state file: which kernel each session name has on a server without a
sessions API (Kernel Gateway, Enterprise Gateway)."""

from __future__ import annotations

from pathlib import Path

from runbridge import paths
from runbridge.backends.remote.name_store import NameStore


class KernelStore(NameStore):
    """``{server URL: {session name: {"kernel_id", "kernel_name"}}}`` in
    ``jupyter-kernels.json`` of runbridge's state folder."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path or paths.state_dir() / "jupyter-kernels.json")
