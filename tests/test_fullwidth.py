"""Full-width Latin letters and digits (ＡＢＣ１２３) come out as ASCII in every output, unless
`recognition.fold_fullwidth` is off; punctuation and a PDF's own text stay as they are."""

from __future__ import annotations

import json
import string
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from fake_engine import FakeEngine, draw_page
from pipeline.config import load_config
from pipeline.core.types import ImageRef, Recognized
from pipeline.ocr.records import fold_fullwidth, lines_record, ok_record
from pipeline.ocr.registry import DEFAULT_ENGINE, ENGINES
from pipeline.run.runner import run
from pipeline.run.settings import run_config

IMAGE = ImageRef(0, "/in/p.png", "p.png")
BOX = [[0, 0], [100, 0], [100, 20], [0, 20]]


def test_only_latin_letters_and_digits_fold() -> None:
    assert fold_fullwidth("ＡＢＣ公司") == "ABC公司"
    assert fold_fullwidth("ｄａｔｅｌｉｎｅ") == "dateline"
    every = "".join(chr(code) for code in range(0xFF01, 0xFF5F))  # the whole full-width ASCII block
    folded = fold_fullwidth(every)
    ascii_part = "".join(ch for ch in folded if ch.isascii())
    assert ascii_part == string.digits + string.ascii_uppercase + string.ascii_lowercase
    assert "，" in folded and "：" in folded and "！" in folded  # punctuation stays full-width
    assert fold_fullwidth("会议，。：") == "会议，。："


def test_records_fold_lines_and_text_unless_switched_off() -> None:
    lines = [Recognized("ｄａｔｅｌｉｎｅ", 0.9), Recognized("ＡＢＣ公司，１２", 0.9)]
    boxes = [BOX, [[0, 30], [100, 30], [100, 50], [0, 50]]]
    for in_order in (False, True):
        record = ok_record(IMAGE, boxes, lines, 0.0, in_reading_order=in_order)
        assert [line["text"] for line in record["lines"]] == ["dateline", "ABC公司，12"]
        assert record["text"].replace("\n", "|") == "dateline|ABC公司，12"
        raw = ok_record(IMAGE, boxes, lines, 0.0, in_reading_order=in_order, fold=False)
        assert [line["text"] for line in raw["lines"]] == ["ｄａｔｅｌｉｎｅ", "ＡＢＣ公司，１２"]


def test_a_pdfs_own_text_is_left_as_it_is() -> None:
    record = lines_record(IMAGE, [{"text": "ＡＢＣ", "score": 1.0, "box": BOX}], "embedded")
    assert record["text"] == "ＡＢＣ" and record["lines"][0]["text"] == "ＡＢＣ"


def test_folding_is_on_by_default_and_can_be_switched_off() -> None:
    assert load_config(None).recognition.fold_fullwidth is True
    assert load_config(None, {"recognition.fold_fullwidth": False}).recognition.fold_fullwidth is False


class WideEngine(FakeEngine):
    """The fake engine, reading every line with full-width letters and digits, and a CJK comma."""

    def recognize(self, crops: list[np.ndarray]) -> list[Recognized]:
        return [Recognized(f"ｄａｔｅｌｉｎｅ{k}ＡＢＣ１２，", 0.9) for k in range(len(crops))]


@pytest.mark.parametrize("fold", [True, False])
def test_every_output_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold: bool) -> None:
    monkeypatch.setitem(ENGINES, DEFAULT_ENGINE, f"{__name__}:WideEngine")
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), draw_page([50, 120]))
    wide = ["ｄａｔｅｌｉｎｅ0ＡＢＣ１２，", "ｄａｔｅｌｉｎｅ1ＡＢＣ１２，"]
    want = ["dateline0ABC12，", "dateline1ABC12，"] if fold else wide
    outputs = {}
    for fmt, name in (("jsonl", "out.jsonl"), ("hocr", "hocr"), ("pdf", "pdf"), ("txt", "txt"), ("csv", "out.csv")):
        settings = {"workers": 1, "output": str(tmp_path / name), "format": fmt, "recognition.fold_fullwidth": fold}
        run([folder], run_config(None, settings), backend="serial", quiet=True)
        outputs[fmt] = tmp_path / name
    record = json.loads(outputs["jsonl"].read_text(encoding="utf-8"))
    assert [line["text"] for line in record["lines"]] == want and record["text"].split() == want
    assert want[0] in (outputs["hocr"] / "a.png.hocr").read_text(encoding="utf-8")
    assert (outputs["txt"] / "a.png.txt").read_text(encoding="utf-8").split() == want
    assert want[1] in outputs["csv"].read_text(encoding="utf-8")
    doc = pdfium.PdfDocument(str(outputs["pdf"] / "a.png.pdf"))
    try:
        assert doc[0].get_textpage().get_text_range().split() == want
    finally:
        doc.close()
