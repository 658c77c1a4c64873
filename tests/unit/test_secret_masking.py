"""Secrets in server text, errors and log lines: masked before anything is cut.

A server that echoes the ``Authorization`` header (a proxy's error page, a debug
handler) puts the token in an error body at any offset; errors quote only a prefix
of that body, so a cut can fall inside the token. No 6-character run of a secret
may survive, wherever the cut falls.
"""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbridge import logs, redaction
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.profile import BackendAIProfile
from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.errors import http_error
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.config import Profile
from tests.leaks import leaked

TOKEN = "3f9c1e0b7a6d45e2b8c9d0a1f2e3d4c5b6a79880a1b2c3d4"


# -- the Jupyter error body -----------------------------------------------------------------


@pytest.mark.parametrize("kept", [6, 20, len(TOKEN) - 1])
def test_jupyter_text_body_cut_inside_the_token(kept: int) -> None:
    """The 300-character cut of a non-JSON body falls ``kept`` characters into the token."""
    head = "Authorization: token "
    body = ("e" * (300 - kept - len(head)) + head + TOKEN + " was refused").encode()
    error = http_error(
        500,
        body,
        where="the Jupyter server http://h",
        what="starting a kernel",
        token=TOKEN,
        token_source="token in the profile",
    )
    assert leaked(error.message, [TOKEN]) == [], error.message
    assert "HTTP 500" in error.message


@pytest.mark.parametrize("kept", [6, 30])
def test_jupyter_json_message_cut_inside_the_token(kept: int) -> None:
    head = "bad header token "
    message = "m" * (300 - kept - len(head)) + head + TOKEN
    error = http_error(
        403,
        json.dumps({"message": message}).encode(),
        where="the Jupyter server http://h",
        what="listing kernels",
        token=TOKEN,
        token_source="token in the profile",
    )
    assert leaked(error.message, [TOKEN]) == [], error.message
    assert "not authorised" in error.message


def test_jupyter_error_quotes_a_bounded_prefix() -> None:
    error = http_error(
        500,
        json.dumps({"message": "z" * 100_000}).encode(),
        where="the server",
        what="x",
        token=TOKEN,
        token_source="none",
    )
    assert len(error.message) < 500


# -- the log filter ----------------------------------------------------------------------------


def test_redact_masks_a_cut_secret() -> None:
    line = f"server said: {TOKEN[:20]}"  # a prefix of the token, cut by someone
    assert leaked(logs.redact(line, [TOKEN]), [TOKEN]) == []
    tail = f"{TOKEN[-9:]} and then"
    assert leaked(logs.redact(tail, [TOKEN]), [TOKEN]) == []


def _logged(logger_name: str, emit: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(logs.RedactFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        assert callable(emit)
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_redact_filter_masks_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RB_TEST_SECRET_TOKEN", TOKEN)

    def emit(logger: logging.Logger) -> None:
        try:
            raise RuntimeError(f"the server echoed {TOKEN[5:40]}")
        except RuntimeError:
            logger.exception("request failed")

    text = _logged("runbridge.test.traceback", emit)
    assert "RuntimeError" in text and "request failed" in text
    assert leaked(text, [TOKEN]) == [], text


@pytest.mark.parametrize("kind", ["jupyter", "backendai"])
async def test_redact_filter_knows_profile_secrets(kind: str) -> None:
    """A token or key given in a profile (not in the environment) is masked in log lines
    once the profile's client exists."""
    secret = f"pr0f1le{kind}SecretNotInTheEnvironment77"
    transport = httpx.MockTransport(lambda r: httpx.Response(500))
    client: JupyterClient | BackendAIClient
    if kind == "jupyter":
        settings = {"url": "http://h:1", "token": secret}
        profile = Profile(name="p", type=kind, settings=settings)
        client = JupyterClient(JupyterProfile.from_profile(profile, {}), transport=transport)
    else:
        settings = {"endpoint": "http://h:1", "access_key": "AKIAPROFILE", "secret_key": secret}
        profile = Profile(name="p", type=kind, settings=settings)
        client = BackendAIClient(BackendAIProfile.from_profile(profile, {}), transport=transport)

    def emit(logger: logging.Logger) -> None:
        logger.warning("a header came back: %s", secret[3:])

    text = _logged(f"runbridge.test.profile.{kind}", emit)
    assert "a header came back" in text
    assert leaked(text, [secret]) == [], text
    await client.aclose()


# -- the masking rule itself ---------------------------------------------------------------------

pieces = st.text(alphabet="abcdef0123*", min_size=0, max_size=12)


@given(
    secret=st.text(alphabet="abcdef0123*", min_size=4, max_size=40),
    parts=st.lists(st.tuples(pieces, st.integers(0, 40), st.integers(0, 40)), max_size=6),
)
def test_no_run_of_a_secret_survives(secret: str, parts: list[tuple[str, int, int]]) -> None:
    """Text made of noise and slices of the secret keeps no 6-run of it (nor a short
    secret whole), including where "***" could join what is left into a new run."""
    text = "".join(noise + secret[a:b] for noise, a, b in parts)
    masked = logs.redact(text, [secret])
    assert leaked(masked, [secret]) == [], (text, masked)


def test_quote_masks_then_cuts() -> None:
    """Wherever the cut falls, no 6-run is left; the cut text can be cut again."""
    text = "x" * 290 + TOKEN + " tail"
    for limit in range(280, 340):
        quoted = redaction.quote(text, [TOKEN], limit)
        assert len(quoted) <= limit
        assert leaked(quoted, [TOKEN]) == [], (limit, quoted)
    assert redaction.quote(text, [TOKEN], 1000).endswith("x***" + " tail")


def test_short_secrets_are_masked_whole_and_tiny_ones_not() -> None:
    assert redaction.mask("pin 12345 and 1234", ["12345"]) == "pin *** and 1234"
    assert redaction.mask("abc abc", ["abc"]) == "abc abc"  # shorter than 4: not a secret
    assert redaction.mask(f"{TOKEN[:5]}|{TOKEN[-5:]}", [TOKEN]) == f"{TOKEN[:5]}|{TOKEN[-5:]}"
    assert redaction.mask(f"<{TOKEN[:6]}|{TOKEN[-6:]}>", [TOKEN]) == "<***|***>"
