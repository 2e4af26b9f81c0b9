"""Building the output record of one page (the output contract in DESIGN.md section 2)."""

from __future__ import annotations

from pipeline.errors import one_line
from pipeline.tasks import Box, ImageRef, Line, Recognized, Record

__all__ = ["error_record", "lines_record", "ok_record"]


def ok_record(image: ImageRef, boxes: list[Box], recognized: list[Recognized], score_threshold: float,
              text_from: str | None = None) -> Record:
    """Lines in reading order; those scoring under the threshold are left out, as PaddleOCR does."""
    lines: list[Line] = [
        {"text": r.text, "score": round(r.score, 5), "box": box}
        for box, r in zip(boxes, recognized)
        if r.score >= score_threshold
    ]
    return lines_record(image, lines, text_from)


def lines_record(image: ImageRef, lines: list[Line], text_from: str | None = None) -> Record:
    """An ok record of finished lines; `text_from` only for PDF pages (see `Record`)."""
    record: Record = {
        "image": image.rel,
        "page": image.page,
        "status": "ok",
        "text": "\n".join(line["text"] for line in lines),
        "lines": lines,
        "error": None,
    }
    if text_from is not None:
        record["text_from"] = text_from
    return record


def error_record(image: ImageRef, reason: str) -> Record:
    return {"image": image.rel, "page": image.page, "status": "error", "text": "", "lines": [],
            "error": one_line(reason)}
