"""The session host's events: each goes to the connections it concerns.

- ``runbridge/sessionChanged`` goes to every connection.
- A run's output goes to the connection that started the run and to every
  connection that follows the run's session. A connection follows the sessions
  it opened or ran in; ``runbridge/follow`` changes that.
- An ``input()`` prompt goes to the connection that started the run; if it is
  gone (or leaves before answering), to another follower; only with no follower
  left is it cancelled (the run is interrupted).
- A terminal's output goes to the connections attached to it, and into a ring of
  its last :data:`TERMINAL_RING_BYTES`, replayed to a connection that attaches.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runbridge.lsp.editor_events import ClientGone, LspEvents
from runbridge.sessions.output import OutputBatch

log = logging.getLogger(__name__)

#: What a terminal keeps of its output for a connection that attaches later.
TERMINAL_RING_BYTES = 256 * 1024


@dataclass(eq=False)
class Client:
    """One connection as the host sees it."""

    events: LspEvents
    label: str
    #: The sessions whose runs' output this connection is sent.
    follows: set[str] = field(default_factory=set)
    #: The terminals whose output this connection is sent.
    terminals: set[str] = field(default_factory=set)


class TerminalRing:
    """The last output of a terminal, at most ``limit`` characters."""

    def __init__(self, limit: int = TERMINAL_RING_BYTES) -> None:
        self.limit = limit
        self._chunks: deque[str] = deque()
        self._size = 0

    def add(self, data: str) -> None:
        self._chunks.append(data)
        self._size += len(data)
        while self._size > self.limit and self._chunks:
            extra = self._size - self.limit
            first = self._chunks[0]
            if len(first) <= extra:
                self._chunks.popleft()
                self._size -= len(first)
            else:
                self._chunks[0] = first[extra:]
                self._size -= extra

    def text(self) -> str:
        return "".join(self._chunks)


class Fanout:
    """The manager's :class:`~runbridge.sessions.manager.Events` for many connections."""

    def __init__(self) -> None:
        self.clients: list[Client] = []
        #: run id -> the connection that started it (while it is connected)
        self._starters: dict[str, Client] = {}
        self._rings: dict[str, TerminalRing] = {}
        #: terminal id -> its session
        self.terminal_sessions: dict[str, str] = {}

    # -- connections ---------------------------------------------------------------
    def add(self, client: Client) -> None:
        self.clients.append(client)

    def remove(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
        for run_id in [r for r, c in self._starters.items() if c is client]:
            del self._starters[run_id]

    def started(self, client: Client, run_id: str, session: str) -> None:
        self._starters[run_id] = client
        client.follows.add(session)

    def finished(self, run_id: str) -> None:
        """The run has ended: its starter no longer needs remembering."""
        self._starters.pop(run_id, None)

    def followers(self, session: str) -> list[Client]:
        return [c for c in self.clients if session in c.follows]

    def _targets(self, session: str, run_id: str) -> Iterable[Client]:
        starter = self._starters.get(run_id)
        if starter is not None:
            yield starter
        for client in self.clients:
            if client is not starter and session in client.follows:
                yield client

    # -- terminals -----------------------------------------------------------------
    def terminal_opened(self, client: Client, terminal_id: str, session: str) -> None:
        self._rings[terminal_id] = TerminalRing()
        self.terminal_sessions[terminal_id] = session
        client.terminals.add(terminal_id)

    def attach_terminal(self, client: Client, terminal_id: str) -> str:
        """Attach ``client`` to a terminal; returns its recent output (to replay)."""
        client.terminals.add(terminal_id)
        ring = self._rings.get(terminal_id)
        return ring.text() if ring is not None else ""

    def terminals(self) -> dict[str, str]:
        """terminal id -> session, for the terminals still running."""
        return dict(self.terminal_sessions)

    def attached(self, terminal_id: str) -> int:
        return sum(1 for c in self.clients if terminal_id in c.terminals)

    # -- Events --------------------------------------------------------------------
    def output(self, batch: OutputBatch) -> None:
        for client in self._targets(batch.session, batch.run_id):
            client.events.output(batch)

    def session_changed(self, info: dict[str, Any]) -> None:
        for client in list(self.clients):
            client.events.session_changed(info)
        if info.get("state") == "closed":
            name = info.get("name")
            for client in self.clients:
                client.follows.discard(str(name))

    def terminal_output(self, terminal_id: str, data: str) -> None:
        ring = self._rings.get(terminal_id)
        if ring is not None:
            ring.add(data)
        for client in self.clients:
            if terminal_id in client.terminals:
                client.events.terminal_output(terminal_id, data)

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        self._rings.pop(terminal_id, None)
        self.terminal_sessions.pop(terminal_id, None)
        for client in self.clients:
            if terminal_id in client.terminals:
                client.events.terminal_exit(terminal_id, exit_code)
                client.terminals.discard(terminal_id)

    async def ask_input(self, params: dict[str, Any]) -> str | None:
        run_id, session = str(params.get("runId")), str(params.get("session"))
        asked: list[Client] = []
        while True:
            client = next((c for c in self._targets(session, run_id) if c not in asked), None)
            if client is None:
                log.warning(
                    "run %s in session %s asked for input with no client following it: interrupted",
                    run_id,
                    session,
                )
                return None
            asked.append(client)
            try:
                return await client.events.ask(params)
            except ClientGone:
                log.info("input of run %s: %s left; asking another follower", run_id, client.label)
