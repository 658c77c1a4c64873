"""The call a cursor is in, read from the code before it (for signature help).

:func:`call_at` scans the code up to the cursor, skipping strings and comments,
finds the innermost open parenthesis, the callee written just before it (a dotted
name such as ``np.linalg.norm``), how many top-level commas follow it, and the
keyword being given (``key=``) if any. Python-like syntax; other languages whose
calls look the same work as well.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

_KEYWORD_ARGUMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")", "]", "}"}


@dataclass(frozen=True)
class CallSite:
    """``callee`` (a dotted name), the offset of its open parenthesis, the index of the
    argument at the cursor (top-level commas before it), and ``keyword`` when that
    argument is given by name."""

    callee: str
    paren: int
    argument: int
    keyword: str | None


@dataclass
class _Open:
    char: str
    at: int
    commas: int = 0
    last_comma: int = -1


def _string_end(code: str, i: int) -> int | None:
    """The offset after the string literal starting at ``code[i]`` (a quote); None when
    ``code`` ends inside it."""
    quote = code[i]
    triple = code.startswith(quote * 3, i)
    delimiter = quote * 3 if triple else quote
    j = i + len(delimiter)
    while j < len(code):
        c = code[j]
        if c == "\\":
            j += 2
            continue
        if not triple and c == "\n":
            return j  # an unterminated one-line string ends at its line
        if code.startswith(delimiter, j):
            return j + len(delimiter)
        j += 1
    return None


def _open_brackets(code: str) -> list[_Open] | None:
    """The brackets still open at the end of ``code``; None when the end is inside a
    string or a comment."""
    stack: list[_Open] = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c in "'\"":
            end = _string_end(code, i)
            if end is None:
                return None
            i = end
            continue
        if c == "#":
            newline = code.find("\n", i)
            if newline < 0:
                return None
            i = newline
        elif c in _OPENERS:
            stack.append(_Open(c, i))
        elif c in _CLOSERS:
            if stack and _OPENERS[stack[-1].char] == c:
                stack.pop()
        elif c == "," and stack:
            stack[-1].commas += 1
            stack[-1].last_comma = i
        i += 1
    return stack


def _callee_before(code: str, paren: int) -> str:
    j = paren
    while j > 0 and code[j - 1] in " \t":
        j -= 1
    end = j
    while j > 0 and (code[j - 1].isalnum() or code[j - 1] in "_."):
        j -= 1
    name = code[j:end]
    if name.startswith("."):  # a method of an expression's value: f().g(, x[0].g(
        return ""
    name = name.rstrip(".")
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        return ""
    return name


def call_at(code: str, cursor: int) -> CallSite | None:
    """The call whose parentheses hold ``cursor`` (a code-point offset into ``code``), or
    None (not in a call, in a string or a comment, or no name before the parenthesis)."""
    before = code[:cursor]
    stack = _open_brackets(before)
    if not stack:
        return None
    innermost = stack[-1]
    if innermost.char != "(":
        return None
    callee = _callee_before(before, innermost.at)
    if not callee:
        return None
    argument_start = max(innermost.at, innermost.last_comma) + 1
    named = _KEYWORD_ARGUMENT.match(before[argument_start:])
    return CallSite(callee, innermost.at, innermost.commas, named.group(1) if named else None)
