"""A broken or hostile peer on the wire: framing errors, bad JSON, bad ids and methods.

The daemon answers what JSON-RPC says to answer (-32700 / -32600 with ``id: null``),
never puts a traceback or a long echo on the wire, shows the editor no message box
for any of it, and keeps serving: a framing error is logged and the stream recovers
at the next frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.raw_wire import RawPeer, StdioDaemon, frame, stdio_daemon

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def wire(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StdioDaemon]:
    async with stdio_daemon(tmp_path_factory.mktemp("wire")) as daemon:
        yield daemon


def listing(peer_id: int) -> bytes:
    return frame(
        {"jsonrpc": "2.0", "id": peer_id, "method": "runbridge/listSessions", "params": {}}
    )


async def error_reply(peer: RawPeer, data: bytes, timeout: float = 10) -> dict[str, Any]:
    """Send ``data`` and return the first error reply that follows."""
    await peer.send(data)
    reply = await peer.reply_to(lambda m: "error" in m and "method" not in m, timeout)
    return dict(reply)


def assert_clean(reply: dict[str, Any]) -> None:
    """An error a user can read: a message, no traceback, nothing long."""
    text = json.dumps(reply)
    assert "Traceback" not in text and "traceback" not in text, text[:2000]
    assert len(text) < 4000, f"a {len(text)}-byte error reply"
    assert reply["error"]["message"]


def no_message_box(peer: RawPeer) -> None:
    boxes = [m for m in peer.seen if m.get("method") == "window/showMessage"]
    assert not boxes, boxes


# -- framing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b"Content-Length: -5\r\n\r\n", "-5"),
        (b"Content-Length: abc\r\n\r\n{}", "abc"),
        (b"Content-Length: 99999999999999999999\r\n\r\n{}", "99999999999999999999"),
        (b"Content-Length: 1e3\r\n\r\n", "1e3"),
        (b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}", "Content-Length"),
        (b"garbage without a colon\r\n\r\n", "garbage"),
        (b"X-Junk: " + b"j" * (2 << 20), "longer than"),  # a 2 MB header line, no newline
    ],
    ids=["negative", "non-numeric", "absurd", "float", "missing", "no-colon", "2MB-line"],
)
async def test_framing_errors_are_logged_and_the_stream_recovers(
    wire: StdioDaemon, header: bytes, why: str
) -> None:
    peer = wire.peer
    await peer.send(header)
    assert await peer.serves(timeout=10), "the daemon did not recover from the framing error"
    log = wire.log()
    lines = [line for line in log.splitlines() if "framing error" in line]
    assert lines and why in lines[-1], lines[-3:]
    assert all(len(line) < 2000 for line in lines)
    no_message_box(peer)


async def test_an_oversized_message_is_refused_and_skipped(wire: StdioDaemon) -> None:
    from runbridge.lsp.wire import MAX_MESSAGE_BYTES

    peer = wire.peer
    body = b'{"jsonrpc":"2.0","id":77,"method":"runbridge/listSessions","params":{"x":"'
    body += b"x" * (MAX_MESSAGE_BYTES + 1 - len(body) - 3) + b'"}}'
    assert len(body) == MAX_MESSAGE_BYTES + 1
    reply = await error_reply(peer, frame(body), timeout=60)
    assert reply["id"] is None and reply["error"]["code"] == INVALID_REQUEST
    assert str(MAX_MESSAGE_BYTES + 1) in reply["error"]["message"]
    assert_clean(reply)
    assert await peer.serves(timeout=10)


# -- what is not a JSON-RPC message -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"jsonrpc": "2.0", "id": 1, "method": ', PARSE_ERROR),
        (b"\xff\xfe not utf-8", PARSE_ERROR),
        (b'{"jsonrpc":"2.0","id":1,"method":"runbridge/run","params":{"code":NaN}}', PARSE_ERROR),
        (b"[" * 200_000 + b"]" * 200_000, PARSE_ERROR),
        (b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"x"}', PARSE_ERROR),
        (b"[]", INVALID_REQUEST),
        (b"[1, 2]", INVALID_REQUEST),
        (b"5", INVALID_REQUEST),
        (b"null", INVALID_REQUEST),
        (b'"a string"', INVALID_REQUEST),
        (b'[{"jsonrpc":"2.0","id":5,"method":"runbridge/listSessions"}]', INVALID_REQUEST),
        (b"{}", INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"runbridge/listSessions"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":[1],"method":"runbridge/listSessions"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":true,"method":"runbridge/listSessions"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"runbridge/listSessions"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":null,"method":"runbridge/listSessions"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","method":5}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":"' + b"i" * 5000 + b'","method":"x"}', INVALID_REQUEST),
    ],
    ids=[
        "truncated-json", "not-utf8", "nan", "deep-nesting", "huge-int", "empty-array",
        "array", "number", "null", "string", "batch", "empty-object", "id-object",
        "id-array", "id-bool", "id-float", "id-null", "notification-method-number",
        "id-5000-chars",
    ],
)  # fmt: skip
async def test_what_is_not_a_request_gets_the_spec_answer_with_a_null_id(
    wire: StdioDaemon, body: bytes, code: int
) -> None:
    peer = wire.peer
    reply = await error_reply(peer, frame(body))
    assert reply["error"]["code"] == code, reply
    assert reply["id"] is None, reply
    assert_clean(reply)
    assert await peer.serves()
    no_message_box(peer)


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"1.0","id":5,"method":"runbridge/listSessions"}',
        b'{"id":5,"method":"runbridge/listSessions"}',
        b'{"jsonrpc":"2.0","id":5}',
    ],
    ids=["jsonrpc-1.0", "no-jsonrpc", "neither-method-nor-result"],
)
async def test_an_invalid_request_with_a_good_id_is_answered_by_id(
    wire: StdioDaemon, body: bytes
) -> None:
    reply = await error_reply(wire.peer, frame(body))
    assert reply["error"]["code"] == INVALID_REQUEST, reply
    assert reply["id"] == 5, reply
    assert_clean(reply)
    assert await wire.peer.serves()


@pytest.mark.parametrize("method", [5, None, {"m": 1}, ["runbridge/run"], True])
async def test_a_request_whose_method_is_not_a_string_is_refused_by_id(
    wire: StdioDaemon, method: Any
) -> None:
    peer = wire.peer
    message = {"jsonrpc": "2.0", "id": 4242, "method": method, "params": {}}
    reply = await error_reply(peer, frame(message))
    assert reply["id"] == 4242 and reply["error"]["code"] == INVALID_REQUEST, reply
    assert "method" in reply["error"]["message"]
    assert_clean(reply)
    assert await peer.serves()


@pytest.mark.parametrize("bad_id", [{"run": 1}, [7], True, 2.5])
async def test_a_run_with_a_bad_id_is_refused_before_it_runs(
    wire: StdioDaemon, tmp_path: Path, bad_id: Any
) -> None:
    peer = wire.peer
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('ran')"
    message = {
        "jsonrpc": "2.0",
        "id": bad_id,
        "method": "runbridge/run",
        "params": {"session": "wire-bad-id", "code": code},
    }
    reply = await error_reply(peer, frame(message))
    assert reply["id"] is None and reply["error"]["code"] == INVALID_REQUEST, reply
    assert_clean(reply)
    # a run after it, in the same session, is the first one the session ever saw
    result = await peer.request(
        "runbridge/run", {"session": "wire-bad-id", "code": "print(len(In))"}, timeout=60
    )
    assert result["result"]["status"] == "finished", result
    assert not marker.exists()


async def test_errors_quote_a_short_prefix_of_a_huge_name(wire: StdioDaemon) -> None:
    peer = wire.peer
    name = "n" * (50 << 20)
    for method, params in [
        ("runbridge/closeSession", {"name": name}),
        ("runbridge/interrupt", {"session": name}),
        (name, {}),  # an unknown method with a 50 MB name
    ]:
        message = {"jsonrpc": "2.0", "id": 99, "method": method, "params": params}
        reply = await error_reply(peer, frame(message), timeout=60)
        assert reply["id"] == 99, reply
        assert reply["error"]["code"] in (-32011, METHOD_NOT_FOUND), reply
        assert "nnnnnnnnnn" in reply["error"]["message"]  # a prefix, to recognise it
        assert_clean(reply)
    assert await peer.serves()
    # a log line's message is cut to 4000 characters (the line adds time, pid, logger)
    assert max(len(line) for line in wire.log().splitlines()) < 4200


async def test_a_duplicate_id_in_flight_is_refused_and_the_first_request_answers(
    wire: StdioDaemon,
) -> None:
    peer = wire.peer
    run = {
        "jsonrpc": "2.0",
        "id": "dup",
        "method": "runbridge/run",
        "params": {"session": "wire-dup", "code": "import time; time.sleep(1.5); print('one')"},
    }
    await peer.send(frame(run))
    await asyncio.sleep(0.3)
    second = {**run, "params": {"session": "wire-dup", "code": "print('two')"}}
    refused = await error_reply(peer, frame(second), timeout=60)
    assert refused["id"] == "dup" and refused["error"]["code"] == INVALID_REQUEST, refused
    assert "already" in refused["error"]["message"]
    first = await peer.reply_to(lambda m: m.get("id") == "dup" and "result" in m, 60)
    assert first["result"]["status"] == "finished"
    printed = [
        data
        for m in peer.seen
        if m.get("method") == "runbridge/output"
        and m["params"]["runId"] == first["result"]["runId"]
        for _, data in m["params"]["console"]
    ]
    assert printed == ["one\n"]


@pytest.mark.parametrize(
    "answer",
    [{"error": {"code": "x"}}, {"error": "no"}, {"error": {"message": 5, "code": 1}}],
    ids=["code-not-int", "error-not-object", "message-not-string"],
)
async def test_an_unreadable_answer_to_an_input_prompt_cancels_it(
    wire: StdioDaemon, answer: dict[str, Any]
) -> None:
    peer = wire.peer
    code = "try:\n    v = input('q? ')\nexcept KeyboardInterrupt:\n    v = 'cancelled'\nprint(v)"
    params = {"session": "wire-input", "code": code}
    await peer.send(
        frame({"jsonrpc": "2.0", "id": "ask", "method": "runbridge/run", "params": params})
    )
    asked = await peer.reply_to(lambda m: m.get("method") == "runbridge/input", 60)
    await peer.send(frame({"jsonrpc": "2.0", "id": asked["id"], **answer}))
    reply = await peer.reply_to(lambda m: m.get("id") == "ask" and "method" not in m, 60)
    run_id = reply["result"]["runId"]
    printed = "".join(
        data
        for m in peer.seen
        if m.get("method") == "runbridge/output" and m["params"]["runId"] == run_id
        for kind, data, *_ in m["params"]["console"]
        if kind == "stdout"
    )
    assert printed.endswith("cancelled\n"), printed
    no_message_box(peer)


async def test_bad_notifications_of_lsp_methods_show_no_message_box(wire: StdioDaemon) -> None:
    peer = wire.peer
    for message in [
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": {"x": 1}}},
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": 5},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 3}},
        {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": []},
    ]:
        await peer.send(frame(message))
    assert await peer.serves()
    no_message_box(peer)


# -- each daemon of its own -----------------------------------------------------------


async def test_initialize_with_bad_params_is_answered(tmp_path: Path) -> None:
    async with stdio_daemon(tmp_path / "home", initialize=False) as daemon:
        peer = daemon.peer
        reply = await peer.request("initialize", {"processId": "me", "capabilities": 5})
        assert reply["error"]["code"] == INVALID_PARAMS, reply
        assert "initialize" in reply["error"]["message"]
        assert_clean(reply)
        await peer.initialize()  # a good one after it works
        assert await peer.serves()


async def test_requests_after_shutdown_are_refused_not_ignored(tmp_path: Path) -> None:
    async with stdio_daemon(tmp_path / "home") as daemon:
        peer = daemon.peer
        assert "result" in await peer.request("shutdown")
        reply = await peer.request("runbridge/listSessions", {}, timeout=10)
        assert reply["error"]["code"] == INVALID_REQUEST, reply
        assert "shut" in reply["error"]["message"]
        await peer.send(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert await daemon.exited(10) == 0
