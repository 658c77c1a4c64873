"""What language features read: the call around a cursor, IPython's inspection text (as
ipykernel 6 sends it, colours included), ``complete_reply`` contents, the Backend.AI
completion options, and the request bookkeeping of a kernel that answers late."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runbridge.backends.backendai.completion import options_at
from runbridge.backends.kernel.replies import Replies
from runbridge.backends.kernel.requests import KernelRequests, completions_of
from runbridge.backends.kernel.transport import DictMessage
from runbridge.lsp import inspection
from runbridge.lsp.call_site import CallSite, call_at
from runbridge.model import CompletionMatch

#: ``add_things?`` from ipykernel 6 / IPython 8 (the default "neutral" colours).
INSPECTED = (
    "\x1b[31mSignature:\x1b[39m add_things(a, b=\x1b[32m1\x1b[39m, *rest, "
    "key=\x1b[38;5;28;01mNone\x1b[39;00m)\n"
    "\x1b[31mDocstring:\x1b[39m\nAdd things up.\n\nReturns the first one.\n"
    "\x1b[31mFile:\x1b[39m      /tmp/ipykernel_1/1.py\n"
    "\x1b[31mType:\x1b[39m      function"
)
VARIABLE = (
    "\x1b[31mType:\x1b[39m        int\n\x1b[31mString form:\x1b[39m 41\n"
    "\x1b[31mDocstring:\x1b[39m  \nint([x]) -> integer"
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("f(1, ", CallSite("f", 1, 1, None)),
        ("np.zeros((2, 3), dt", CallSite("np.zeros", 8, 1, None)),
        ("f('a,(', b", CallSite("f", 1, 1, None)),
        ("x = g(1, key=", CallSite("g", 5, 1, "key")),
        ("g(a == 1", CallSite("g", 1, 0, None)),
        ("f(a) + g(", CallSite("g", 8, 0, None)),
        ('s = """f("""; h(', CallSite("h", 15, 0, None)),
        ("g(\n    a,\n    b", CallSite("g", 1, 1, None)),
        ("(1, 2", None),  # no callee
        ("f('abc", None),  # in a string
        ("f(1) # g(", None),  # in a comment
        ("a[f(1)", None),  # the innermost bracket is not a call
        ("x.y().z(", None),  # the callee is a value's method
        ("if (", None),  # a keyword
    ],
)
def test_the_call_around_the_cursor(code: str, expected: CallSite | None) -> None:
    assert call_at(code, len(code)) == expected


def test_inspection_as_markdown_and_signature() -> None:
    text = inspection.markdown(INSPECTED)
    assert text == (
        "```python\nadd_things(a, b=1, *rest, key=None)\n```\n\n"
        "```text\nAdd things up.\n\nReturns the first one.\n```"
    )
    signature = inspection.signature(INSPECTED)
    assert signature is not None
    assert signature.label == "add_things(a, b=1, *rest, key=None)"
    assert signature.parameters == ["a", "b=1", "*rest", "key=None"]
    assert inspection.markdown(VARIABLE) == (
        "```python\n41  # int\n```\n\n```text\nint([x]) -> integer\n```"
    )
    assert inspection.markdown("\x1b[1mplain\x1b[0m text") == "```\nplain text\n```"


def test_active_parameter() -> None:
    params = inspection.parameters("f(a, b: int = 1, /, c=(1, 2), *args, d, **kw) -> None")
    assert params == ["a", "b: int = 1", "c=(1, 2)", "*args", "d", "**kw"]
    assert [inspection.active_parameter(params, n, None) for n in range(6)] == [0, 1, 2, 3, 3, 3]
    assert inspection.active_parameter(params, 1, "d") == 4
    assert inspection.active_parameter(params, 1, "other") == 5  # into **kw
    assert inspection.active_parameter(["x"], 3, None) is None


def test_complete_reply_contents() -> None:
    reply = {
        "status": "ok",
        "matches": ["path", "pardir", "path"],
        "cursor_start": 3,
        "cursor_end": 5,
        "metadata": {
            "_jupyter_types_experimental": [
                {"start": 3, "end": 5, "text": "path", "type": "module", "signature": ""},
                {"start": 3, "end": 5, "text": "pardir", "type": "<unknown>"},
            ]
        },
    }
    answer = completions_of(reply, 5)
    assert (answer.start, answer.end) == (3, 5)
    assert answer.matches == [CompletionMatch("path", "module"), CompletionMatch("pardir")]
    assert completions_of({"status": "error"}, 4).matches == []
    assert completions_of(None, 4).start == 4


def test_backendai_completion_options() -> None:
    assert options_at("import os\nx = os.pa + 1", 17) == {
        "row": 1, "col": 7, "line": "x = os.", "post": "pa + 1",
    }  # fmt: skip


class SlowKernel:
    """Answers nothing until told: the test feeds replies by hand."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_request(
        self, channel: str, msg_type: str, content: dict[str, Any], msg_id: str
    ) -> None:
        self.sent.append((channel, msg_id))

    # the rest of a transport, unused here
    async def send_execute(self, msg_id: str, content: dict[str, Any]) -> None: ...

    async def send_input_reply(self, value: str, request: Any) -> None: ...

    async def send_interrupt(self) -> None: ...

    async def is_alive(self) -> bool:
        return True

    def death_message(self) -> str:
        return ""


def reply(channel: str, parent: str, content: dict[str, Any]) -> DictMessage:
    return DictMessage(channel, "complete_reply", parent, {}, content)


async def test_a_late_reply_keeps_its_channel_free_of_others() -> None:
    kernel = SlowKernel()
    replies = Replies()
    requests = KernelRequests(kernel, replies)

    def feed(msg: DictMessage) -> bool:  # as the run core does
        return replies.resolve(msg) or requests.feed(msg)

    requests.idle_budget_s = requests.busy_budget_s = 0.01
    assert (await requests.complete("a", 1, busy=False)).matches == []
    assert len(kernel.sent) == 1
    # shell still works on it: the next one is not sent; control is still asked
    await requests.complete("a", 1, busy=False)
    await requests.complete("a", 1, busy=True)
    assert [channel for channel, _ in kernel.sent] == ["shell", "control"]
    # its reply comes: taken (not a run's), and shell is asked again
    assert feed(reply("shell", kernel.sent[0][1], {"status": "ok"}))
    requests.idle_budget_s = 1.0
    asking = asyncio.ensure_future(requests.complete("a", 1, busy=False))
    await asyncio.sleep(0.01)
    matches = {"status": "ok", "matches": ["ab"], "cursor_start": 0, "cursor_end": 1}
    assert feed(reply("shell", kernel.sent[-1][1], matches))
    assert (await asking).matches == [CompletionMatch("ab")]
    # IOPub status of a control request is never taken
    status = DictMessage("iopub", "status", kernel.sent[1][1], {}, {"execution_state": "idle"})
    assert not feed(status)
