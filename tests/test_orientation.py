"""Turned pages: found and turned back before detection, so they read as the upright page does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

import pages
from pipeline.cli import main
from pipeline.errors import ExitCode
from pipeline.inputs.pages import turn
from pipeline.inputs.reader import read_image
from pipeline.ocr.orientation import MIN_SIDE, PageOrientation

TEXT = pages.LEFT + pages.RIGHT


def _real_page() -> np.ndarray:
    """A page stacked from real scanned lines of ocr-real-v1 (one column of a UW-III page)."""
    lines = [read_image(SHARED_DATA / f"uw3_train_0100{n}.png") for n in range(20, 30)]
    width = max(line.shape[1] for line in lines) + 80
    page = np.full((sum(line.shape[0] + 6 for line in lines) + 80, width, 3), 255, dtype=np.uint8)
    y = 40
    for line in lines:
        page[y : y + line.shape[0], 40 : 40 + line.shape[1]] = line
        y += line.shape[0] + 6
    return page


def _read_turned(tmp_path: Path, page: np.ndarray) -> dict[int, dict]:
    folder = tmp_path / "in"
    folder.mkdir()
    for degrees in (0, 90, 180, 270):
        pages.save(folder / f"turned_{degrees:03d}.png", pages.turned(page, degrees))
    out = tmp_path / "out.jsonl"
    assert main(["run", str(folder), "-o", str(out), "--backend", "serial", "-q"]) == ExitCode.OK
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {int(r["image"][7:10]): r for r in records}


def test_turned_generated_pages_read_as_the_upright_one(tmp_path: Path) -> None:
    records = _read_turned(tmp_path, pages.one_column(TEXT))
    assert [line["text"] for line in records[0]["lines"]] == TEXT
    for degrees in (90, 180, 270):
        assert records[degrees]["text"] == records[0]["text"], degrees
        assert records[degrees]["orientation"] == degrees
        assert records[degrees]["lines"][0]["box"] == records[0]["lines"][0]["box"]  # on the page turned back
    assert "orientation" not in records[0]


@pytest.mark.skipif(not (SHARED_DATA / "uw3_train_010020.png").is_file(), reason="../shared/data/ocr-real-v1 is absent")
def test_turned_real_scan_reads_as_the_upright_one(tmp_path: Path) -> None:
    records = _read_turned(tmp_path, _real_page())
    assert records[0]["text"].startswith("algorithms. This is somewhat unfortunate")
    for degrees in (90, 180, 270):
        assert records[degrees]["text"] == records[0]["text"], degrees


def test_turn_undoes_a_clockwise_turn() -> None:
    page = pages.one_column(TEXT[:2])
    for degrees in (0, 90, 180, 270):
        assert (turn(pages.turned(page, degrees), degrees) == page).all()


def test_crops_of_a_line_are_left_alone() -> None:
    line = pages.turned(pages.render([(8, 6, TEXT[0])], (460, 40)), 90)
    assert min(line.shape[:2]) < MIN_SIDE
    upright, degrees = PageOrientation().upright(line)
    assert degrees == 0 and upright is line
