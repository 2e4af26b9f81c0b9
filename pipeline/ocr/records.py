"""Building the output record of one page (the output contract in docs/design.md)."""

from __future__ import annotations

from pipeline.core.types import Box, ImageRef, Line, OrientationCheck, Recognized, Record
from pipeline.errors import one_line

__all__ = ["error_record", "fold_fullwidth", "lines_record", "ok_record"]

# Full-width digits, capital and small Latin letters (U+FF10-FF19, U+FF21-FF3A, U+FF41-FF5A) to
# ASCII: the recognizer's dictionary holds both forms. Full-width punctuation is not in the table.
_FULLWIDTH = {code: code - 0xFEE0 for first, last in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
              for code in range(first, last + 1)}


def fold_fullwidth(text: str) -> str:
    """`text` with full-width Latin letters and digits as ASCII.

    >>> fold_fullwidth("ＡＢＣ公司 ｄａｔｅｌｉｎｅ １２，")
    'ABC公司 dateline 12，'
    """
    return text.translate(_FULLWIDTH)


def ok_record(image: ImageRef, boxes: list[Box], recognized: list[Recognized], score_threshold: float,
              in_reading_order: bool = False, orientation: int = 0, text_from: str | None = None,
              fold: bool = True, orientation_check: OrientationCheck | None = None) -> Record:
    """Lines scoring under the threshold are left out, as PaddleOCR does. `in_reading_order`: lines
    are put column by column (`pipeline.ocr.layout`) and numbered by block, lines without text are
    left out, and the text joins the lines of a block with a newline and the blocks with a blank
    line. Otherwise lines stay in detection order (PaddleOCR's) and are joined by newlines.
    `orientation`: degrees clockwise the page was found turned (the boxes are on the page turned
    back); recorded only when not 0. `text_from`: PDF pages only (see `Record`). `fold`: full-width
    Latin letters and digits become ASCII (`recognition.fold_fullwidth`); every output is made from
    the record's lines and text, so this folds them all. `orientation_check`: the orientation pass's
    evidence and decision, recorded as it is."""
    kept = [(box, r) for box, r in zip(boxes, recognized) if r.score >= score_threshold]
    lines: list[Line] = [{"text": fold_fullwidth(r.text) if fold else r.text, "score": round(r.score, 5), "box": box}
                         for box, r in kept]
    text = "\n".join(line["text"] for line in lines)
    if in_reading_order:
        # A box read as no text (a speck, a rule) would only bridge the gutter between columns.
        lines = [line for line in lines if line["text"].strip()]
        from pipeline.ocr.layout import reading_order  # numpy: only where lines are put in order

        ordered = reading_order([line["box"] for line in lines])
        lines = [{**lines[i], "block": block} for i, block in ordered]
        text = "\n".join(
            ("\n" if k and block != ordered[k - 1][1] else "") + lines[k]["text"]
            for k, (_, block) in enumerate(ordered)
        )
    record = _ok(image, lines, text, orientation, text_from)
    if orientation_check is not None:
        record["orientation_check"] = orientation_check
    return record


def lines_record(image: ImageRef, lines: list[Line], text_from: str | None = None) -> Record:
    """An ok record of finished lines, joined by newlines (a PDF page's own text layer, kept as
    it is: no folding)."""
    return _ok(image, lines, "\n".join(line["text"] for line in lines), 0, text_from)


def _ok(image: ImageRef, lines: list[Line], text: str, orientation: int, text_from: str | None) -> Record:
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
    if text_from is not None:
        record["text_from"] = text_from
    return record


def error_record(image: ImageRef, reason: str) -> Record:
    return {"image": image.rel, "page": image.page, "status": "error", "text": "", "lines": [],
            "error": one_line(reason)}
