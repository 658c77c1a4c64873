"""A run sink for driving a backend session in-process (tests and benchmarks)."""

from __future__ import annotations

from typing import Any


class StdoutSink:
    """Keeps the run's stdout; answers no ``input()`` (as an editor that cancels it)."""

    def __init__(self) -> None:
        self.stdout = ""

    def emit(self, kind: str, data: str, display: Any = None) -> None:
        if kind == "stdout":
            self.stdout += data

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        return None
