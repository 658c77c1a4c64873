"""``$/progress`` reporting that hides pygls' quirks (token reuse, capability checks)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer


class WorkDone:
    """One progress bar: client-given token, or server-created when the client allows it."""

    def __init__(self, ls: LanguageServer, token: str | int | None) -> None:
        self._ls = ls
        self._token = token
        self._active = False
        self._last_pct = -1

    @property
    def cancelled(self) -> bool:
        if not self._active or self._token is None:
            return False
        future = self._ls.work_done_progress.tokens.get(self._token)
        return bool(future is not None and future.cancelled())

    def on_cancel(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the editor cancels this progress (a begun, cancellable one)."""
        if not self._active or self._token is None:
            return
        future = self._ls.work_done_progress.tokens.get(self._token)
        if future is not None:
            future.add_done_callback(lambda f: callback() if f.cancelled() else None)

    async def begin(
        self, title: str, message: str | None = None, cancellable: bool = False
    ) -> None:
        if self._token is None:
            caps = self._ls.client_capabilities
            if not get_capability(caps, "window.work_done_progress", False):
                return
            self._token = f"runbridge-{uuid.uuid4().hex}"
            try:
                await self._ls.work_done_progress.create_async(self._token)
            except Exception:
                self._token = None
                return
        self._active = True
        self._ls.work_done_progress.begin(
            self._token,
            types.WorkDoneProgressBegin(
                title=title, message=message, cancellable=cancellable, percentage=0
            ),
        )

    def report(self, done: int, total: int, unit: str = "bytes") -> None:
        if not self._active or self._token is None:
            return
        pct = 100 if total <= 0 else min(100, int(done * 100 / total))
        if pct == self._last_pct:
            return
        self._last_pct = pct
        self._ls.work_done_progress.report(
            self._token,
            types.WorkDoneProgressReport(message=_amount(done, total, unit), percentage=pct),
        )

    def message(self, text: str) -> None:
        """Report a step without a percentage (e.g. a scheduler's PENDING, PREPARING)."""
        if self._active and self._token is not None:
            self._ls.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=text)
            )

    def end(self, message: str | None = None) -> None:
        if self._active and self._token is not None:
            with contextlib.suppress(Exception):
                self._ls.work_done_progress.end(
                    self._token, types.WorkDoneProgressEnd(message=message)
                )
        self._active = False


def _amount(done: int, total: int, unit: str) -> str:
    if unit != "bytes":
        return f"{done}/{total} {unit}"
    return f"{done / 1048576:.1f}/{total / 1048576:.1f} MB"


def client_token(params: Any) -> str | int | None:
    if isinstance(params, dict):
        token = params.get("workDoneToken")
        if isinstance(token, str | int) and not isinstance(token, bool):
            return token
    return None
