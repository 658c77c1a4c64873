"""Completion on Backend.AI: the manager's ``POST /session/{name}/complete``.

The manager forwards it to the runner in the session's container; the stock runners
(Python's included) answer an empty list whatever the code, so what this returns is
nearly always empty, with :data:`NOT_AVAILABLE` as its note (said once to the user).
A runner that does complete gets its suggestions used. Shapes accepted (reference
§2.6): ``{"result": {"suggestions": [...]}}``, ``{"result": {"completions": [...]}}``
and ``{"result": [...]}``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.errors import RunbridgeError
from runbridge.model import CompletionMatch, Completions, no_completions

log = logging.getLogger(__name__)

#: How long the manager may take to answer while the session is idle, and while a run
#: executes (then: the empty answer).
IDLE_BUDGET_S = 1.0
BUSY_BUDGET_S = 0.08
NOT_AVAILABLE = (
    "runbridge: completion, hover and signature help are not available in Backend.AI "
    "sessions (the session's runner answers completion requests with an empty list)"
)


def options_at(code: str, cursor: int) -> dict[str, Any]:
    """The SDK's ``options`` for ``cursor``: its row and column, the line's text before
    and after it."""
    before = code[:cursor]
    row = before.count("\n")
    line_start = before.rfind("\n") + 1
    line_end = code.find("\n", cursor)
    if line_end < 0:
        line_end = len(code)
    return {
        "row": row,
        "col": cursor - line_start,
        "line": code[line_start:cursor],
        "post": code[cursor:line_end],
    }


def _suggestions(body: dict[str, Any]) -> list[str]:
    result = body.get("result")
    if isinstance(result, dict):
        result = result.get("suggestions", result.get("completions"))
    if not isinstance(result, list):
        return []
    return [s for s in result if isinstance(s, str) and s]


def _word_start(code: str, cursor: int) -> int:
    start = cursor
    while start > 0 and (code[start - 1].isalnum() or code[start - 1] == "_"):
        start -= 1
    return start


async def complete(
    client: BackendAIClient, name: str, code: str, cursor: int, busy: bool
) -> Completions:
    """Ask the manager; what its runner suggested (replacing the word before the cursor);
    the empty answer with :data:`NOT_AVAILABLE` when it suggested nothing, without it when
    it did not answer in time or failed."""
    try:
        async with asyncio.timeout(BUSY_BUDGET_S if busy else IDLE_BUDGET_S):
            body = await client.call_json(
                "POST",
                f"/session/{quote(name, safe='')}/complete",
                what=f"completing in session {name!r}",
                session=name,
                json={"code": code, "options": options_at(code, cursor)},
            )
    except (TimeoutError, RunbridgeError) as exc:
        log.info("session %r: completion failed: %s", name, exc)
        return no_completions(cursor)
    suggestions = _suggestions(body)
    if not suggestions:
        return no_completions(cursor, NOT_AVAILABLE)
    start = _word_start(code, cursor)
    return Completions(start, cursor, [CompletionMatch(s) for s in suggestions])
