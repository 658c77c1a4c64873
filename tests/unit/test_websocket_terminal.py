"""The terminal pump both remote backends use, driven with a made-up frame protocol."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, cast

import pytest
from websockets.exceptions import ConnectionClosedError

from runbridge.backends.remote.websocket_terminal import Frame, WebSocketTerminal
from tests.fake_websocket import FakeWebSocket


class Frames:
    """``t:TEXT`` is text, ``b:HEX`` output bytes, ``end`` the shell's end; else nothing."""

    def stdin(self, data: str) -> str:
        return f"in:{data}"

    def resize(self, rows: int, cols: int) -> str:
        return f"size:{rows}x{cols}"

    def read(self, frame: str | bytes) -> str | bytes | Literal[Frame.EXIT] | None:
        text = frame.decode() if isinstance(frame, bytes) else frame
        if text.startswith("t:"):
            return text[2:]
        if text.startswith("b:"):
            return bytes.fromhex(text[2:])
        if text == "end":
            return Frame.EXIT
        return None


class Ends:
    """Records the pump's callbacks, in order, with the socket's state at each."""

    def __init__(self, ws: FakeWebSocket) -> None:
        self.ws = ws
        self.output: list[str] = []
        self.events: list[str] = []

    async def on_end(self) -> None:
        self.events.append(f"end (socket closed: {self.ws.closed.is_set()})")

    async def on_exit(self, code: int | None) -> None:
        await asyncio.sleep(0)  # an awaitable exit callback is awaited
        self.events.append(f"exit {code}")


def open_pump(
    frames: list[str | bytes], *, keepalive: tuple[str, float] | None = None
) -> tuple[WebSocketTerminal, FakeWebSocket, Ends]:
    ws = FakeWebSocket(frames)
    ends = Ends(ws)
    terminal = WebSocketTerminal(
        cast(Any, ws),
        Frames(),
        ends.output.append,
        ends.on_exit,
        label="test terminal",
        on_end=ends.on_end,
        keepalive=keepalive,
    )
    return terminal, ws, ends


async def settle(seconds: float = 0.02) -> None:
    await asyncio.sleep(seconds)


async def test_frames_go_out_in_order_starting_with_the_size() -> None:
    terminal, ws, _ = open_pump([])
    terminal.start(24, 80)
    terminal.write("ls\r")
    terminal.write("")  # nothing to send
    terminal.resize(30, 100)
    terminal.write("exit\r")
    await settle()
    assert ws.sent == ["size:24x80", "in:ls\r", "size:30x100", "in:exit\r"]
    await terminal.close()


async def test_output_text_as_is_and_bytes_decoded_across_frames() -> None:
    euro = "€".encode().hex()
    terminal, ws, ends = open_pump(
        ["t:$ ", "b:" + euro[:2], "ignored", "b:" + euro[2:] + "21", "t:", "b:f0"]
    )
    terminal.start(24, 80)
    await settle()
    assert "".join(ends.output) == "$ €!"  # the split character whole, empty text dropped
    ws.hang_up()
    await settle()
    assert ends.output[-1] == "\ufffd"  # bytes still held when the stream ends: decoded
    assert ends.events == ["end (socket closed: True)", "exit None"]


async def test_the_shell_s_end_stops_reading_and_ends_the_terminal_once() -> None:
    terminal, ws, ends = open_pump(["t:bye", "end", "t:after the end"])
    terminal.start(24, 80)
    await settle()
    assert ends.output == ["bye"]
    assert ws.close_calls == 1
    assert ends.events == ["end (socket closed: True)", "exit None"]
    assert terminal.exited
    sent = list(ws.sent)
    terminal.write("late")
    terminal.resize(1, 1)
    await terminal.close()  # after the end: no second on_end or on_exit
    await settle()
    assert ws.sent == sent
    assert ends.events == ["end (socket closed: True)", "exit None"]


async def test_close_ends_the_shell_before_closing_the_socket() -> None:
    terminal, ws, ends = open_pump(["t:hi"])
    terminal.start(24, 80)
    await settle()
    assert not terminal.exited
    await terminal.close()
    await terminal.close()
    await settle()
    assert ends.events == ["end (socket closed: False)", "exit None"]
    assert ws.closed.is_set() and terminal.exited


@pytest.mark.parametrize("error", [None, ConnectionClosedError(None, None)])
async def test_the_server_closing_the_socket_ends_the_terminal(
    error: BaseException | None, caplog: pytest.LogCaptureFixture
) -> None:
    terminal, ws, ends = open_pump([])
    terminal.start(24, 80)
    await settle()
    ws.hang_up(error)
    await settle()
    assert ends.events == ["end (socket closed: True)", "exit None"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_failing_stream_is_logged_and_ends_the_terminal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    terminal, ws, ends = open_pump([])
    terminal.start(24, 80)
    await settle()
    ws.hang_up(RuntimeError("broken"))
    await settle()
    assert ends.events == ["end (socket closed: True)", "exit None"]
    assert any("test terminal: stream failed" in r.getMessage() for r in caplog.records)


async def test_keepalive_frames_only_when_asked_for() -> None:
    terminal, ws, _ = open_pump([], keepalive=("ping", 0.01))
    terminal.start(24, 80)
    await settle(0.05)
    assert ws.sent[0] == "size:24x80"
    assert ws.sent.count("ping") >= 2
    await terminal.close()
    count = len(ws.sent)
    await settle(0.03)
    assert len(ws.sent) == count  # stopped with the terminal

    quiet, ws, _ = open_pump([])
    quiet.start(24, 80)
    await settle(0.05)
    assert ws.sent == ["size:24x80"]
    await quiet.close()
