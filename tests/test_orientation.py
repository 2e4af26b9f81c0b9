"""Turned pages: found and turned back, so they read as the upright page does; pages with little
text are turned only when the page model and their lines agree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

import pages
from layout_pages import generator
from pipeline.cli import main
from pipeline.errors import ExitCode
from pipeline.inputs.pages import turn
from pipeline.inputs.reader import read_image
from pipeline.ocr.orientation import MIN_SIDE, PageOrientation, decide, line_turn, needs_model

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
    upright, decision = PageOrientation().upright(line, [])
    assert decision is None and upright is line


DEGREES = [0, 90, 180, 270]


def test_a_line_tells_its_axis_and_way_up() -> None:
    assert line_turn(400, 30, upside_down=False) == 0
    assert line_turn(400, 30, upside_down=True) == 180
    assert line_turn(30, 400, upside_down=False) == 90  # a tall crop comes turned a quarter back
    assert line_turn(30, 400, upside_down=True) == 270
    assert line_turn(40, 30, upside_down=True) is None  # too square to say


def test_a_page_with_little_text_turns_only_when_model_and_lines_agree() -> None:
    # The bug: a title alone on a page; the model sees blank paper and says 180.
    kept = decide([0.21, 0.22, 0.33, 0.24], DEGREES, [0])
    assert kept.degrees == 0 and kept.model_degrees == 180 and kept.line_degrees == 0
    assert decide([0.21, 0.22, 0.33, 0.24], DEGREES, [180]).degrees == 0  # both say 180, the model unsure
    assert decide([0.05, 0.05, 0.85, 0.05], DEGREES, [180]).degrees == 180
    assert decide([0.05, 0.05, 0.85, 0.05], DEGREES, [180, 0]).degrees == 0  # the lines disagree
    assert decide([0.3, 0.2, 0.3, 0.2], DEGREES, []).degrees == 0  # nothing detected


def test_a_full_page_turns_when_most_lines_agree_with_the_model() -> None:
    turned = decide([0.02, 0.92, 0.03, 0.03], DEGREES, [90] * 7 + [270])
    assert turned.degrees == 90 and turned.line_share == 7 / 8 and turned.confidence == (0.92 + 7 / 8) / 2
    assert decide([0.02, 0.92, 0.03, 0.03], DEGREES, [90] * 4 + [270] * 4).degrees == 0  # no clear majority
    assert decide([0.92, 0.02, 0.03, 0.03], DEGREES, [180] * 8).degrees == 0  # the model says upright
    record = turned.to_record()
    assert record == {"degrees": 90, "confidence": round(turned.confidence, 3), "model_degrees": 90,
                      "model_score": 0.92, "line_degrees": 90, "line_votes": 8, "line_share": 0.875}


def test_the_model_is_asked_only_where_it_can_change_the_decision() -> None:
    """Skipping the page model where the lines read upright (or none votes) never changes a decision:
    for every vote pattern of up to 8 lines and scores that favour each label, the decision with
    the model equals the one without it wherever `needs_model` says the model is not needed."""
    import itertools
    import random

    rng = random.Random(7)
    asked = 0
    for votes in range(0, 9):
        for lines in itertools.combinations_with_replacement(DEGREES, votes):
            for favoured in range(4):
                scores = [rng.random() * 0.1 for _ in DEGREES]
                scores[favoured] = 0.7 + rng.random() * 0.3
                with_model = decide(scores, DEGREES, list(lines))
                if needs_model(list(lines)):
                    asked += 1
                    continue
                without = decide(None, [], list(lines))
                assert without.degrees == with_model.degrees == 0, (lines, scores)
                assert (without.model_degrees, without.model_score) == (None, None)
                assert without.line_share == with_model.line_share and without.confidence == without.line_share
    assert asked > 0  # and pages whose lines say "turned" still ask it
    assert needs_model([90, 90, 0]) and not needs_model([0, 0, 90]) and not needs_model([])
    assert not needs_model([180, 0])  # a tie goes to upright, as in `decide`
    with pytest.raises(ValueError):
        decide(None, [], [180] * 8)


def test_sparse_pages_stay_upright_and_say_how_sure(tmp_path: Path) -> None:
    """Pages holding one line (a title at the top, a line at the foot, a short caption), scanned:
    upright ones are never turned; turned ones are turned back where both witnesses agree."""
    folder = tmp_path / "in"
    generator.make_set(folder, ["sparse"], [0, 1, 2], [0, 180])
    out = tmp_path / "out.jsonl"
    assert main(["run", str(folder), "-o", str(out), "--backend", "serial", "-q"]) == ExitCode.OK
    records = {r["image"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for seed in (0, 1, 2):
        upright = records[f"sparse_{seed:03d}_r000.png"]
        assert "orientation" not in upright and upright["orientation_check"]["degrees"] == 0, upright
        assert upright["orientation_check"]["line_degrees"] == 0 and upright["text"]
        assert upright["orientation_check"]["model_degrees"] is None  # not asked: the line reads upright
    # Measured: all three turned pages are found (model 0.64-0.87 for 180, the line upside down).
    for seed in (0, 1, 2):
        turned = records[f"sparse_{seed:03d}_r180.png"]
        assert turned.get("orientation") == 180 and turned["text"] == records[f"sparse_{seed:03d}_r000.png"]["text"]
