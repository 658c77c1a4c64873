"""Backend.AI drawings (``application/x-sorna-drawing``) rendered to SVG, once, in the daemon.

On Backend.AI a drawing record's data is base64 of a msgpack list of commands; on a
Jupyter kernel it is whatever the kernel displayed, usually the same list as JSON text.
Commands (one record may create and change a canvas; its last state is drawn)::

    [cid, "canvas", width, height, bg, fg]        [cid, "bgcolor", c]   [cid, "fgcolor", c]
    [cid, "obj", oid, ["line", x1, y1, x2, y2, color]]
    [cid, "obj", oid, ["circle", x, y, radius, border, fill, angle]]
    [cid, "obj", oid, ["rect" | "triangle", left, top, width, height, border, fill, angle]]
    [cid, "update", oid, prop, value]   (x, y, x1, y1, x2, y2, radius, angle, rotate, ...)

``stop-anim``, ``resume-anim``, ``begin-group``, ``end-group``, ``begin-fill`` and
``end-fill`` change nothing in a still picture. Colours are ``#rrggbbaa``; a value that
is not a hex colour never reaches the SVG (its default is used), and numbers are
written as JavaScript writes them, so the SVG is the one the editors drew before.

:func:`record` turns a drawing record into an ``image/svg+xml`` record, or, when its
data cannot be read, into a ``stderr`` record that says why and carries the data.
Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import struct
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

log = logging.getLogger(__name__)

KIND = "application/x-sorna-drawing"
SVG_KIND = "image/svg+xml"

#: Canvases side by side are this far apart.
_GAP = 8
#: Deeper nesting is not a drawing (and would only cost stack).
_MAX_DEPTH = 32
_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
_SHAPE_FIELDS = {
    "line": ("x1", "y1", "x2", "y2", "color"),
    "circle": ("x", "y", "radius", "border", "fill", "angle"),
    "rect": ("x", "y", "width", "height", "border", "fill", "angle"),
    "triangle": ("x", "y", "width", "height", "border", "fill", "angle"),
}


class DrawingError(ValueError):
    """The data is not a drawing; the message says why."""


# -- msgpack ---------------------------------------------------------------------------


class _Reader:
    """One msgpack value: the subset Backend.AI's ``encode_commands`` writes (no ext types)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DrawingError("truncated msgpack data")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(">" + fmt, self.take(struct.calcsize(fmt)))[0]

    def count(self, n: int) -> int:
        """An array or map length: each element takes at least one byte."""
        if n > len(self.data) - self.pos:
            raise DrawingError("truncated msgpack data")
        return n

    def text(self, n: int) -> str:
        return self.take(n).decode("utf-8", errors="replace")

    def read(self, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise DrawingError("msgpack data nested too deeply")
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if b & 0xF0 == 0x80:
            return self.map(b & 0x0F, depth)
        if b & 0xF0 == 0x90:
            return self.array(b & 0x0F, depth)
        if b & 0xE0 == 0xA0:
            return self.text(b & 0x1F)
        if b == 0xC0:
            return None
        if b in (0xC2, 0xC3):
            return b == 0xC3
        if b in (0xC4, 0xC5, 0xC6):
            return self.take(self.unpack("BHI"[b - 0xC4]))
        if b == 0xCA:
            return self.unpack("f")
        if b == 0xCB:
            return self.unpack("d")
        if 0xCC <= b <= 0xCF:
            return self.unpack("BHIQ"[b - 0xCC])
        if 0xD0 <= b <= 0xD3:
            return self.unpack("bhiq"[b - 0xD0])
        if 0xD9 <= b <= 0xDB:
            return self.text(self.unpack("BHI"[b - 0xD9]))
        if b in (0xDC, 0xDD):
            return self.array(self.unpack("HI"[b - 0xDC]), depth)
        if b in (0xDE, 0xDF):
            return self.map(self.unpack("HI"[b - 0xDE]), depth)
        raise DrawingError(f"unsupported msgpack type 0x{b:x}")

    def array(self, n: int, depth: int) -> list[Any]:
        return [self.read(depth + 1) for _ in range(self.count(n))]

    def map(self, n: int, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for _ in range(self.count(n)):
            key = self.read(depth + 1)
            out[key if isinstance(key, str) else str(key)] = self.read(depth + 1)
        return out


def decode_msgpack(data: bytes) -> Any:
    """The first msgpack value in ``data``; :class:`DrawingError` when it cannot be read."""
    return _Reader(data).read()


def parse(data: str) -> list[Any]:
    """The command list of a drawing record's data (JSON text or base64 of msgpack)."""
    trimmed = data.strip()
    if trimmed.startswith("["):
        try:
            commands = json.loads(trimmed)
        except (ValueError, RecursionError) as exc:
            raise DrawingError(f"its JSON is invalid ({exc})") from None
    elif _BASE64.fullmatch(trimmed):
        compact = "".join(trimmed.split())
        try:
            raw = base64.b64decode(compact + "=" * (-len(compact) % 4))
        except (binascii.Error, ValueError):
            raise DrawingError("its base64 is invalid") from None
        commands = decode_msgpack(raw)
    else:
        raise DrawingError("it is neither a JSON list nor base64 of msgpack")
    if not isinstance(commands, list):
        raise DrawingError(f"it holds a {_type_name(commands)}, not a list of commands")
    return commands


def _type_name(value: Any) -> str:
    names = {dict: "map", str: "string", bytes: "binary", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


# -- replay ----------------------------------------------------------------------------


@dataclass
class Shape:
    type: str
    props: dict[str, float | str]


@dataclass
class Canvas:
    width: float
    height: float
    bg: str
    fg: str
    #: By object id, in the order they were first drawn.
    objects: dict[float, Shape] = field(default_factory=dict)


def _num(value: Any, fallback: float = 0) -> float:
    """A finite number, else ``fallback`` (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fallback
    try:
        number = float(value)
    except OverflowError:  # an integer past a double's range
        return fallback
    return number if math.isfinite(number) else fallback


def _colour(value: Any, fallback: str) -> str:
    """A colour attribute value: only "#" and 3 to 8 hex digits get through."""
    return value if isinstance(value, str) and _COLOUR.fullmatch(value) else fallback


def _scalar(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def replay(commands: list[Any]) -> list[Canvas]:
    """Apply the commands; the canvases in the order they were created."""
    canvases: dict[float, Canvas] = {}
    for command in commands:
        if not isinstance(command, list) or len(command) < 2:
            continue
        cid, verb = _num(command[0], -1), command[1]
        args = [*command[2:6], None, None, None, None]  # what a verb leaves out is None
        if verb == "canvas":
            canvases[cid] = Canvas(
                width=max(1, _num(args[0], 100)),
                height=max(1, _num(args[1], 100)),
                bg=_colour(args[2], "#ffffffff"),
                fg=_colour(args[3], "#000000ff"),
            )
            continue
        canvas = canvases.get(cid)
        if canvas is None:
            continue
        if verb == "bgcolor":
            canvas.bg = _colour(args[0], canvas.bg)
        elif verb == "fgcolor":
            canvas.fg = _colour(args[0], canvas.fg)
        elif verb == "obj" and isinstance(args[1], list) and args[1]:
            kind, *values = args[1]
            fields = _SHAPE_FIELDS.get(kind) if isinstance(kind, str) else None
            if fields is None:
                continue
            props = {f: v for f, v in zip(fields, values, strict=False) if _scalar(v)}
            canvas.objects[_num(args[0], -1)] = Shape(kind, props)
        elif verb == "update":
            shape = canvas.objects.get(_num(args[0], -1))
            prop, value = args[1], args[2]
            if shape is None or not isinstance(prop, str) or not _scalar(value):
                continue
            if prop == "rotate":
                shape.props["angle"] = _num(shape.props.get("angle")) + _num(value)
            else:
                shape.props[prop] = value
    return list(canvases.values())


# -- SVG -------------------------------------------------------------------------------


def js_number(value: float) -> str:
    """``value`` as JavaScript's ``String(number)`` writes it (shortest round trip)."""
    if not math.isfinite(value):  # a sum of two huge sizes
        return "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity"
    if value == int(value) and abs(value) < 2**53:  # every such integer prints exactly
        return str(int(value))
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    assert isinstance(exponent, int)  # finite: _num lets nothing else through
    k, n = len(digits), len(digits) + exponent  # the decimal point is after n digits
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def _shape_svg(shape: Shape, fg: str) -> str:
    p, f = shape.props, js_number
    angle = _num(p.get("angle"))
    border = _colour(p.get("border"), fg)
    fill = _colour(p.get("fill"), "#00000000")
    if shape.type == "line":
        x1, y1, x2, y2 = (_num(p.get(k)) for k in ("x1", "y1", "x2", "y2"))
        stroke = _colour(p.get("color"), fg)
        return f'<line x1="{f(x1)}" y1="{f(y1)}" x2="{f(x2)}" y2="{f(y2)}" stroke="{stroke}"/>'
    x, y = _num(p.get("x")), _num(p.get("y"))
    rotate = f' transform="rotate({f(angle)} {f(x)} {f(y)})"' if angle else ""
    paint = f'stroke="{border}" fill="{fill}"{rotate}/>'
    if shape.type == "circle":
        r = max(0, _num(p.get("radius")))
        return f'<circle cx="{f(x)}" cy="{f(y)}" r="{f(r)}" {paint}'
    w, h = _num(p.get("width")), _num(p.get("height"))
    if shape.type == "rect":
        return f'<rect x="{f(x)}" y="{f(y)}" width="{f(max(0, w))}" height="{f(max(0, h))}" {paint}'
    # a triangle: apex at the top middle, base along the bottom edge of the box
    points = f"{f(x + w / 2)},{f(y)} {f(x + w)},{f(y + h)} {f(x)},{f(y + h)}"
    return f'<polygon points="{points}" {paint}'


def to_svg(data: str) -> str:
    """SVG text of a drawing record's data (several canvases side by side);
    :class:`DrawingError` when it is not a drawing."""
    canvases = replay(parse(data))
    if not canvases:
        raise DrawingError("it creates no canvas")
    f = js_number
    width = sum(c.width for c in canvases) + _GAP * (len(canvases) - 1)
    height = max(c.height for c in canvases)
    parts, offset = [], 0.0
    for c in canvases:
        shapes = "".join(_shape_svg(s, c.fg) for s in c.objects.values())
        parts.append(
            f'<g transform="translate({f(offset)} 0)">'
            f'<rect width="{f(c.width)}" height="{f(c.height)}" fill="{c.bg}"/>{shapes}</g>'
        )
        offset += c.width + _GAP
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{f(width)}" height="{f(height)}" '
        f'viewBox="0 0 {f(width)} {f(height)}">{"".join(parts)}</svg>'
    )


def record(data: str) -> tuple[str, str]:
    """A drawing record as the record editors get: ``image/svg+xml`` with its SVG, or,
    when it cannot be read, ``stderr`` text saying why, followed by its data."""
    try:
        return SVG_KIND, to_svg(data)
    except DrawingError as exc:
        why = str(exc)
    except Exception as exc:  # a bug here must cost the drawing, never the run's output
        log.exception("a drawing could not be drawn")
        why = f"runbridge failed to draw it ({type(exc).__name__}: {exc})"
    ending = "" if data.endswith("\n") else "\n"
    return (
        "stderr",
        f"[runbridge] a drawing ({KIND}) could not be read: {why}; its data:\n{data}{ending}",
    )
