"""A terminal on a Jupyter Server: ``POST /api/terminals`` + ``/terminals/websocket/<name>``.

The sequence (reference §1.6, §3):

1. ``POST /api/terminals`` with ``{"cwd": <folder>}`` makes a PTY named ``<name>``
   (jupyter_server_terminals ≥ 0.4 starts the shell there; older ones ignore it,
   and the shell then starts in the server's root folder);
2. the websocket ``/terminals/websocket/<name>`` (not under ``/api``) is opened
   and its first frame, ``["setup", {}]``, awaited;
3. ``["set_size", rows, cols, 0, 0]`` is sent at once;
4. ``["stdout", text]`` frames go to ``on_output`` (the server already decoded
   the PTY's bytes); the first ones replay the PTY's history, which for a fresh
   terminal is just the prompt;
5. ``["disconnect", 1]`` or the socket closing means the shell is gone: the PTY
   is deleted (it outlives the socket otherwise) and ``on_exit(None)`` is called.

``close()`` deletes the PTY (``DELETE /api/terminals/<name>``, which kills the
shell) and closes the socket. Frames to the server are JSON arrays
(``["stdin", text]``, ``["set_size", ...]``). After the setup, the socket is
pumped by :class:`~runbridge.backends.remote.websocket_terminal.WebSocketTerminal`
with :class:`JupyterTerminalFrames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
from typing import TYPE_CHECKING, Any, Literal

from websockets.exceptions import ConnectionClosed

from runbridge.backends.base import TerminalExit, TerminalOutput
from runbridge.backends.remote.websocket_terminal import Frame, WebSocketTerminal
from runbridge.errors import BackendError, Unsupported

if TYPE_CHECKING:
    from runbridge.backends.jupyter.client import JupyterClient

#: How long the server gets to send ``setup`` after the websocket opens.
SETUP_TIMEOUT_S = 30.0


def set_size_frame(rows: int, cols: int) -> str:
    return json.dumps(["set_size", rows, cols, 0, 0])


def stdin_frame(data: str) -> str:
    return json.dumps(["stdin", data])


def parse_frame(frame: str | bytes) -> tuple[str, Any] | None:
    """``(type, first argument)`` of one server frame, or None when it is not one."""
    try:
        message = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(message, list) or not message or not isinstance(message[0], str):
        return None
    return message[0], message[1] if len(message) > 1 else None


class JupyterTerminalFrames:
    """The frames of a Jupyter terminal websocket (a :class:`TerminalFrames`)."""

    def stdin(self, data: str) -> str:
        return stdin_frame(data)

    def resize(self, rows: int, cols: int) -> str:
        return set_size_frame(rows, cols)

    def read(self, frame: str | bytes) -> str | Literal[Frame.EXIT] | None:
        parsed = parse_frame(frame)
        if parsed is None:
            return None
        kind, payload = parsed
        if kind == "stdout" and isinstance(payload, str):
            return payload
        if kind == "disconnect":
            return Frame.EXIT
        return None


async def _await_setup(ws: Any) -> list[str]:
    """Read frames up to ``setup``; any output seen before it is returned (kept, not lost)."""
    early: list[str] = []
    while True:
        frame = await ws.recv()
        parsed = parse_frame(frame)
        if parsed is None:
            continue
        kind, payload = parsed
        if kind == "setup":
            return early
        if kind == "stdout" and isinstance(payload, str):
            early.append(payload)
        elif kind == "disconnect":
            raise BackendError("the terminal's shell exited as it started")


async def open_terminal(
    client: JupyterClient,
    cwd: str | None,
    rows: int,
    cols: int,
    on_output: TerminalOutput,
    on_exit: TerminalExit,
) -> WebSocketTerminal:
    """A shell on the server in ``cwd`` (a folder as the server sees it), sized rows × cols."""
    features = await client.features()
    if not getattr(features, "terminals_api", False):
        raise Unsupported(
            f"the server at {client.endpoint} has no terminals API "
            "(a Kernel Gateway, or terminals disabled): terminals are not available"
        )
    body: dict[str, Any] = {"cwd": cwd} if cwd else {}
    response = await client.request("POST", "/api/terminals", what="opening a terminal", json=body)
    name = _terminal_name(client, response)
    try:
        ws = await client.ws_connect(
            f"/terminals/websocket/{name}", what=f"connecting to terminal {name}"
        )
        try:
            early = await asyncio.wait_for(_await_setup(ws), SETUP_TIMEOUT_S)
        except BaseException:
            with contextlib.suppress(Exception):
                await ws.close()
            raise
    except TimeoutError as exc:
        await _delete_terminal(client, name)
        raise BackendError(
            f"terminal {name} on {client.endpoint} sent no setup within {SETUP_TIMEOUT_S:g} s"
        ) from exc
    except ConnectionClosed as exc:
        await _delete_terminal(client, name)
        raise BackendError(f"terminal {name} on {client.endpoint} closed as it opened") from exc
    except BaseException:
        await _delete_terminal(client, name)
        raise
    terminal = WebSocketTerminal(
        ws,
        JupyterTerminalFrames(),
        on_output,
        on_exit,
        label=f"Jupyter terminal {name}",
        on_end=functools.partial(_delete_terminal, client, name),
    )
    for text in early:
        on_output(text)
    terminal.start(rows, cols)
    return terminal


async def _delete_terminal(client: JupyterClient, name: str) -> None:
    """Delete the PTY, which kills its shell (one that already exited answers 404)."""
    with contextlib.suppress(Exception):
        await asyncio.shield(
            client.request(
                "DELETE", f"/api/terminals/{name}", what=f"closing terminal {name}", timeout=15.0
            )
        )


#: A terminal name as Jupyter Server gives them ("1", "2", ...); it goes into URL paths.
_TERMINAL_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _terminal_name(client: JupyterClient, response: Any) -> str:
    """The new terminal's name from the server's answer, checked before it is used."""
    try:
        body = response.json()
    except ValueError:
        body = None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not _TERMINAL_NAME.fullmatch(name) or name.strip(".") == "":
        raise BackendError(
            f"the server at {client.endpoint} answered the new terminal with no usable name "
            f"({client.quote(str(body), 80)}): terminals are not available there",
        )
    return name
