"""A kernel's user variables, without running anything the user sees.

Two ways, both answered by the kernel itself:

* **idle** (Python kernels): one silent ``execute_request`` (no history, no input,
  no ``Out``, no ``_``, execution count unchanged) whose ``user_expressions``
  evaluates :data:`EXPRESSION`. The expression runs :data:`SOURCE` in a private
  dictionary (no name is ever bound in the user namespace) and returns the variables
  as one JSON string: name, type, a short ``repr`` (:data:`REPR_CHARS` at most, built
  with :mod:`reprlib` so a long list is not printed whole first) and, where cheap,
  ``len()`` of sized builtins or the ``.shape`` of arrays and frames;
* **busy** (a run in progress): ipykernel's debugger ``inspectVariables`` (a
  ``debug_request`` on the control channel, answered by the control thread while the
  shell runs the user's code); pydevd gives name, type and repr, no size.

Both leave out names starting with ``_``, modules, functions and classes (as VS Code's
Jupyter variables view does by default: they are code, not data), and IPython's own
names.
"""

from __future__ import annotations

import ast
import itertools
import json
from typing import Any

from runbridge.backends.kernel.core import KernelCore
from runbridge.backends.kernel.transport import KernelTransport
from runbridge.errors import BackendError, Unsupported
from runbridge.model import Variable, Variables

#: Longest ``value`` (a repr) sent; longer ones end with an ellipsis.
REPR_CHARS = 200
#: Most variables returned (sorted by name); a namespace with more is cut (``truncated``).
MAX_VARIABLES = 5000

#: The kernel-side function, defined by :data:`EXPRESSION` in a dictionary of its own.
SOURCE = r"""
def variables(limit, width):
    import inspect, json, reprlib, types
    from IPython import get_ipython
    shell = get_ipython()
    ns = shell.user_ns
    hidden = shell.user_ns_hidden
    missing = object()
    own = {"In", "Out", "exit", "quit", "get_ipython"}
    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = width
    sized = (list, tuple, dict, set, frozenset, str, bytes, bytearray, range)
    names = sorted(
        name for name, value in list(ns.items())
        if isinstance(name, str) and not name.startswith("_")
        and not isinstance(value, (types.ModuleType, type))
        and not inspect.isroutine(value)
        and not (name in own or hidden.get(name, missing) is value)
    )
    found = []
    for name in names[:limit]:
        value = ns.get(name, missing)
        if value is missing:
            continue
        try:
            text = short.repr(value)
        except Exception as exc:
            text = "<repr failed: %s>" % type(exc).__name__
        if len(text) > width:
            text = text[: width - 1] + "\u2026"
        size = None
        try:
            if isinstance(value, sized):
                size = "len %d" % len(value)
            elif not isinstance(value, type):
                shape = getattr(value, "shape", None)
                if isinstance(shape, tuple) and all(type(n) is int for n in shape):
                    size = str(shape)
        except Exception:
            size = None
        found.append([name, type(value).__name__, text, size])
    return json.dumps({"variables": found, "truncated": len(names) > limit})
"""

#: The one expression evaluated in the user's namespace: it binds no name there.
EXPRESSION = (
    "(lambda rb: (exec(rb['src'], rb), rb['variables'](rb['limit'], rb['width']))[1])"
    f"({{'src': {SOURCE!r}, 'limit': {MAX_VARIABLES}, 'width': {REPR_CHARS}}})"
)
#: The key of :data:`EXPRESSION` in ``user_expressions``.
KEY = "runbridge_variables"


class VariablesError(Exception):
    """The kernel's answer was not the variables (the expression failed, a bad reply)."""


def from_user_expression(reply: dict[str, Any]) -> Variables:
    """The variables (and whether the list was cut) from the silent run's ``execute_reply``."""
    value = (reply.get("user_expressions") or {}).get(KEY)
    if not isinstance(value, dict) or value.get("status") != "ok":
        why = value.get("ename") if isinstance(value, dict) else None
        raise VariablesError(f"the kernel could not list its variables ({why or 'no reply'})")
    text = (value.get("data") or {}).get("text/plain")
    try:
        decoded = json.loads(ast.literal_eval(text)) if isinstance(text, str) else None
    except (ValueError, SyntaxError, TypeError) as exc:
        raise VariablesError(f"the kernel's variables could not be read: {exc}") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("variables"), list):
        raise VariablesError("the kernel's variables could not be read")
    variables = [
        Variable(str(name), str(kind), str(text), None if size is None else str(size))
        for name, kind, text, size in decoded["variables"]
    ]
    return Variables(variables, bool(decoded.get("truncated")))


def debug_request(seq: int) -> dict[str, Any]:
    """The ``debug_request`` content (a DAP request) asking for the user's variables."""
    return {"type": "request", "seq": seq, "command": "inspectVariables", "arguments": {}}


def from_debug_reply(content: dict[str, Any]) -> Variables:
    """The variables from an ``inspectVariables`` response (DAP), filtered as the idle way
    does; raises :class:`VariablesError` when the debugger said no.

    pydevd puts functions and classes in groups ("function variables", "class
    variables", "special variables": no type); expanding a group needs a started
    debugger, which cannot start during a run, so groups are left out."""
    body = content.get("body")
    if not content.get("success") or not isinstance(body, dict):
        why = content.get("message") or "no variables in its reply"
        raise VariablesError(f"the kernel's debugger could not list its variables ({why})")
    found: list[Variable] = []
    for item in body.get("variables") or []:
        if not isinstance(item, dict):
            continue
        name, kind = str(item.get("name", "")), str(item.get("type", ""))
        if not name or not kind or name.startswith("_") or kind == "module":
            continue
        if name in _IPYTHON_NAMES:
            continue
        found.append(Variable(name, kind, _short(str(item.get("value", ""))), None))
    found.sort(key=lambda v: v.name)
    return Variables(found[:MAX_VARIABLES], len(found) > MAX_VARIABLES)


_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})


def _short(text: str) -> str:
    return text if len(text) <= REPR_CHARS else text[: REPR_CHARS - 1] + "\u2026"


#: How long the silent run may take (other runs of the session wait behind it).
SILENT_TIMEOUT_S = 3.0
#: How long the debugger and ``kernel_info_request`` (control channel) may take.
CONTROL_TIMEOUT_S = 2.0


class VariableReader:
    """Lists the user variables of the kernel behind ``core``.

    Errors name the kernel (its kernelspec) and the session.
    """

    def __init__(self, core: KernelCore, transport: KernelTransport) -> None:
        self._core = core
        self._transport = transport
        #: Whether the kernel has a debugger (``supported_features``), once asked.
        self._debugger: bool | None = None

    async def has_debugger(self) -> bool:
        """``"debugger"`` in the kernel's ``supported_features`` (asked once, on control)."""
        if self._debugger is None:
            reply = await self._core.replies.request(
                self._transport, "control", "kernel_info_request", {}, CONTROL_TIMEOUT_S
            )
            if reply is None:
                return False  # asked again next time
            features = reply.get("supported_features")
            self._debugger = isinstance(features, list) and "debugger" in features
        return self._debugger

    async def read(self, language: str, busy: bool, kernel: str, session: str) -> Variables:
        """The variables: a silent run when the kernel is idle and speaks Python (the
        kernelspec's ``language``), else the debugger;
        :class:`~runbridge.errors.Unsupported` when neither can answer."""
        what = f"kernel {kernel!r} of session {session!r}"
        busy = busy or self._core.run is not None
        python = language.lower() == "python"
        if python and not busy:
            reply = await self._core.run_silent("", {KEY: EXPRESSION}, SILENT_TIMEOUT_S)
            if reply:
                try:
                    return from_user_expression(reply)
                except VariablesError as exc:
                    if not await self.has_debugger():
                        raise BackendError(f"{exc} ({what})", session=session) from None
            elif not await self.has_debugger():
                raise BackendError(
                    f"{what} did not list its variables within {SILENT_TIMEOUT_S:g} s "
                    "(another client's run may hold it)",
                    session=session,
                )
        if not await self.has_debugger():
            if python:
                raise Unsupported(
                    f"variables are not available for this kernel while a run is busy: "
                    f"{what} has no debugger (ipykernel 6 or later with debugpy has one)",
                    session=session,
                )
            raise Unsupported(
                f"variables are not available for this kernel: {what} "
                f"(language {language or 'unknown'}) is not Python and has no debugger",
                session=session,
            )
        content = await self._core.replies.request(
            self._transport,
            "control",
            "debug_request",
            debug_request(next(_SEQ)),
            CONTROL_TIMEOUT_S,
        )
        if content is None:
            raise BackendError(
                f"the debugger of {what} did not answer within {CONTROL_TIMEOUT_S:g} s",
                session=session,
            )
        try:
            return from_debug_reply(content)
        except VariablesError as exc:
            raise BackendError(f"{exc} ({what})", session=session) from None


#: DAP sequence numbers of this daemon's debug requests.
_SEQ = itertools.count(1)
