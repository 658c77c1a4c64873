"""What a run shows in a shell: its output on this terminal, its media saved to files,
its ``input()`` prompts answered from this terminal (hidden for passwords)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import getpass
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from runbridge import mime, paths

_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/svg+xml": "svg",
    "text/html": "html",
    "text/markdown": "md",
    "text/latex": "tex",
    "application/json": "json",
}


async def _ask(ask: Callable[[str], str]) -> str | None:
    """``ask("")`` in a daemon thread (one blocked on a terminal nobody answers must
    not hold the command at exit); None at end of input."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def settle(value: str | None) -> None:
        if not answer.done():
            answer.set_result(value)

    def read() -> None:
        try:
            value: str | None = ask("")
        except (EOFError, KeyboardInterrupt, OSError):
            value = None
        with contextlib.suppress(RuntimeError):  # the command has ended meanwhile
            loop.call_soon_threadsafe(settle, value)

    threading.Thread(target=read, name="runbridge-input", daemon=True).start()
    return await answer


class CliEvents:
    """Prints a run's output to this terminal and saves media to files."""

    def __init__(self, out: TextIO, err: TextIO, media_dir: Path) -> None:
        self.out, self.err = out, err
        self.media_dir = media_dir
        self.media: list[Path] = []
        #: The file of each display with an id (its updates rewrite it).
        self.displays: dict[str, Path] = {}
        self.terminal_sink: Any = None
        #: An input answer the terminal has already echoed (the run's stream repeats it).
        self._echoed: str | None = None

    def output(self, batch: Any) -> None:
        """The in-process manager's event: an ``OutputBatch``."""
        self.show(batch.to_params())

    def show(self, params: dict[str, Any]) -> None:
        """Show one ``runbridge/output`` notification's params."""
        for record in params["console"]:
            kind, data = record[0], record[1]  # a display's record has a third element
            if kind == "stdout":
                if self._echoed is not None and data.startswith(self._echoed):
                    data = data[len(self._echoed) :]
                self._echoed = None
                self.out.write(data)
                self.out.flush()
            elif kind == "stderr":
                self.err.write(data)
                self.err.flush()
            elif kind == mime.CLEAR_OUTPUT:
                continue
            else:
                display = record[2] if len(record) > 2 and isinstance(record[2], dict) else {}
                display_id = display.get("displayId")
                if display.get("update"):
                    if display_id not in self.displays:
                        continue  # an update of a display this shell never showed
                    path = self.save_media(params["runId"], kind, data, self.displays[display_id])
                    self.err.write(f"[{kind} display updated: {path}]\n")
                else:
                    path = self.save_media(params["runId"], kind, data)
                    if isinstance(display_id, str):
                        self.displays[display_id] = path
                    self.err.write(f"[{kind} saved to {path}]\n")
                self.err.flush()

    def save_media(self, run_id: str, kind: str, data: str, path: Path | None = None) -> Path:
        """Write a media record to a new file, or over ``path`` (a display update)."""
        self.media_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ext = _EXTENSIONS.get(kind, "txt")
        if path is None:
            path = self.media_dir / f"{run_id}-{len(self.media) + 1}.{ext}"
            self.media.append(path)
        if data.startswith("data:") and ";base64," in data:
            content = base64.b64decode(data.split(",", 1)[1])
        else:
            content = data.encode("utf-8")
        # what a session drew is as private as what it printed (0600, never through a link)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with open(paths.open_private(path, flags), "wb") as file:
            file.write(content)
        return path

    def session_changed(self, info: dict[str, Any]) -> None:
        pass

    def terminal_output(self, terminal_id: str, data: str) -> None:
        if self.terminal_sink is not None:
            self.terminal_sink(data)

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        if self.terminal_sink is not None:
            self.terminal_sink(None)

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        # The prompt is already on screen (the run's stdout shows it), so it is not
        # repeated here; the stream also echoes the answer, which a terminal has shown.
        password = bool(params.get("password"))
        value = await _ask(getpass.getpass if password else input)
        if value is None:
            return None
        if sys.stdin.isatty() and self.out.isatty():
            self._echoed = ("" if password else value) + "\n"
        return value
