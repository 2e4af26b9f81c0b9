"""The output record of one page (the output contract in DESIGN.md section 2)."""

from __future__ import annotations

from typing import Any, TypedDict

from pipeline.engine import Box, Recognized
from pipeline.layout import reading_order
from pipeline.tasks import ImageRef

__all__ = ["Line", "Record", "error_record", "ok_record"]


class Line(TypedDict, total=False):
    text: str
    score: float
    box: Box
    block: int  # with reading order on: the block (paragraph or column piece) of the line, from 0


class Record(TypedDict, total=False):
    image: str
    page: int
    status: str
    text: str
    lines: list[Line]
    error: str | None
    orientation: int  # only for a page found turned: degrees clockwise; its boxes are on the page turned back


def ok_record(image: ImageRef, boxes: list[Box], recognized: list[Recognized], score_threshold: float,
              in_reading_order: bool = False, orientation: int = 0) -> Record:
    """Lines scoring under the threshold are left out, as PaddleOCR does. `in_reading_order`: lines
    are put column by column (`pipeline.layout`) and numbered by block, lines without text are
    left out, and the text joins the lines of a block with a newline and the blocks with a blank
    line. Otherwise lines stay in detection order (PaddleOCR's) and are joined by newlines.
    `orientation`: degrees clockwise the page was found turned (the boxes are on the page turned
    back); recorded only when not 0."""
    kept = [(box, r) for box, r in zip(boxes, recognized) if r.score >= score_threshold]
    lines: list[Line] = [{"text": r.text, "score": round(r.score, 5), "box": box} for box, r in kept]
    text = "\n".join(line["text"] for line in lines)
    if in_reading_order:
        # A box read as no text (a speck, a rule) would only bridge the gutter between columns.
        lines = [line for line in lines if line["text"].strip()]
        ordered = reading_order([line["box"] for line in lines])
        lines = [{**lines[i], "block": block} for i, block in ordered]
        text = "\n".join(
            ("\n" if k and block != ordered[k - 1][1] else "") + lines[k]["text"]
            for k, (_, block) in enumerate(ordered)
        )
    record: Record = {
        "image": image.rel,
        "page": image.page,
        "status": "ok",
        "text": text,
        "lines": lines,
        "error": None,
    }
    if orientation:
        record["orientation"] = orientation
    return record


def error_record(image: ImageRef, reason: str) -> Record:
    one_line: Any = " ".join(reason.split())
    return {"image": image.rel, "page": image.page, "status": "error", "text": "", "lines": [], "error": one_line}
