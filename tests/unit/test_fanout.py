"""The host's fan-out of the manager's events, with fake connections."""

from __future__ import annotations

from typing import Any

from runbridge.lsp.editor_events import ClientGone
from runbridge.lsp.fanout import TERMINAL_RING_BYTES, Client, Fanout, TerminalRing
from runbridge.sessions.output import OutputBatch


class FakeEvents:
    def __init__(self, answer: str | None = None, gone: bool = False) -> None:
        self.outputs: list[tuple[str, str, int]] = []
        self.changes: list[dict[str, Any]] = []
        self.terminal: list[tuple[str, str | int | None]] = []
        self.asked: list[dict[str, Any]] = []
        self.answer = answer
        self.gone = gone

    def output(self, batch: OutputBatch) -> None:
        self.outputs.append((batch.session, batch.run_id, batch.seq))

    def session_changed(self, info: dict[str, Any]) -> None:
        self.changes.append(info)

    def terminal_output(self, terminal_id: str, data: str) -> None:
        self.terminal.append((terminal_id, data))

    def terminal_exit(self, terminal_id: str, exit_code: int | None) -> None:
        self.terminal.append((terminal_id, exit_code))

    async def ask(self, params: dict[str, Any]) -> str | None:
        self.asked.append(params)
        if self.gone:
            raise ClientGone("left")
        return self.answer


def client(fanout: Fanout, label: str, **kwargs: Any) -> tuple[Client, FakeEvents]:
    events = FakeEvents(**kwargs)
    c = Client(events, label)  # type: ignore[arg-type]
    fanout.add(c)
    return c, events


def batch(session: str, run_id: str, seq: int = 1) -> OutputBatch:
    return OutputBatch(session, run_id, seq, '[["stdout","x"]]')


def test_output_goes_to_the_starter_and_the_followers_only() -> None:
    fanout = Fanout()
    starter, s_events = client(fanout, "starter")
    follower, f_events = client(fanout, "follower")
    _, o_events = client(fanout, "other")
    follower.follows.add("a")
    fanout.started(starter, "r1", "a")
    fanout.output(batch("a", "r1"))
    assert s_events.outputs == [("a", "r1", 1)]
    assert f_events.outputs == [("a", "r1", 1)]
    assert o_events.outputs == []
    assert "a" in starter.follows  # running in a session follows it


def test_a_starter_that_unfollowed_still_gets_its_own_run_but_not_others() -> None:
    fanout = Fanout()
    starter, s_events = client(fanout, "starter")
    other, _ = client(fanout, "other")
    fanout.started(starter, "r1", "a")
    starter.follows.discard("a")
    fanout.started(other, "r2", "a")
    fanout.output(batch("a", "r1"))
    fanout.output(batch("a", "r2"))
    assert s_events.outputs == [("a", "r1", 1)]


def test_session_changes_go_to_everyone_and_a_closed_session_is_unfollowed() -> None:
    fanout = Fanout()
    one, e1 = client(fanout, "one")
    _, e2 = client(fanout, "two")
    one.follows.add("a")
    fanout.session_changed({"name": "a", "state": "closed"})
    assert e1.changes == e2.changes == [{"name": "a", "state": "closed"}]
    assert "a" not in one.follows


async def test_input_goes_to_the_starter_then_a_follower_when_the_starter_left() -> None:
    fanout = Fanout()
    starter, s_events = client(fanout, "starter", gone=True)
    follower, f_events = client(fanout, "follower", answer="typed")
    follower.follows.add("a")
    fanout.started(starter, "r1", "a")
    value = await fanout.ask_input({"runId": "r1", "session": "a"})
    assert value == "typed"
    assert len(s_events.asked) == 1 and len(f_events.asked) == 1


async def test_input_with_no_follower_left_is_cancelled() -> None:
    fanout = Fanout()
    starter, _ = client(fanout, "starter")
    fanout.started(starter, "r1", "a")
    fanout.remove(starter)
    assert await fanout.ask_input({"runId": "r1", "session": "a"}) is None


async def test_a_cancelled_prompt_is_not_asked_again_elsewhere() -> None:
    fanout = Fanout()
    starter, _ = client(fanout, "starter", answer=None)
    follower, f_events = client(fanout, "follower", answer="typed")
    follower.follows.add("a")
    fanout.started(starter, "r1", "a")
    assert await fanout.ask_input({"runId": "r1", "session": "a"}) is None
    assert f_events.asked == []


def test_terminal_output_goes_to_attached_connections_and_is_replayed() -> None:
    fanout = Fanout()
    opener, o_events = client(fanout, "opener")
    later, l_events = client(fanout, "later")
    fanout.terminal_opened(opener, "t1", "a")
    fanout.terminal_output("t1", "hello ")
    assert fanout.attach_terminal(later, "t1") == "hello "
    fanout.terminal_output("t1", "world")
    assert o_events.terminal == [("t1", "hello "), ("t1", "world")]
    assert l_events.terminal == [("t1", "world")]
    assert fanout.terminals() == {"t1": "a"} and fanout.attached("t1") == 2
    fanout.terminal_exit("t1", 0)
    assert fanout.terminals() == {} and l_events.terminal[-1] == ("t1", 0)


def test_the_terminal_ring_keeps_the_last_characters_only() -> None:
    ring = TerminalRing(limit=10)
    for part in ("abcdef", "ghijkl", "mn"):
        ring.add(part)
    assert ring.text() == "efghijklmn"
    big = TerminalRing()
    big.add("x" * (TERMINAL_RING_BYTES + 5) + "END")
    assert len(big.text()) == TERMINAL_RING_BYTES and big.text().endswith("END")


def test_a_finished_run_forgets_its_starter() -> None:
    fanout = Fanout()
    starter, s_events = client(fanout, "starter")
    fanout.started(starter, "r1", "a")
    starter.follows.discard("a")
    fanout.finished("r1")
    fanout.output(batch("a", "r1", 9))  # late output of a run that ended
    assert s_events.outputs == []
