"""A connection's diagnostics from its runs: ``textDocument/publishDiagnostics``.

A run that carries ``uri`` and ``range`` and ends with an exception puts an ERROR
diagnostic on the document's line where the exception was raised (see
:mod:`runbridge.lsp.error_location`), the sent code's lines mapped back through the
range. Each document keeps the diagnostics of several runs (on different lines); a
run clears those on the lines it covers when it starts, and again when it ends (of
the runs started before it, such as one queued ahead of it). Each change publishes
the document's whole list (empty when none is left).

The diagnostics are kept per connection and sent only to it: an editor sees those of
the runs it started.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types

from runbridge.lsp.error_location import ErrorLocation, locate_error
from runbridge.model import RunResult
from runbridge.protocol import RunOrigin

#: ``diagnostic.source`` of every diagnostic sent.
SOURCE = "runbridge"

Publish = Callable[[str, list[types.Diagnostic]], None]


@dataclass(frozen=True)
class RunMark:
    """A run that started with an origin: what its end needs."""

    origin: RunOrigin
    #: Runs are numbered in the order they started.
    number: int


@dataclass(frozen=True)
class _Entry:
    number: int
    diagnostic: types.Diagnostic

    @property
    def line(self) -> int:
        return self.diagnostic.range.start.line


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the connection's position encoding."""
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def diagnostic_at(
    origin: RunOrigin, code: str, where: ErrorLocation, encoding: str
) -> types.Diagnostic | None:
    """The diagnostic of an error at ``where`` in ``code``, sent from ``origin``; None when
    that line is past the range."""
    line = origin.start.line + where.line
    if line > origin.last_line:
        return None
    text = code.split("\n")[where.line]
    offset = origin.start.character if where.line == 0 else 0
    start = offset + units(text[: where.start], encoding)
    end = offset + units(text[: where.end], encoding)
    return types.Diagnostic(
        range=types.Range(types.Position(line, start), types.Position(line, end)),
        message=where.message,
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
    )


class RunDiagnostics:
    """The diagnostics of one connection's runs, per document uri."""

    def __init__(self, publish: Publish, encoding: Callable[[], str]) -> None:
        self._publish = publish
        self._encoding = encoding
        self._documents: dict[str, list[_Entry]] = {}
        self._numbers = itertools.count(1)

    def get(self, uri: str) -> list[types.Diagnostic]:
        return [entry.diagnostic for entry in self._documents.get(uri, [])]

    def run_started(self, origin: RunOrigin | None) -> RunMark | None:
        """A run was accepted: the diagnostics on its lines go."""
        if origin is None:
            return None
        mark = RunMark(origin, next(self._numbers))
        if self._clear(origin, mark.number):
            self._send(origin.uri)
        return mark

    def run_ended(self, mark: RunMark | None, code: str, result: RunResult) -> None:
        """A run ended: older runs' diagnostics on its lines go, its own error comes."""
        if mark is None:
            return
        origin = mark.origin
        changed = self._clear(origin, mark.number)
        error = result.outcome.error
        where = locate_error(error, code) if error is not None else None
        diagnostic = None
        if where is not None:
            diagnostic = diagnostic_at(origin, code, where, self._encoding())
        if diagnostic is not None:
            self._documents.setdefault(origin.uri, []).append(_Entry(mark.number, diagnostic))
            changed = True
        if changed:
            self._send(origin.uri)

    def _clear(self, origin: RunOrigin, before: int) -> bool:
        """Drop the diagnostics on the origin's lines of runs numbered below ``before``."""
        entries = self._documents.get(origin.uri, [])
        first, last = origin.start.line, origin.last_line
        kept = [e for e in entries if not (first <= e.line <= last and e.number < before)]
        if len(kept) == len(entries):
            return False
        self._documents[origin.uri] = kept
        return True

    def _send(self, uri: str) -> None:
        diagnostics = self.get(uri)
        if not diagnostics:
            self._documents.pop(uri, None)
        self._publish(uri, diagnostics)
