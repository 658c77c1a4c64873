"""Run sinks for driving a backend session in-process (tests and benchmarks)."""

from __future__ import annotations

from typing import Any

from runbridge.model import Display


class StdoutSink:
    """Keeps the run's stdout; answers no ``input()`` (as an editor that cancels it)."""

    def __init__(self) -> None:
        self.stdout = ""

    def emit(self, kind: str, data: str, display: Any = None) -> None:
        if kind == "stdout":
            self.stdout += data

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        return None


class RecordingSink:
    """Keeps every record; answers prompts with ``answer`` (None: the user cancels)."""

    def __init__(self, answer: str | None = None) -> None:
        self.records: list[tuple[str, str, Display | None]] = []
        self.prompts: list[tuple[str, bool]] = []
        self.answer = answer

    def emit(self, kind: str, data: str, display: Display | None = None) -> None:
        self.records.append((kind, data, display))

    async def ask_input(self, prompt: str, password: bool) -> str | None:
        self.prompts.append((prompt, password))
        return self.answer

    def text(self, kind: str = "stdout") -> str:
        return "".join(data for k, data, _ in self.records if k == kind)
