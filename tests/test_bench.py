"""`pipeline bench`: a smoke run with the real engine, and the table/note/chart logic on made-up figures.

Speed is measured here, never asserted."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SAMPLES

from pipeline.bench import (
    REFERENCE,
    CellResult,
    build_rows,
    draw_chart,
    format_table,
    note_line,
    parse_modes,
    parse_positive_list,
    rapidocr_available,
    recommendation,
)
from pipeline.cli import main
from pipeline.errors import ConfigError, ExitCode

TEXTS = {"a.png#0": ["hello world"], "b.png#0": ["second page", "two lines"]}


def _cell(mode: str, workers: int, threads: int, images_per_s: float, texts: dict[str, list[str]] | None = None,
          spread: float = 0.05) -> CellResult:
    images = 8
    median = images / images_per_s
    return CellResult(mode, workers, threads, warmup_seconds=2.0,
                      seconds=[median * (1 - spread), median, median * (1 + spread)], images=images,
                      regions=images * 20,
                      texts=dict(TEXTS if texts is None else texts), peak_rss_worker_mb=500.0,
                      peak_rss_total_mb=500.0 * workers, worker_processes=workers, distinct_workers=workers)


def test_smoke_run_on_two_sample_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench-out"
    code = main(["bench", str(SAMPLES / "screenshot_ui.png"), str(SAMPLES / "通知_zh.png"), "--workers", "1,2",
                 "--threads", "1", "--modes", "serial,process", "--repeat", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == ExitCode.OK, (out / "cells.log").read_text(encoding="utf-8")[-3000:]
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    rows = {(r["mode"], r["workers"], r["threads"]): r for r in report["rows"]}
    expected = {(REFERENCE, 1, 1), ("serial", 1, 1), ("process", 1, 1), ("process", 2, 1)}
    assert expected <= set(rows)
    assert (("rapidocr", 1, 2) in rows) == rapidocr_available()
    for key in expected:
        row = rows[key]
        assert row["error"] is None, row
        assert row["images"] == 2 and row["images_per_s"]["median"] > 0 and row["regions_per_s"]["median"] > 0
        assert row["warmup_seconds"] > 0 and row["peak_rss_total_mb"] > 0
        assert row["text_matched"] is True, row["notes"]
    assert rows[("process", 2, 1)]["efficiency"] is not None
    chart = cv2.imdecode(np.fromfile(str(out / "bench.png"), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert chart is not None and chart.shape[0] > 300 and chart.shape[1] > 600
    assert "recommendation:" in printed and "note:" in printed and "--workers" in report["command"]


def test_lists_and_modes_are_checked() -> None:
    assert parse_positive_list("1, 2,4,2", "--workers") == [1, 2, 4]
    assert parse_modes("process,serial") == ["process", "serial"]
    for bad in ("0", "x", ""):
        with pytest.raises(ConfigError, match="--workers"):
            parse_positive_list(bad, "--workers")
    with pytest.raises(ConfigError, match="unknown mode 'gpu'"):
        parse_modes("serial,gpu")


def test_bad_flags_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", str(SAMPLES / "screenshot_ui.png"), "--modes", "fibers", "--out", str(tmp_path)])
    assert code == ExitCode.USAGE and "fibers" in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()


def test_rows_compare_with_one_worker_and_the_best_reference() -> None:
    results = [_cell(REFERENCE, 1, 1, 0.7), _cell(REFERENCE, 1, 2, 1.0),
               _cell("process", 1, 1, 0.7), _cell("process", 2, 1, 1.3), _cell("process", 2, 2, 1.2),
               _cell("thread", 2, 1, 0.8, texts={"a.png#0": ["hello wor1d"], "b.png#0": TEXTS["b.png#0"]})]
    rows = build_rows(results, machine_cores=2)
    assert [r.mode for r in rows].count(REFERENCE) == 1
    reference = rows[0]
    assert reference.threads == 2 and reference.speedup_vs_1_worker is None
    two = next(r for r in rows if r.mode == "process" and r.workers == 2 and r.threads == 1)
    assert two.speedup_vs_1_worker == pytest.approx(1.3 / 0.7) and two.efficiency == pytest.approx(1.3 / 1.4)
    assert two.speedup_vs_reference == pytest.approx(1.3) and two.text_matched is True
    assert not two.oversubscribed and next(r for r in rows if r.threads == 2 and r.workers == 2).oversubscribed
    thread = next(r for r in rows if r.mode == "thread")
    assert thread.text_matched is False and "a.png#0" in thread.notes[0]
    assert thread.speedup_vs_1_worker is None  # no 1-worker thread row to compare with
    table = format_table(rows)
    assert "OVERSUBSCRIBED" in table and "NO" in table and "1.30 (" in table
    line, command = recommendation(rows)
    assert command == "python -m pipeline run INPUT --backend process --workers 2 --threads 1"
    assert "1.30 images/s" in line


@pytest.mark.parametrize(("thread_2", "process_2", "wording"), [
    (0.72, 1.30, "do not speed up"),
    (1.15, 1.32, "processes scale better"),
    (1.30, 1.32, "about equally"),
])
def test_the_note_is_worded_from_the_figures(thread_2: float, process_2: float, wording: str) -> None:
    results = [_cell(REFERENCE, 1, 1, 0.7), _cell("thread", 1, 1, 0.7), _cell("thread", 2, 1, thread_2),
               _cell("process", 1, 1, 0.7), _cell("process", 2, 1, process_2)]
    note = note_line(build_rows(results, machine_cores=2))
    assert note.startswith("note: ") and wording in note
    assert f"{process_2:.2f} img/s" in note


def test_chart_draws_from_made_up_rows(tmp_path: Path) -> None:
    results = [_cell(REFERENCE, 1, 2, 1.0), _cell("rapidocr", 1, 2, 1.6, texts={}), _cell("serial", 1, 1, 0.7),
               _cell("serial", 1, 2, 1.0), _cell("thread", 1, 1, 0.7), _cell("thread", 2, 1, 0.75),
               _cell("process", 1, 1, 0.7), _cell("process", 2, 1, 1.3), _cell("process", 1, 2, 1.0),
               _cell("process", 2, 2, 1.1)]
    path = tmp_path / "chart" / "bench.png"
    draw_chart(build_rows(results, machine_cores=2), path, "made-up figures")
    chart = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert chart is not None and chart.shape[2] == 3
    assert (chart < 128).any() and (chart == 255).mean() > 0.5  # ink on a white canvas
