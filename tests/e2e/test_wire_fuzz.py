"""A byte-level fuzzer of the wire, over the daemon's stdio and the session host's socket.

Each example is a stream of pieces a broken or hostile peer could send: frames of
random JSON-RPC-looking messages (ids, methods and params of every type), frames of
random bytes, headers with bad lengths, junk header lines (some of them megabytes
long), frames that declare less than they carry, and large messages. After each
example the daemon must answer ``runbridge/listSessions`` within a second, and its
memory must come back down.

The examples end on a frame boundary, as any peer's stream eventually does: a frame
that declares more bytes than follow is not a fault of the daemon, which rightly
waits for the rest. ``RUNBRIDGE_FUZZ_EXAMPLES`` sets the number of examples (CI runs
the default).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.e2e.host import Host, open_socket
from tests.e2e.raw_wire import RawPeer, frame, stdio_daemon

EXAMPLES = int(os.environ.get("RUNBRIDGE_FUZZ_EXAMPLES", "120"))
#: After each example the daemon may hold this much more memory than before the first.
RSS_SLACK_MB = 150

# Methods the fuzz may call: every one that cannot start a kernel or a shell, or end
# the daemon on purpose (shutdown, exit and stopDaemon are not faults).
METHODS = [
    "runbridge/listSessions", "runbridge/checkProfile", "runbridge/closeSession",
    "runbridge/interrupt", "runbridge/restart", "runbridge/listFiles", "runbridge/download",
    "runbridge/closeTerminal", "runbridge/terminalInput", "runbridge/resizeTerminal",
    "runbridge/input", "$/cancelRequest", "$/setTrace", "initialize", "initialized",
    "textDocument/didOpen", "workspace/didChangeConfiguration", "workspace/executeCommand",
    "window/workDoneProgress/cancel", "runbridge/variables", "runbridge/bindDocument",
    "runbridge/cellAt", "textDocument/didChange", "textDocument/didClose",
    "textDocument/codeLens", "textDocument/documentSymbol", "textDocument/completion",
    "completionItem/resolve", "textDocument/hover", "textDocument/signatureHelp",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=16,
)
ids = json_values | st.integers(-5, 10**6) | st.text(max_size=300)
methods = st.sampled_from(METHODS) | json_values | st.text(max_size=40)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A message body: mostly JSON-RPC-shaped, with any field missing or of any type."""
    shape: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        shape["jsonrpc"] = draw(st.just("2.0") | json_values)
    if draw(st.booleans()):
        shape["id"] = draw(ids)
    if draw(st.integers(0, 5)):
        shape["method"] = draw(methods)
    if draw(st.booleans()):
        shape["params"] = draw(json_values | st.fixed_dictionaries({}, optional={
            "name": json_values, "session": json_values, "id": ids, "path": json_values,
            "files": json_values, "dest": json_values, "terminalId": json_values,
            "data": json_values, "profile": json_values, "capabilities": json_values,
            "uri": json_values, "position": json_values, "textDocument": json_values,
            "contentChanges": json_values, "label": json_values,
        }))  # fmt: skip
    if draw(st.integers(0, 7)) == 0:
        shape["result" if draw(st.booleans()) else "error"] = draw(json_values)
    message: Any = shape
    wrap = draw(st.integers(0, 12))
    if wrap == 0:
        message = [shape]  # a batch
    elif wrap == 1:
        message = draw(json_values)
    return json.dumps(message).encode()


@st.composite
def pieces(draw: st.DrawFn) -> bytes:
    kind = draw(
        st.sampled_from(
            ["message"] * 6 + ["bytes", "bad-length", "junk", "long-line", "short", "large"]
        )
    )
    event(kind)
    if kind == "message":
        return frame(draw(messages()))
    if kind == "bytes":
        return frame(draw(st.binary(max_size=200)))
    if kind == "bad-length":
        length = draw(
            st.sampled_from([b"-1", b"abc", b"1e3", b"0x10", b"99999999999999999999", b""])
            | st.binary(max_size=12).filter(lambda b: b"\n" not in b)
        )
        return b"Content-Length: " + length + b"\r\n\r\n" + draw(messages())
    if kind == "junk":
        lines = draw(st.lists(st.binary(max_size=80), min_size=1, max_size=5))
        return b"".join(line.replace(b"\n", b"") + b"\r\n" for line in lines) + b"\r\n"
    if kind == "long-line":  # a header line of up to 3 MB without a line break
        size = draw(st.integers(8_000, 3 << 20))
        return b"X-Junk: " + draw(st.sampled_from([b"j", b"\x00", b"\xff"])) * size + b"\r\n"
    if kind == "short":  # declares fewer bytes than it carries: the rest reads as headers
        body = draw(messages())
        cut = draw(st.integers(0, max(0, len(body) - 1)))
        return b"Content-Length: %d\r\n\r\n" % cut + body
    # large: a real message with megabytes of params
    size = draw(st.integers(1 << 20, 24 << 20))
    method = draw(st.sampled_from(["runbridge/closeSession", "runbridge/nope", "initialized"]))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"name": "n"}})
    return frame(body.replace('"n"', '"' + "n" * size + '"').encode())


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


class Target:
    """A daemon under fuzz: its peer, its pid and its log."""

    def __init__(self, peer: RawPeer, pid: int, log: Path) -> None:
        self.peer = peer
        self.pid = pid
        self.log = log
        self.baseline = rss_mb(pid)


@pytest_asyncio.fixture(loop_scope="session", params=["stdio", "socket"])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    home = tmp_path / "home"
    if request.param == "stdio":
        async with stdio_daemon(home) as daemon:
            yield Target(daemon.peer, daemon.proc.pid, home / "log" / "daemon.log")
        return
    host = Host(home)
    try:
        peer = RawPeer(*await open_socket(host.sock))
        await peer.initialize()
        yield Target(peer, host.proc.pid, home / "log" / "daemon.log")
    finally:
        await host.stop()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(stream=st.lists(pieces(), min_size=1, max_size=6))
async def test_any_bytes_leave_the_daemon_serving(target: Target, stream: list[bytes]) -> None:
    peer = target.peer
    peer.seen.clear()
    await peer.send(b"".join(stream))
    if not await peer.serves(timeout=10.0):
        tail = target.log.read_text(errors="replace")[-2000:] if target.log.exists() else ""
        raise AssertionError(f"the daemon did not answer listSessions; its log ends:\n{tail}")
    assert not [m for m in peer.seen if m.get("method") == "window/showMessage"]
    for message in peer.seen:
        text = json.dumps(message)
        assert "Traceback" not in text, text[:2000]
        if "error" in message:
            assert len(text) < 4000, text[:300]
    # large messages are freed once handled and their memory given back: allow a moment
    for _ in range(50):
        grown = rss_mb(target.pid) - target.baseline
        if grown < RSS_SLACK_MB:
            break
        await asyncio.sleep(0.1)
    assert grown < RSS_SLACK_MB, f"the daemon holds {grown:.0f} MB more than at the start"
