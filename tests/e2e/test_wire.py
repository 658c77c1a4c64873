"""What crosses the wire is plain JSON, kept exactly as sent."""

from __future__ import annotations

from tests.e2e.conftest import Daemon


async def test_params_keys_are_kept_verbatim(daemon: Daemon) -> None:
    # Keys that are not Python identifiers (or that pygls treats specially) must survive.
    env = {"MY-VAR": "dash", "type_name": "kept", "9LIVES": "digit"}
    info = await daemon.request("runbridge/openSession", {"name": "wire-env", "env": env})
    assert info["name"] == "wire-env"
    code = "import os; print(os.environ['MY-VAR'], os.environ['type_name'], os.environ['9LIVES'])"
    result = await daemon.run(code, session="wire-env")
    assert result["status"] == "finished", result
    assert daemon.text(result["runId"]) == "dash kept digit\n"


async def test_input_answer_with_unusual_text_is_delivered(daemon: Daemon) -> None:
    answer = 'a "quoted" {json} line – ünïcode'
    daemon.answer = lambda params: {"value": answer}
    result = await daemon.run("v = input('q? ')\nprint(repr(v))", session="wire-input")
    daemon.answer = lambda params: {"value": ""}
    assert result["status"] == "finished", result
    assert repr(answer) in daemon.text(result["runId"])


async def test_large_request_and_notification_keep_their_framing(daemon: Daemon) -> None:
    # A cell far larger than a pipe buffer (64 KB) must arrive whole, and so must its output.
    payload = "é" * 150_000 + "漢" * 50_000
    code = f"s = {payload!r}\nprint(len(s), s[:2], s[-2:])\nprint(s)"
    result = await daemon.run(code, session="wire-large")
    assert result["status"] == "finished", result
    first, second = daemon.text(result["runId"]).split("\n")[:2]
    assert first == "200000 éé 漢漢"
    assert second == payload
    # the connection still works afterwards
    again = await daemon.run("print('after')", session="wire-large")
    assert daemon.text(again["runId"]) == "after\n"
