"""The output record of one page (the output contract in DESIGN.md section 2)."""

from __future__ import annotations

from typing import Any, TypedDict

from pipeline.engine import Box, Recognized
from pipeline.tasks import ImageRef

__all__ = ["Line", "Record", "error_record", "ok_record"]


class Line(TypedDict):
    text: str
    score: float
    box: Box


class Record(TypedDict):
    image: str
    page: int
    status: str
    text: str
    lines: list[Line]
    error: str | None


def ok_record(image: ImageRef, boxes: list[Box], recognized: list[Recognized], score_threshold: float) -> Record:
    """Lines in reading order; those scoring under the threshold are left out, as PaddleOCR does."""
    lines: list[Line] = [
        {"text": r.text, "score": round(r.score, 5), "box": box}
        for box, r in zip(boxes, recognized)
        if r.score >= score_threshold
    ]
    return {
        "image": image.rel,
        "page": image.page,
        "status": "ok",
        "text": "\n".join(line["text"] for line in lines),
        "lines": lines,
        "error": None,
    }


def error_record(image: ImageRef, reason: str) -> Record:
    one_line: Any = " ".join(reason.split())
    return {"image": image.rel, "page": image.page, "status": "error", "text": "", "lines": [], "error": one_line}
