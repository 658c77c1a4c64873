"""Jupyter MIME bundles to console records: one record per bundle, richest first."""

from __future__ import annotations

import json

import pytest

from runbridge import mime
from runbridge.model import Display

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
    "RU5ErkJggg=="
)


def test_png_becomes_a_data_uri_and_beats_plain_text() -> None:
    record = mime.record_from_bundle({"text/plain": "<Figure>", "image/png": PNG_B64})
    assert record == ("image/png", f"data:image/png;base64,{PNG_B64}")


def test_png_line_breaks_are_removed_and_existing_data_uris_kept() -> None:
    wrapped = PNG_B64[:20] + "\n" + PNG_B64[20:] + "\n"
    assert mime.record_from_bundle({"image/png": wrapped}) == (
        "image/png",
        f"data:image/png;base64,{PNG_B64}",
    )
    uri = f"data:image/png;base64,{PNG_B64}"
    assert mime.record_from_bundle({"image/png": uri}) == ("image/png", uri)


def test_jpeg_and_gif_are_data_uris() -> None:
    assert mime.record_from_bundle({"image/jpeg": "abcd"}) == (
        "image/jpeg",
        "data:image/jpeg;base64,abcd",
    )
    assert mime.record_from_bundle({"image/gif": "R0lG", "text/plain": "x"}) == (
        "image/gif",
        "data:image/gif;base64,R0lG",
    )


def test_svg_is_text_and_multiline_lists_are_joined() -> None:
    svg = ["<svg xmlns='http://www.w3.org/2000/svg'>\n", "<circle r='1'/>\n", "</svg>"]
    kind, data = mime.record_from_bundle({"image/svg+xml": svg, "text/plain": "<svg>"})
    assert kind == "image/svg+xml"
    assert data == "".join(svg)
    assert not data.startswith("data:")


def test_html_is_preferred_over_markdown_and_plain_text() -> None:
    bundle = {"text/plain": "df", "text/markdown": "**df**", "text/html": "<table></table>"}
    assert mime.record_from_bundle(bundle) == ("text/html", "<table></table>")
    assert mime.record_from_bundle({"text/markdown": "# t", "text/plain": "t"}) == (
        "text/markdown",
        "# t",
    )


def test_image_is_preferred_over_html() -> None:
    kind, _ = mime.record_from_bundle({"text/html": "<img>", "image/png": PNG_B64})
    assert kind == "image/png"


def test_json_is_serialised() -> None:
    value = {"a": [1, 2.5, None, True], "b": "ü"}
    kind, data = mime.record_from_bundle({"application/json": value, "text/plain": "{...}"})
    assert kind == "application/json"
    assert json.loads(data) == value


@pytest.mark.parametrize(
    ("plain", "expected"),
    [("42", "42\n"), ("already\n", "already\n"), (["a\n", "b"], "a\nb\n"), ("", "\n")],
)
def test_plain_text_falls_back_to_stdout_with_a_newline(plain: object, expected: str) -> None:
    assert mime.record_from_bundle({"text/plain": plain}) == ("stdout", expected)


def test_unknown_rich_type_falls_back_to_plain_text() -> None:
    bundle = {"application/vnd.custom+json": {"x": 1}, "text/plain": "Custom()"}
    assert mime.record_from_bundle(bundle) == ("stdout", "Custom()\n")


def test_empty_or_unknown_only_bundle_gives_none() -> None:
    assert mime.record_from_bundle({}) is None
    assert mime.record_from_bundle({"application/vnd.custom": "x"}) is None


def test_drawing_wins_and_objects_are_serialised() -> None:
    drawing = {"canvas": 1, "ops": [["line", 0, 0, 1, 1]]}
    kind, data = mime.record_from_bundle(
        {mime.DRAWING: drawing, "image/png": PNG_B64, "text/plain": "d"}
    )
    assert kind == mime.DRAWING
    assert json.loads(data) == drawing
    # an already-serialised drawing is passed through unchanged
    assert mime.record_from_bundle({mime.DRAWING: '{"canvas": 2}'}) == (
        mime.DRAWING,
        '{"canvas": 2}',
    )


@pytest.mark.parametrize("wait", [True, False])
def test_clear_record(wait: bool) -> None:
    kind, data = mime.clear_record(wait)
    assert kind == mime.CLEAR_OUTPUT
    assert json.loads(data) == {"wait": wait}


def test_display_ids_come_from_transient_and_updates_are_marked() -> None:
    shown = mime.display_of("display_data", {"data": {}, "transient": {"display_id": "abc"}})
    assert shown == Display("abc", update=False)
    updated = mime.display_of("update_display_data", {"transient": {"display_id": "abc"}})
    assert updated == Display("abc", update=True)
    assert updated.to_wire() == {"displayId": "abc", "update": True}
    assert shown.to_wire() == {"displayId": "abc"}
    for content in ({}, {"transient": {}}, {"transient": {"display_id": ""}}, {"transient": 3}):
        assert mime.display_of("display_data", content) is None
