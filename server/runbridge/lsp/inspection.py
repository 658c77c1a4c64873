"""A kernel's inspection (IPython's ``x?`` text) as Markdown and as a signature.

IPython's ``inspect_reply`` has only ``text/plain``, with ANSI colours, in sections
(``Signature:``, ``Docstring:``, ``Type:``, ...). :func:`sections` reads them;
:func:`markdown` shows the signature in a fenced ``python`` block, then the
docstring in a fenced ``text`` block (shown as written); :func:`parameters` splits a
signature's parameter list. Text in another shape (another kernel's) is shown whole,
in a plain fenced block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbridge.ansi import strip_ansi

#: IPython's section names (``IPython.core.oinspect``), signatures first.
SIGNATURES = ("Signature", "Init signature", "Call signature")
DOCSTRINGS = ("Docstring", "Init docstring", "Class docstring", "Call docstring")
_KNOWN = frozenset(
    (*SIGNATURES, *DOCSTRINGS, "Type", "String form", "File", "Length", "Source",
     "Namespace", "Subclasses", "Definition", "Repr", "Base Class", "Constructor Docstring",
     "Class Docstring", "Call def", "Init definition")
)  # fmt: skip
_HEADER = re.compile(r"^([A-Z][A-Za-z ]*):(?:[ \t]+|$)")
_NO_DOCSTRING = "<no docstring>"


def sections(text: str) -> dict[str, str]:
    """IPython's sections of ``text`` (ANSI removed), by name; {} when it has none."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in strip_ansi(text).splitlines():
        header = _HEADER.match(line)
        if header and header.group(1) in _KNOWN:
            current = found.setdefault(header.group(1), [])
            rest = line[header.end() :]
            if rest.strip():
                current.append(rest.strip())
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in found.items()}


def _fence(text: str, language: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language}\n{text}\n{fence}"


def signature_of(parts: dict[str, str]) -> str | None:
    for name in SIGNATURES:
        if parts.get(name):
            return parts[name]
    return None


def docstring_of(parts: dict[str, str]) -> str | None:
    for name in DOCSTRINGS:
        value = parts.get(name)
        if value and value.strip() != _NO_DOCSTRING:
            return value
    return None


def markdown(text: str) -> str:
    """The inspection ``text`` as Markdown: the signature (or the value of a variable,
    with its type) in a ``python`` block, then the docstring in a ``text`` block."""
    parts = sections(text)
    if not parts:
        return _fence(strip_ansi(text).strip())
    blocks: list[str] = []
    signature = signature_of(parts)
    if signature:
        blocks.append(_fence(signature, "python"))
    elif parts.get("String form"):
        kind = parts.get("Type")
        value = parts["String form"]
        shown = f"{value}  # {kind}" if kind and "\n" not in value else value
        blocks.append(_fence(shown, "python"))
    elif parts.get("Type"):
        blocks.append(_fence(parts["Type"], "python"))
    docstring = docstring_of(parts)
    if docstring:
        blocks.append(docstring_markdown(docstring))
    return "\n\n".join(blocks)


def docstring_markdown(docstring: str) -> str:
    """A docstring as Markdown: in a plain fenced block, so that it shows as written
    (reST and numpydoc underlines, ``*args``, indentation are not Markdown)."""
    return _fence(docstring, "text")


@dataclass(frozen=True)
class Signature:
    """A callable's signature: its label (``f(a, b=1)``) and each parameter as written."""

    label: str
    parameters: list[str]


def _split_top_level(text: str) -> list[str]:
    """``text`` split at its commas outside brackets and strings."""
    parts: list[str] = []
    depth, start, quote = 0, 0, ""
    for i, c in enumerate(text):
        if quote:
            if c == quote and text[i - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parameters(label: str) -> list[str]:
    """The parameters of a signature ``label`` (``/`` and a bare ``*`` left out)."""
    open_at = label.find("(")
    if open_at < 0:
        return []
    depth = 0
    for i in range(open_at, len(label)):
        if label[i] == "(":
            depth += 1
        elif label[i] == ")":
            depth -= 1
            if depth == 0:
                inner = label[open_at + 1 : i]
                return [p for p in _split_top_level(inner) if p not in ("/", "*")]
    return []


def signature(text: str) -> Signature | None:
    """The signature in an inspection ``text``, or None."""
    label = signature_of(sections(text))
    if not label:
        return None
    label = " ".join(label.split())
    return Signature(label, parameters(label))


def active_parameter(params: list[str], argument: int, keyword: str | None) -> int | None:
    """Which of ``params`` an argument fills: by name when given as ``keyword=``, else by
    position (a ``*args`` takes every position from its own on); None when none does."""
    names = [p.split(":")[0].split("=")[0].strip() for p in params]
    if keyword is not None:
        for i, name in enumerate(names):
            if name == keyword:
                return i
        for i, name in enumerate(names):
            if name.startswith("**"):
                return i
        return None
    for i, name in enumerate(names):
        if name.startswith("*"):
            return i if argument >= i and not name.startswith("**") else None
        if i == argument:
            return i
    return None
