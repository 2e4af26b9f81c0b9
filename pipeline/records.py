"""Building the output record of one page (the output contract in DESIGN.md section 2)."""

from __future__ import annotations

from pipeline.errors import one_line
from pipeline.tasks import Box, ImageRef, Line, Recognized, Record

__all__ = ["error_record", "ok_record"]


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
    return {"image": image.rel, "page": image.page, "status": "error", "text": "", "lines": [],
            "error": one_line(reason)}
