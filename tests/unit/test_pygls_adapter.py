"""The pygls internals that runbridge.lsp.pygls_adapter relies on, checked against the
installed pygls: each member exists with the signature the adapter calls it with,
and does what the adapter relies on (exercised on a real pygls server). A pygls
upgrade that changes one fails here, naming it; the range in pyproject.toml is
the one these tests passed with."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import json
import re
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol

from runbridge.lsp.pygls_adapter import AdaptedProtocol, Unreadable

PYGLS = importlib.metadata.version("pygls")


def changed(member: str, how: str) -> str:
    return (
        f"pygls {PYGLS}: {member} changed ({how}). runbridge/lsp/pygls_adapter.py relies "
        "on it: adapt the adapter, then the pygls range in pyproject.toml"
    )


# -- the members, as the adapter calls them ------------------------------------------------

#: (class, member, the parameters the adapter passes, by name; "*" a variadic)
SIGNATURES: list[tuple[type, str, list[str]]] = [
    (JsonRPCProtocol, "structure_message", ["self", "data"]),
    (JsonRPCProtocol, "handle_message", ["self", "message"]),
    (JsonRPCProtocol, "get_message_type", ["self", "method"]),
    (JsonRPCProtocol, "get_result_type", ["self", "method"]),
    (JsonRPCProtocol, "_handle_request", ["self", "msg_id", "method_name", "params"]),
    (JsonRPCProtocol, "_send_response", ["self", "msg_id", "result", "error"]),
    (JsonRPCProtocol, "_send_handler_result", ["self", "future", "msg_id"]),
    (JsonRPCProtocol, "_send_data", ["self", "data"]),
    (LanguageServerProtocol, "__init__", ["self", "server", "converter"]),
    (LanguageServerProtocol, "lsp_initialize", ["self", "params"]),
    (LanguageServerProtocol, "lsp_exit", ["self", "*"]),
]


@pytest.mark.parametrize(("owner", "name", "params"), SIGNATURES, ids=lambda v: str(v))
def test_the_members_the_adapter_calls_have_their_signatures(
    owner: type, name: str, params: list[str]
) -> None:
    member = getattr(owner, name, None)
    assert callable(member), changed(f"{owner.__name__}.{name}", "it is gone")
    found = [
        "*" if p.kind is inspect.Parameter.VAR_POSITIONAL else p.name
        for p in inspect.signature(member).parameters.values()
    ]
    assert found == params, changed(f"{owner.__name__}.{name}", f"its parameters are {found}")
    if name == "_send_handler_result":  # the adapter passes msg_id by keyword
        kind = inspect.signature(member).parameters["msg_id"].kind
        assert kind is not inspect.Parameter.POSITIONAL_ONLY, changed(name, "msg_id positional")
    if name.startswith("lsp_"):  # pygls runs these as generators that yield handlers
        assert inspect.isgeneratorfunction(member), changed(name, "no longer a generator")


# -- a real pygls server with the adapter ----------------------------------------------------


class Writer:
    """pygls' writer: collects what is written."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True

    def messages(self) -> list[dict[str, Any]]:
        out, rest = [], bytes(self.data)
        while rest:
            head, _, rest = rest.partition(b"\r\n\r\n")
            match = re.search(rb"Content-Length: (\d+)", head)
            assert match is not None, f"a message without Content-Length: {head!r}"
            length = int(match.group(1))
            out.append(json.loads(rest[:length]))
            rest = rest[length:]
        return out


class InFlightProbe:
    def __init__(self) -> None:
        self.cancelled = 0
        self.finished = False

    def cancel(self) -> bool:
        self.cancelled += 1
        return True

    def done(self) -> bool:
        return self.finished


class Probe(AdaptedProtocol):
    raw_requests = frozenset({"probe/raw", "probe/ask"})
    raw_notifications = frozenset({"probe/note"})
    raw_responses = frozenset({"probe/ask"})

    def __init__(self, server: LanguageServer, converter: Any) -> None:
        super().__init__(server, converter)
        self.tidied: list[types.ResponseError] = []
        self.taken: dict[Any, InFlightProbe] = {}
        self.seen_msg_id: list[Any] = []
        self.initialize_params: list[types.InitializeParams] = []
        self.keep_process = False
        self.exited = 0
        self.documents: list[tuple[str, str]] = []

    def tidy_error(self, error: types.ResponseError) -> None:
        self.tidied.append(types.ResponseError(error.code, error.message, error.data))
        error.message = "tidied"
        error.data = None

    def take_request(self, msg_id: Any, method: str, params: Any) -> InFlightProbe | None:
        if method != "probe/early":
            return None
        inflight = self.taken[msg_id] = InFlightProbe()
        self.seen_msg_id.append(self.msg_id)
        return inflight

    def before_initialize(self, params: types.InitializeParams) -> None:
        self.initialize_params.append(params)

    def experimental_capabilities(self) -> Any:
        return {"probe": {"answer": 42}}

    def exit_ends_process(self) -> bool:
        return not self.keep_process

    def connection_exited(self) -> None:
        self.exited += 1

    def document_opened(self, params: types.DidOpenTextDocumentParams) -> None:
        self.documents.append(("open", params.text_document.uri))

    def document_changed(self, params: types.DidChangeTextDocumentParams) -> None:
        self.documents.append(("change", params.text_document.uri))

    def document_closed(self, params: types.DidCloseTextDocumentParams) -> None:
        self.documents.append(("close", params.text_document.uri))


class Rig:
    def __init__(self) -> None:
        self.server = LanguageServer("probe", "1", protocol_cls=Probe)
        proto = self.server.protocol
        assert isinstance(proto, Probe)
        self.proto = proto
        self.writer = Writer()
        proto.set_writer(self.writer)
        self.notes: list[Any] = []
        self.release = asyncio.Event()
        self.user_exits = 0

        @self.server.feature("probe/raw")
        async def raw(ls: LanguageServer, params: Any) -> Any:
            return {"got": params}

        @self.server.feature("probe/plain")  # not raw: pygls' own message type
        async def plain(ls: LanguageServer, params: Any) -> Any:
            return {"params were None": params is None}

        @self.server.feature("probe/slow")
        async def slow(ls: LanguageServer, params: Any) -> Any:
            await self.release.wait()
            return "slow done"

        @self.server.feature("probe/boom")
        async def boom(ls: LanguageServer, params: Any) -> Any:
            raise RuntimeError("the handler broke")

        @self.server.feature("probe/note")
        def note(ls: LanguageServer, params: Any) -> None:
            self.notes.append(params)

        @self.server.feature(types.EXIT)
        def on_exit(ls: LanguageServer, *args: Any) -> None:
            self.user_exits += 1

    def request(self, msg_id: Any, method: str, params: Any = None, **extra: Any) -> None:
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, **extra}
        if params is not None:
            message["params"] = params
        self.proto.deliver(message)

    def notify(self, method: str, params: Any) -> None:
        self.proto.deliver({"jsonrpc": "2.0", "method": method, "params": params})

    async def reply(self, msg_id: Any) -> dict[str, Any]:
        for _ in range(200):
            for message in self.writer.messages():
                if message.get("id") == msg_id and "method" not in message:
                    return message
            await asyncio.sleep(0.01)
        raise AssertionError(f"no reply to {msg_id!r}: {self.writer.messages()}")


async def test_the_protocol_is_made_with_its_server() -> None:
    rig = Rig()
    assert rig.proto.language_server is rig.server, changed(
        "LanguageServer(protocol_cls=...)", "the protocol is not made with (server, converter)"
    )


async def test_a_request_message_reaches_its_handler_with_params_verbatim() -> None:
    rig = Rig()
    params = {"MY-VAR": 1, "type_name": "kept", "nested": {"a-b": [1, {"c d": None}]}}
    rig.request(1, "probe/raw", params)
    reply = await rig.reply(1)
    assert reply.get("result") == {"got": params}, changed(
        "structure_message / get_message_type", f"a raw request's params arrive as {reply}"
    )


async def test_a_notification_reaches_its_handler_with_params_verbatim() -> None:
    rig = Rig()
    rig.notify("probe/note", {"MY-VAR": [1], "type_name": "kept"})
    await asyncio.sleep(0)
    assert rig.notes == [{"MY-VAR": [1], "type_name": "kept"}], changed(
        "structure_message / get_message_type", f"a raw notification's params are {rig.notes}"
    )


async def test_a_request_without_params_is_handled_with_none() -> None:
    rig = Rig()
    rig.request(2, "probe/plain")  # pygls' own type needs params: without them, no answer
    reply = await rig.reply(2)
    assert reply.get("result") == {"params were None": True}, changed(
        "structure_message", f"a request without params got {reply}"
    )


async def test_params_that_do_not_fit_raise_unreadable_with_the_reason() -> None:
    rig = Rig()
    with pytest.raises(Unreadable) as raised:
        rig.request(3, "initialize", {"capabilities": 5, "processId": "not a number"})
    cause = raised.value.__cause__
    assert cause is not None and "JsonRpc" not in type(cause).__name__, changed(
        "structure_message", f"its failure's cause is {cause!r}"
    )
    await asyncio.sleep(0.05)
    assert rig.writer.messages() == [], "nothing is answered for a message pygls cannot read"


async def test_our_request_and_its_answer_keep_their_json_verbatim() -> None:
    rig = Rig()
    asked = asyncio.ensure_future(
        rig.proto.send_request_async("probe/ask", {"x-y": 1, "type_name": "t"}, msg_id="q1")
    )
    await asyncio.sleep(0)
    sent = rig.writer.messages()[-1]
    assert sent["params"] == {"x-y": 1, "type_name": "t"}, changed("get_message_type", f"{sent}")
    assert rig.proto.id_in_use("q1"), changed("_request_futures", "our request is not in it")
    rig.proto.deliver({"jsonrpc": "2.0", "id": "q1", "result": {"value-x": "a", "type_name": 1}})
    assert await asyncio.wait_for(asked, 2) == {"value-x": "a", "type_name": 1}, changed(
        "get_result_type", "a raw answer is not plain JSON"
    )
    assert not rig.proto.id_in_use("q1"), changed("_request_futures", "answered, still in it")


async def test_id_in_use_while_a_request_is_handled() -> None:
    rig = Rig()
    rig.request(7, "probe/slow", {})
    assert rig.proto.id_in_use(7), changed("_request_futures", "a running request is not in it")
    rig.release.set()
    assert (await rig.reply(7)).get("result") == "slow done"
    assert not rig.proto.id_in_use(7), changed("_request_futures", "answered, still in it")


async def test_fail_request_ends_a_request_of_ours_that_waits() -> None:
    rig = Rig()
    asked = asyncio.ensure_future(rig.proto.send_request_async("probe/ask", {}, msg_id="q2"))
    await asyncio.sleep(0)
    assert rig.proto.fail_request("q2", ConnectionError("gone")), changed(
        "_request_futures", "our waiting request is not in it"
    )
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(asked, 2)
    assert not rig.proto.id_in_use("q2")
    assert not rig.proto.fail_request("q2", ConnectionError("again"))
    # a late answer to it is dropped by pygls, not an error
    rig.proto.deliver({"jsonrpc": "2.0", "id": "q2", "result": {}})


async def test_shutdown_sets_the_flag_pygls_drops_messages_by() -> None:
    rig = Rig()
    assert not rig.proto.shutting_down
    rig.request(10, "shutdown")
    assert "result" in await rig.reply(10)
    assert rig.proto.shutting_down, changed("_shutdown", "not set by shutdown")
    rig.request(11, "probe/raw", {})
    await asyncio.sleep(0.05)
    assert [m for m in rig.writer.messages() if m.get("id") == 11] == [], changed(
        "handle_message", "it no longer drops requests after shutdown (the flag may differ)"
    )


async def test_a_taken_request_is_cancellable_and_answered_through_pygls() -> None:
    rig = Rig()
    rig.request(20, "probe/early", {})
    assert rig.proto.seen_msg_id == [20], changed("_ctx_msg_id", "msg_id not set for the hook")
    assert rig.proto.id_in_use(20), changed("_request_futures", "a taken request is not in it")
    rig.notify("$/cancelRequest", {"id": 20})
    assert rig.proto.taken[20].cancelled == 1, changed(
        "_handle_cancel_notification", "$/cancelRequest does not reach the taken request"
    )
    cancelled: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    cancelled.cancel()
    rig.proto.answer(20, cancelled)
    reply = await rig.reply(20)
    assert reply.get("error", {}).get("code") == -32800, changed("_send_handler_result", f"{reply}")

    rig.request(21, "probe/early", {})
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    done.set_result({"runId": "r"})
    rig.proto.answer(21, done)
    assert (await rig.reply(21)).get("result") == {"runId": "r"}
    assert not rig.proto.id_in_use(21), changed("_send_handler_result", "the id stays in use")

    rig.request(22, "probe/early", {})
    rig.proto.forget_request(22)
    assert not rig.proto.id_in_use(22), changed("_request_futures", "forget leaves the id")


async def test_shutdown_cancels_taken_requests_that_are_not_done() -> None:
    rig = Rig()
    rig.request(30, "probe/early", {})
    rig.request(31, "probe/early", {})
    rig.proto.taken[31].finished = True
    rig.request(32, "shutdown")
    assert "result" in await rig.reply(32), "shutdown with a taken request in flight answers"
    assert rig.proto.taken[30].cancelled == 1, changed(
        "lsp_shutdown", "taken request not cancelled"
    )
    assert rig.proto.taken[31].cancelled == 0, changed("lsp_shutdown", "a done one is cancelled")


async def test_every_error_reply_passes_tidy_error_first() -> None:
    rig = Rig()
    rig.request(40, "probe/boom", {})
    reply = await rig.reply(40)
    assert reply.get("error", {}).get("message") == "tidied", changed("_send_response", f"{reply}")
    error = rig.proto.tidied[-1]
    assert error.code == -32603 and isinstance(error.data, dict), changed(
        "JsonRpcInternalError", f"a failing handler's error is {error}"
    )
    assert "traceback" in error.data, changed(
        "JsonRpcInternalError.of", "its traceback is no longer in data['traceback']"
    )
    rig.request(41, "probe/unknown", {})
    assert (await rig.reply(41)).get("error", {}).get("message") == "tidied", changed(
        "_handle_request", "the unknown-method error does not pass _send_response"
    )


async def test_write_framed_and_send_object() -> None:
    rig = Rig()
    assert rig.proto.write_framed('{"jsonrpc":"2.0","method":"x","params":{"é":1}}')
    body = '{"jsonrpc":"2.0","method":"x","params":{"é":1}}'.encode()
    assert bytes(rig.writer.data) == b"Content-Length: %d\r\n\r\n%b" % (len(body), body)

    bare = Writer()
    rig.proto.set_writer(bare, include_headers=False)
    assert not rig.proto.write_framed("{}"), changed("_include_headers", "not what set_writer set")
    rig.proto.send_json('{"jsonrpc": "2.0", "id": 1, "result": {"a-b": 1}}')
    assert json.loads(bare.data) == {"jsonrpc": "2.0", "id": 1, "result": {"a-b": 1}}, changed(
        "_send_data", f"it wrote {bytes(bare.data)!r}"
    )


async def test_initialize_passes_its_params_and_answers_the_capabilities() -> None:
    rig = Rig()
    rig.request(50, "initialize", {"capabilities": {}, "initializationOptions": {"k-v": 1}})
    reply = await rig.reply(50)
    assert [p.initialization_options for p in rig.proto.initialize_params] == [{"k-v": 1}]
    capabilities = reply.get("result", {}).get("capabilities", {})
    assert capabilities.get("experimental") == {"probe": {"answer": 42}}, changed(
        "lsp_initialize", f"it answered {reply}"
    )
    assert reply["result"].get("serverInfo") == {"name": "probe", "version": "1"}


async def test_exit_kept_runs_the_user_handler_and_not_sys_exit() -> None:
    rig = Rig()
    rig.proto.keep_process = True
    rig.notify("exit", None)
    await asyncio.sleep(0)
    assert (rig.user_exits, rig.proto.exited, rig.writer.closed) == (1, 1, False), changed(
        "lsp_exit", "the user handler or the hook was not run, or the writer was closed"
    )


@pytest.mark.parametrize(("shut_down", "code"), [(False, 1), (True, 0)])
async def test_exit_in_pygls_way_closes_the_writer_and_exits(shut_down: bool, code: int) -> None:
    rig = Rig()
    if shut_down:
        rig.request(60, "shutdown")
        await rig.reply(60)
    with pytest.raises(SystemExit) as exited:
        rig.notify("exit", None)
    assert (exited.value.code, rig.writer.closed, rig.user_exits) == (code, True, 1), changed(
        "lsp_exit", f"exit code {exited.value.code}, writer closed {rig.writer.closed}"
    )


async def test_document_sync_goes_to_the_hooks_not_to_the_workspace() -> None:
    rig = Rig()
    user: list[str] = []

    @rig.server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        user.append(params.text_document.uri)

    uri = "file:///probe.py"
    item = {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}
    rig.notify(types.TEXT_DOCUMENT_DID_OPEN, {"textDocument": item})
    change = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}}
    rig.notify(
        types.TEXT_DOCUMENT_DID_CHANGE,
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{**change, "text": "y"}]},
    )
    rig.notify(types.TEXT_DOCUMENT_DID_CLOSE, {"textDocument": {"uri": uri}})
    await asyncio.sleep(0.01)
    assert rig.proto.documents == [("open", uri), ("change", uri), ("close", uri)], changed(
        "LanguageServerProtocol.lsp_text_document__did_open/change/close",
        f"the document hooks saw {rig.proto.documents}",
    )
    assert user == [uri], changed("the user's didChange feature", f"it saw {user}")
