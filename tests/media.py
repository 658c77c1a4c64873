"""Media made by the tests themselves."""

from __future__ import annotations

import struct
import zlib


def make_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid truecolour PNG of one colour, built by hand."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


#: Backend.AI's encode_commands of Canvas(100, 120) + line(20, 20, 50, 50)
#: (the known-answer vector of the shared Backend.AI reference) ...
DRAWING_VECTOR = "kpYApmNhbnZhc2R4qSNmZmZmZmZmZqkjMDAwMDAwZmaUAKNvYmoAlqRsaW5lFBQyMqkjMDAwMDAwZmY="
DRAWING_COMMANDS = [
    [0, "canvas", 100, 120, "#ffffffff", "#000000ff"],
    [0, "obj", 0, ["line", 20, 20, 50, 50, "#000000ff"]],
]
#: ... and the SVG the editors drew of it (and the daemon now sends).
DRAWING_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="120" viewBox="0 0 100 120">'
    '<g transform="translate(0 0)"><rect width="100" height="120" fill="#ffffffff"/>'
    '<line x1="20" y1="20" x2="50" y2="50" stroke="#000000ff"/></g></svg>'
)


def drawing_code(data: str) -> str:
    """Kernel code that displays ``data`` as an ``application/x-sorna-drawing`` bundle, as
    Backend.AI's drawing module does (no other representation)."""
    return (
        "from IPython.display import publish_display_data\n"
        f"publish_display_data({{'application/x-sorna-drawing': {data!r}}})\n"
    )
