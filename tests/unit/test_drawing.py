"""Backend.AI drawings rendered to SVG by the daemon (``runbridge.drawing``)."""

from __future__ import annotations

import base64
import json
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbridge import drawing
from runbridge.drawing import DrawingError, decode_msgpack, js_number, replay, to_svg
from tests.media import DRAWING_COMMANDS, DRAWING_SVG, DRAWING_VECTOR


def test_the_msgpack_of_a_backendai_drawing_decodes_to_its_commands() -> None:
    assert decode_msgpack(base64.b64decode(DRAWING_VECTOR)) == DRAWING_COMMANDS


def test_msgpack_scalars_and_truncated_data() -> None:
    # [-1, -200, 1.5, "é", {"a": None}, True, False, 70000]
    data = bytes.fromhex("98 ff d1ff38 cb3ff8000000000000 a2c3a9 81a161c0 c3 c2 ce00011170")
    assert decode_msgpack(data) == [-1, -200, 1.5, "é", {"a": None}, True, False, 70000]
    with pytest.raises(DrawingError, match="truncated"):
        decode_msgpack(bytes([0x92, 0x01]))
    with pytest.raises(DrawingError, match="truncated"):  # a length claim past the data
        decode_msgpack(bytes([0xDD, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))
    with pytest.raises(DrawingError, match="unsupported msgpack type 0xc1"):
        decode_msgpack(bytes([0xC1]))
    with pytest.raises(DrawingError, match="nested too deeply"):
        decode_msgpack(bytes([0x91] * 10_000))


def test_the_vector_renders_as_an_svg_canvas_with_its_line() -> None:
    assert to_svg(DRAWING_VECTOR) == DRAWING_SVG
    # the same commands as JSON text (what a local kernel's display gives) draw the same
    assert to_svg(json.dumps(DRAWING_COMMANDS)) == DRAWING_SVG
    assert (
        to_svg(f"\n  {DRAWING_VECTOR[:40]}\n{DRAWING_VECTOR[40:]}  \n") == DRAWING_SVG
    )  # whitespace ignored
    assert drawing.record(DRAWING_VECTOR) == ("image/svg+xml", DRAWING_SVG)


def test_updates_move_recolour_and_rotate_objects_the_last_state_is_drawn() -> None:
    commands = [
        [1, "canvas", 200, 100, "#ffffffff", "#000000ff"],
        [1, "obj", 0, ["circle", 10, 10, 5, "#ff0000ff", "#00ff00ff", 0]],
        [1, "obj", 1, ["rect", 50, 20, 30, 40, "#000000ff", "#00000000", 0]],
        [1, "obj", 2, ["triangle", 100, 10, 40, 20, "#0000ffff", "#0000ffff", 0]],
        [1, "update", 0, "x", 60],
        [1, "update", 0, "fill", "#123456ff"],
        [1, "update", 1, "rotate", 15],
        [1, "update", 1, "rotate", 15],
        [1, "stop-anim"],
    ]
    (canvas,) = replay(commands)
    assert len(canvas.objects) == 3
    assert to_svg(json.dumps(commands)) == (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
        '<g transform="translate(0 0)"><rect width="200" height="100" fill="#ffffffff"/>'
        '<circle cx="60" cy="10" r="5" stroke="#ff0000ff" fill="#123456ff"/>'
        '<rect x="50" y="20" width="30" height="40" stroke="#000000ff" fill="#00000000" '
        'transform="rotate(30 50 20)"/>'
        '<polygon points="120,10 140,30 100,30" stroke="#0000ffff" fill="#0000ffff"/></g></svg>'
    )


def test_canvases_side_by_side_colours_defaults_and_fractions() -> None:
    commands = [
        [0, "canvas", 50, 40, "#fff", "#111111ff"],
        [3, "canvas", 30.5, 60],  # no colours given: white on black
        [0, "bgcolor", "#eeeeeeff"],
        [0, "fgcolor", "#222222ff"],
        [0, "obj", 7, ["line", 0, 0, 10, 10]],  # no colour: the canvas's foreground
        [3, "obj", 1, ["circle", 5, 5, -3, "#00ff00ff", "#00ff00ff", 45]],  # radius >= 0
        [3, "obj", 1, ["circle", 5, 5, 2.25, "#00ff00ff", "#00ff00ff", 45]],  # replaced
        [9, "obj", 1, ["rect", 0, 0, 1, 1]],  # no such canvas
        [0, "obj", 2, ["star", 1, 2, 3]],  # no such shape
        [0, "update", 99, "x", 1],  # no such object
        "junk",
        [0],
    ]
    assert to_svg(json.dumps(commands)) == (
        '<svg xmlns="http://www.w3.org/2000/svg" width="88.5" height="60" viewBox="0 0 88.5 60">'
        '<g transform="translate(0 0)"><rect width="50" height="40" fill="#eeeeeeff"/>'
        '<line x1="0" y1="0" x2="10" y2="10" stroke="#222222ff"/></g>'
        '<g transform="translate(58 0)"><rect width="30.5" height="60" fill="#ffffffff"/>'
        '<circle cx="5" cy="5" r="2.25" stroke="#00ff00ff" fill="#00ff00ff" '
        'transform="rotate(45 5 5)"/></g></svg>'
    )


def test_hostile_values_never_reach_the_svg_as_markup() -> None:
    commands = [
        [0, "canvas", 10, 10, '"/><script>alert(1)</script>', "#000000ff"],
        [0, "obj", 0, ["line", 0, 0, 5, 5, 'red" onload="alert(1)']],
        [0, "obj", 1, ["rect", "<b>", 1, 2, 3, "#fff\n", "#abc", '"']],
        [0, "update", 1, "fill", "#abc><x"],
    ]
    svg = to_svg(json.dumps(commands))
    assert "<script" not in svg and "onload" not in svg and "<b>" not in svg
    assert '<rect width="10" height="10" fill="#ffffffff"/>' in svg  # the default background
    assert '<rect x="0" y="1" width="2" height="3" stroke="#000000ff" fill="#00000000"/>' in svg


def test_numbers_are_written_as_javascript_writes_them() -> None:
    cases = [
        (0.0, "0"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (-2.25, "-2.25"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-5, "0.00001"),
        (1e-7, "1e-7"),
        (-1.5e-9, "-1.5e-9"),
        (2.0**60, "1152921504606847000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (123456789.125, "123456789.125"),
    ]
    assert [(value, js_number(value)) for value, _ in cases] == cases
    # big, infinite and non-numbers fall back to the default
    svg = to_svg(json.dumps([[0, "canvas", 10**400, True, "#fff", "#000"]]))
    assert 'width="100" height="100"' in svg
    assert 'width="100" height="100"' in to_svg('[[0, "canvas", 1e999, -Infinity]]')


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("not a drawing!", "neither a JSON list nor base64 of msgpack"),
        ("", "neither a JSON list nor base64 of msgpack"),
        ('{"a": 1}', "neither a JSON list nor base64 of msgpack"),
        ("[1, 2", "its JSON is invalid"),
        ("[]", "it creates no canvas"),
        ('[[0, "obj", 0, ["line", 1, 2, 3, 4]]]', "it creates no canvas"),
        (base64.b64encode(bytes([0xC1])).decode(), "unsupported msgpack type 0xc1"),
        (base64.b64encode(bytes([0x81, 0xA1, 0x61, 0x01])).decode(), "holds a map, not a list"),
        ("gqNjbWQ=", "truncated msgpack data"),
        ("[" * 100_000, "its JSON is invalid"),
    ],
)
def test_data_that_is_not_a_drawing_becomes_a_stderr_record_with_its_data(
    data: str, why: str
) -> None:
    with pytest.raises(DrawingError, match=why):
        to_svg(data)
    kind, text = drawing.record(data)
    assert kind == "stderr"
    assert text.startswith(
        "[runbridge] a drawing (application/x-sorna-drawing) could not be read: "
    )
    assert why in text
    assert text.endswith(f"; its data:\n{data}\n")


def test_sizes_past_a_double_are_written_as_javascript_writes_them() -> None:
    huge = 1.7e308
    svg = to_svg(json.dumps([[0, "canvas", huge, 10], [1, "canvas", huge, 10]]))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="Infinity" height="10"')
    assert js_number(float("-inf")) == "-Infinity" and js_number(float("nan")) == "NaN"


def test_a_failure_of_the_renderer_costs_the_drawing_not_the_output(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(commands: list[object]) -> list[drawing.Canvas]:
        raise TypeError("a bug")

    monkeypatch.setattr(drawing, "replay", broken)
    kind, text = drawing.record(DRAWING_VECTOR)
    assert kind == "stderr"
    assert "could not be read: runbridge failed to draw it (TypeError: a bug)" in text
    assert text.endswith(f"; its data:\n{DRAWING_VECTOR}\n")
    assert "a drawing could not be drawn" in caplog.text


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["#fff", "#12345678", "red", '"/><script>x</script>', "#abc\n", "x", "12"]),
    st.text(max_size=8),
)
_commands = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([0, 1, 2.5]), st.just("canvas"))
        .map(list)
        .flatmap(lambda c: st.lists(_values, max_size=5).map(lambda v: c + v)),
        st.tuples(
            st.sampled_from([0, 1, 2.5, "x"]),
            st.sampled_from(["bgcolor", "fgcolor", "stop-anim", "begin-fill", "update"]),
            st.lists(_values, max_size=4),
        ).map(lambda t: [t[0], t[1], *t[2]]),
        st.tuples(
            st.sampled_from([0, 1, 2.5]),
            st.integers(0, 3),
            st.sampled_from(["line", "circle", "rect", "triangle", "star", "toString"]),
            st.lists(_values, max_size=8),
        ).map(lambda t: [t[0], "obj", t[1], [t[2], *t[3]]]),
        st.tuples(
            st.sampled_from([0, 1]),
            st.integers(0, 3),
            st.sampled_from(["x", "y", "x1", "radius", "rotate", "fill", "border", "width"]),
            _values,
        ).map(lambda t: [t[0], "update", t[1], t[2], t[3]]),
        _values,
    ),
    max_size=20,
)


def assert_safe_svg_or_stderr_record(kind: str, text: str, data: str) -> None:
    if kind == "image/svg+xml":
        root = ElementTree.fromstring(text)  # well-formed XML
        names = {element.tag.split("}")[-1] for element in root.iter()}
        assert names <= {"svg", "g", "rect", "line", "circle", "polygon"}, names
        attributes = {name for element in root.iter() for name in element.attrib}
        allowed = {"xmlns", "width", "height", "viewBox", "transform", "fill", "stroke"}
        allowed |= {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "points"}
        assert attributes <= allowed, attributes
    else:
        assert kind == "stderr" and text.endswith(
            f"; its data:\n{data}" + "\n" * (not data.endswith("\n"))
        )


@settings(max_examples=300, deadline=None)
@given(_commands)
def test_any_command_list_gives_safe_svg_or_a_stderr_record(commands: list[object]) -> None:
    data = json.dumps(commands)
    assert_safe_svg_or_stderr_record(*drawing.record(data), data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_give_safe_svg_or_a_stderr_record(raw: bytes) -> None:
    data = base64.b64encode(bytes([0x92, 0x96, 0x00, 0xA6, *b"canvas"]) + raw).decode()
    assert_safe_svg_or_stderr_record(*drawing.record(data), data)
    data = base64.b64encode(raw).decode()
    assert_safe_svg_or_stderr_record(*drawing.record(data), data)
