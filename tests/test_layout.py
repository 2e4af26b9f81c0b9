"""Reading order: column by column, blocks, and the text a person can read; on boxes and on a
generated two-column page read by the real engine."""

from __future__ import annotations

import json
from pathlib import Path

import pages
from pipeline.cli import main
from pipeline.core.types import ImageRef
from pipeline.errors import ExitCode
from pipeline.ocr.engine import Recognized
from pipeline.ocr.layout import reading_order
from pipeline.ocr.records import ok_record


def _box(x0: int, y0: int, x1: int, y1: int) -> list[list[int]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _line(x: int, y: int, width: int = 400, height: int = 20) -> list[list[int]]:
    return _box(x, y, x + width, y + height)


def test_columns_at_the_same_heights_are_read_one_after_the_other() -> None:
    title = _line(0, 0, width=900)
    left = [_line(0, 50 + 25 * k) for k in range(4)]
    right = [_line(500, 50 + 25 * k) for k in range(4)]
    boxes = [title] + [box for pair in zip(left, right) for box in pair]  # top-to-bottom order
    order = reading_order(boxes)
    assert [i for i, _ in order] == [0, 1, 3, 5, 7, 2, 4, 6, 8]
    assert [block for _, block in order] == [0, 1, 1, 1, 1, 2, 2, 2, 2]


def test_a_wide_gap_or_a_larger_font_starts_a_block() -> None:
    heading = _line(0, 0, height=40)
    body = [_line(0, 45), _line(0, 70), _line(0, 130), _line(0, 155)]  # a paragraph gap after the 2nd
    assert reading_order([heading, *body]) == [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2)]


def test_pieces_of_one_line_and_lines_far_apart_sideways_keep_their_order() -> None:
    pieces = [_box(300, 2, 500, 22), _box(0, 0, 250, 20)]  # one text line cut in two, right piece first
    assert [i for i, _ in reading_order(pieces)] == [1, 0]
    # A short right-hand line above a short left-hand one is not two columns: top first.
    assert [i for i, _ in reading_order([_line(0, 60, width=100), _line(600, 0, width=100)])] == [1, 0]
    assert reading_order([]) == []


def test_record_text_joins_lines_with_newlines_and_blocks_with_a_blank_line() -> None:
    boxes = [_line(0, 0), _line(500, 0), _line(0, 25), _line(500, 25)]
    lines = [Recognized(t, 0.9) for t in ("a1", "b1", "a2", "b2")]
    image = ImageRef(0, "/in/p.png", "p.png")
    record = ok_record(image, boxes, lines, 0.0, in_reading_order=True)
    assert record["text"] == "a1\na2\n\nb1\nb2"
    assert [(line["text"], line["block"]) for line in record["lines"]] == [("a1", 0), ("a2", 0), ("b1", 1), ("b2", 1)]
    assert record["lines"][2]["box"] == boxes[1]
    plain = ok_record(image, boxes, lines, 0.0)
    assert plain["text"] == "a1\nb1\na2\nb2" and "block" not in plain["lines"][0]


def test_two_column_page_read_by_the_engine(tmp_path: Path) -> None:
    page = pages.save(tmp_path / "two_columns.png", pages.two_columns())
    out = tmp_path / "results.jsonl"
    assert main(["run", str(page), "-o", str(out), "--backend", "serial", "-q"]) == ExitCode.OK
    record = json.loads(out.read_text(encoding="utf-8"))
    want = "\n\n".join([pages.TITLE, "\n".join(pages.LEFT), "\n".join(pages.RIGHT)])
    assert record["text"] == want
    assert [line["block"] for line in record["lines"]] == [0] + [1] * 4 + [2] * 4
