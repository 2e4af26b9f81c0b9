"""The line angle classifier: upside-down lines are turned before recognition; upright ones are left."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import pages
from pipeline.cli import main
from pipeline.errors import ExitCode
from pipeline.ocr.engine import Recognized
from pipeline.ocr.line_angle import LineAngleClassifier

LINES = ["Forty boxes of letters were scanned", "by the night shift and filed under", "section twelve of the old archive."]


@pytest.fixture(scope="module")
def classifier() -> LineAngleClassifier:
    return LineAngleClassifier(threads=1)


def test_tells_upside_down_lines_from_upright_ones(classifier: LineAngleClassifier) -> None:
    crops = [pages.render([(8, 6, text)], (20 + 13 * len(text), 40)) for text in LINES]
    turned = [cv2.rotate(crop, cv2.ROTATE_180) for crop in crops]
    assert classifier.upside_down(crops + turned) == [False] * 3 + [True] * 3
    assert classifier.upside_down([]) == []


def test_lines_the_orientation_pass_asked_about_are_not_classified_again() -> None:
    classifier = LineAngleClassifier(threads=1)
    upright = [pages.render([(8, 6, text)], (20 + 13 * len(text), 40)) for text in LINES]
    crops = upright + [cv2.rotate(crop, cv2.ROTATE_180) for crop in upright]
    want = LineAngleClassifier(threads=1).upside_down(crops)
    assert want == [False] * len(upright) + [True] * len(upright)
    classified: list[int] = []
    real = classifier._classify
    classifier._classify = lambda batch: classified.append(len(batch)) or real(batch)  # type: ignore[method-assign]
    assert classifier.flipped(crops[1:4]) == want[1:4]  # the page orientation pass, on a few lines
    assert classifier.upside_down(crops) == want  # recognition, on all of them
    assert classified == [3, len(crops) - 3]
    assert classifier.upside_down(crops) == want and classified[-1] == len(crops)  # asked once only
    copies = [crop.copy() for crop in crops[1:4]]
    classifier.flipped(crops[1:4])
    assert classifier.upside_down(copies) == want[1:4] and classified[-1] == 3  # other crops: asked anew


def test_the_recognizer_has_the_last_word(classifier: LineAngleClassifier) -> None:
    """A line the model calls upside down is read both ways; the better reading wins."""
    upright = [pages.render([(8, 6, text)], (20 + 13 * len(text), 40)) for text in LINES[:2]]
    crops = [upright[0], cv2.rotate(upright[1], cv2.ROTATE_180)]
    batches: list[int] = []

    def recognize(batch: list[np.ndarray]) -> list[Recognized]:  # reads only upright lines well
        batches.append(len(batch))
        out = []
        for crop in batch:
            match = [k for k, u in enumerate(upright) if crop.shape == u.shape and (crop == u).all()]
            out.append(Recognized(LINES[match[0]], 0.95) if match else Recognized("garbage", 0.2))
        return out

    lines = classifier.recognize(crops, recognize)
    assert batches == [2, 1]  # every line once, then the suspect turned
    assert [line.text for line in lines] == LINES[:2]


def _page_with_a_line_upside_down(folder: Path) -> Path:
    page = pages.one_column(LINES)
    band = page[66:106]  # the second line's band (lines are 38 px apart from y=30)
    page[66:106] = cv2.rotate(band, cv2.ROTATE_180)
    return pages.save(folder / "upside_down_line.png", page)


@pytest.mark.parametrize("switch", ["true", "false"])
def test_a_page_with_an_upside_down_line(tmp_path: Path, switch: str) -> None:
    image = _page_with_a_line_upside_down(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(f"recognition:\n  angle_classifier: {switch}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["run", str(image), "-c", str(config), "-o", str(out), "--backend", "serial", "-q"]) == ExitCode.OK
    texts = [line["text"] for line in json.loads(out.read_text(encoding="utf-8"))["lines"]]
    if switch == "true":
        assert texts == LINES
    else:
        assert texts[0] == LINES[0] and LINES[1] not in texts
