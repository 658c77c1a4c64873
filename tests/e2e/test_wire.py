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
