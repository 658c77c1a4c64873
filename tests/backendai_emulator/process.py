"""Run the emulator as a subprocess, so tests can kill it mid-run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


class EmulatorProcess:
    def __init__(
        self,
        generation: str = "new",
        access_key: str = "AKIAIOSFODNN7EXAMPLE",
        secret_key: str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        python: str | None = None,
        **options: Any,
    ) -> None:
        self.args = [
            python or sys.executable,
            "-m",
            "tests.backendai_emulator",
            "--port",
            "0",
            "--generation",
            generation,
            "--access-key",
            access_key,
            "--secret-key",
            secret_key,
        ]
        for k, v in options.items():
            self.args += [f"--{k.replace('_', '-')}", str(v)]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> str:
        env = dict(os.environ)
        env.pop("PYTEST_CURRENT_TEST", None)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            self.args, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.kill()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = line
        return line

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def drop_websockets(self, session: str | None = None, kinds: list[str] | None = None) -> int:
        body = {"session": session, "kinds": kinds}
        answer = httpx.post(f"{self.url}/_emulator/drop-websockets", json=body)
        return int(answer.json()["dropped"])

    def configure(self, **values: Any) -> None:
        httpx.post(f"{self.url}/_emulator/config", json=values).raise_for_status()

    def state(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_emulator/state").json())

    def creations(self) -> list[dict[str, Any]]:
        """Every ``POST /session`` body received: ``[{"apiVersion", "body"}]``."""
        return list(httpx.get(f"{self.url}/_emulator/creations").json()["creations"])

    def kill(self) -> None:
        """SIGKILL the emulator and everything it started (kernels, shells): a crash mid-run."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.kill()


@contextlib.contextmanager
def emulator_process(**kwargs: Any) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(**kwargs) as proc:
        yield proc
