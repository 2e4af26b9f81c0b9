"""End to end with the real engine: folder in, records out, equal to PaddleOCR's own pipeline."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES, SHARED_DATA

from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ExitCode
from pipeline.inputs.discover import discover
from pipeline.inputs.filetypes import is_multi_page
from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.registry import EngineSettings
from pipeline.ocr.models import ResolvedModels
from pipeline.ocr.records import Record
from pipeline.run.runner import run


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _engine_size(engine: object) -> int:
    return len(pickle.dumps(engine))


def test_an_engine_cannot_cross_to_a_pool(config: Config, models: ResolvedModels) -> None:
    engine = OcrEngine(EngineSettings.of(config), models)
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(engine)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with pytest.raises(TypeError, match="pickle"):
            pool.submit(_engine_size, engine).result(timeout=120)
    finally:
        pool.shutdown()


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_text_equals_plain_paddleocr(tmp_path: Path, config: Config, workers: int,
                                     reference_texts: dict[tuple[str, int], list[str]],
                                     reference_records: dict[tuple[str, int], Record]) -> None:
    out = tmp_path / "results.jsonl"
    summary = run([SAMPLES], replace(config, workers=workers, output=str(out)), quiet=True)
    records = _records(out)
    expected_order = [(image.rel, image.page) for image in discover([SAMPLES]).images]
    assert [(r["image"], r["page"]) for r in records] == expected_order
    assert summary.failed == 0 and summary.ok == len(expected_order)
    for record in records:
        assert record["status"] == "ok" and record["error"] is None
        want = reference_texts[(record["image"], record["page"])]
        assert [line["text"] for line in record["lines"]] == want, record["image"]
        assert record["text"] == reference_records[(record["image"], record["page"])]["text"]
        for line in record["lines"]:
            assert 0.0 <= line["score"] <= 1.0
            assert len(line["box"]) == 4 and all(len(corner) == 2 for corner in line["box"])
    # The sample set has a multi-page TIFF and a Chinese file name.
    assert ("scans/multipage.tif", 1) in expected_order
    assert any(r["image"] == "通知_zh.png" and "会议" in r["text"] for r in records)


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


# The default run on sample_images/ against expected.json (the lines drawn into the images).
# Measured (PP-OCRv6 tiny, default config): 3 errors in 787 characters (0.4%): a space doubled
# ("CORNER  CAFE") and the tick drawn beside "File saved" read as "V", the only error ignoring
# whitespace. PP-OCRv4 mobile: 8 errors (1.0%), every one a space lost ("TOTAL12.75").
SAMPLE_CER_BOUND = 0.025
SAMPLE_CER_NO_SPACE_BOUND = 0.01


def test_default_run_reads_the_sample_images_within_the_stated_cer(tmp_path: Path, config: Config) -> None:
    expected = {key: "\n".join(lines) for key, lines in
                json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8")).items()}
    out = tmp_path / "results.jsonl"
    run([SAMPLES], replace(config, output=str(out)), quiet=True)
    got = {}
    for record in _records(out):
        assert record["status"] == "ok", record
        # expected.json names the pages of a multi-page file "name#page".
        key = f"{record['image']}#{record['page']}" if is_multi_page(record["image"]) else record["image"]
        got[key] = "\n".join(line["text"] for line in record["lines"])
    assert set(got) == set(expected)
    errors = {key: _edit_distance(got[key], want) for key, want in expected.items()}
    cer = sum(errors.values()) / sum(len(want) for want in expected.values())
    assert cer <= SAMPLE_CER_BOUND, {key: got[key] for key, e in errors.items() if e}
    bare = {key: "".join(text.split()) for key, text in got.items()}
    bare_expected = {key: "".join(text.split()) for key, text in expected.items()}
    bare_errors = sum(_edit_distance(bare[key], want) for key, want in bare_expected.items())
    assert bare_errors / sum(len(want) for want in bare_expected.values()) <= SAMPLE_CER_NO_SPACE_BOUND, bare


def test_serial_and_thread_backends_give_the_same_records(tmp_path: Path, config: Config,
                                                          reference_texts: dict[tuple[str, int], list[str]]) -> None:
    for backend in ("serial", "thread"):
        out = tmp_path / f"{backend}.jsonl"
        run([SAMPLES / "screenshot_ui.png", SAMPLES / "通知_zh.png"], replace(config, workers=2, output=str(out)),
            backend=backend, quiet=True)
        got = {r["image"]: [line["text"] for line in r["lines"]] for r in _records(out)}
        assert got == {name: reference_texts[(name, 0)] for name in ("screenshot_ui.png", "通知_zh.png")}


def test_bad_files_become_error_records_and_the_run_goes_on(tmp_path: Path, bad_folder: Path,
                                                            reference_texts: dict[tuple[str, int], list[str]]) -> None:
    out = tmp_path / "out.jsonl"
    code = main(["run", str(bad_folder), "-o", str(out), "--workers", "2", "--quiet"])
    assert code == ExitCode.IMAGES_FAILED
    records = {r["image"]: r for r in _records(out)}
    assert set(records) == {"corrupt.png", "empty.jpg", "good_ui.png", "good_通知.png", "notes.png"}
    for bad in ("corrupt.png", "empty.jpg", "notes.png"):
        assert records[bad]["status"] == "error"
        assert records[bad]["error"] and "\n" not in records[bad]["error"]
    assert [l["text"] for l in records["good_ui.png"]["lines"]] == reference_texts[("screenshot_ui.png", 0)]
    assert [l["text"] for l in records["good_通知.png"]["lines"]] == reference_texts[("通知_zh.png", 0)]


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("detection:\n  box_thresh: 7\n", encoding="utf-8")
    assert main(["run", str(SAMPLES), "-c", str(bad), "-o", str(tmp_path / "x.jsonl")]) == ExitCode.USAGE
    assert "detection.box_thresh" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(SAMPLES), "--workers", "0"])
    assert exit_info.value.code == ExitCode.USAGE
    out = tmp_path / "one.jsonl"
    assert main(["run", str(SAMPLES / "screenshot_ui.png"), "-o", str(out), "-w", "1", "-q"]) == ExitCode.OK
    err = capsys.readouterr().err
    assert "1 images: 1 ok, 0 failed" in err and "recognize" in err


def test_module_entry_point_runs_as_a_script(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    done = subprocess.run([sys.executable, "-m", "pipeline", "run", str(SAMPLES / "sign_mixed.jpg"), "-o", str(out),
                           "--workers", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == ExitCode.OK, done.stderr
    assert "img" in done.stderr  # the tqdm progress bar
    assert _records(out)[0]["image"] == "sign_mixed.jpg" and "EXIT" in _records(out)[0]["text"]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data/ocr-real-v1 is not here (only in the dev workspace)")
def test_real_images_one_record_each(tmp_path: Path, config: Config) -> None:
    out = tmp_path / "real.jsonl"
    summary = run([SHARED_DATA], replace(config, workers=2, output=str(out)), quiet=True)
    names = sorted(p.name for p in SHARED_DATA.iterdir() if p.suffix.lower() in {".png", ".jpg"})
    records = _records(out)
    assert sorted(r["image"] for r in records) == names
    assert summary.ok + summary.failed == len(names)


def test_a_single_page_detected_with_every_core_reads_the_same(tmp_path: Path, config: Config, models: ResolvedModels,
                                                                reference_texts: dict[tuple[str, int], list[str]]) -> None:
    from pipeline.inputs.reader import read_image

    engine = OcrEngine(EngineSettings.of(replace(config, workers=2)), models)
    page = read_image(SAMPLES / "letter_en.png")
    narrow, wide = engine.detect(page), engine.detect(page, wide=True)
    assert [box for box, _ in narrow] == [box for box, _ in wide]
    # A run of one page at 2 workers takes that path (nothing else to run while it is detected).
    out = tmp_path / "one.jsonl"
    run([SAMPLES / "letter_en.png"], replace(config, workers=2, output=str(out)), quiet=True)
    assert [line["text"] for line in _records(out)[0]["lines"]] == reference_texts[("letter_en.png", 0)]


def test_txt_and_csv_formats_through_the_command_line(tmp_path: Path,
                                                       reference_records: dict[tuple[str, int], Record]) -> None:
    import csv

    def want(rel: str, page: int = 0) -> str:
        return reference_records[(rel, page)]["text"]

    inputs = [str(SAMPLES / "通知_zh.png"), str(SAMPLES / "scans")]
    folder = tmp_path / "txt"
    assert main(["run", *inputs, "-o", str(folder), "--format", "txt", "-w", "2", "-q"]) == ExitCode.OK
    assert (folder / "通知_zh.png.txt").read_text(encoding="utf-8") == want("通知_zh.png") + "\n"
    for page in (0, 1):
        text = (folder / "scans" / f"multipage.tif.page{page:04d}.txt").read_text(encoding="utf-8")
        assert text == want("scans/multipage.tif", page) + "\n"
    table = tmp_path / "out.csv"
    assert main(["run", *inputs, "-o", str(table), "--format", "csv", "-w", "2", "-q"]) == ExitCode.OK
    with table.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["image"], r["page"], r["status"]) for r in rows] == [
        ("通知_zh.png", "0", "ok"), ("scans/multipage.tif", "0", "ok"), ("scans/multipage.tif", "1", "ok")]
    assert rows[0]["text"] == want("通知_zh.png")


def test_the_reference_detects_at_the_runs_size_cap(tmp_path: Path, config: Config, models: ResolvedModels) -> None:
    """A page larger than `detection.max_side_limit` is detected scaled down in a run; the reference
    (PaddleOCR's pipeline, whose own cap is 4000 px) must scale it the same, or a bench of 300-dpi
    scans finds our text 'different' on every large page."""
    from pipeline.tools.reference import reference_ocr, reference_records

    capped = replace(config, detection=replace(config.detection, max_side_limit=480), workers=1,
                     output=str(tmp_path / "results.jsonl"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "letter_en.png").write_bytes((SAMPLES / "letter_en.png").read_bytes())  # 1000x700
    run([folder], capped, quiet=True)
    [record] = _records(tmp_path / "results.jsonl")
    [expected] = reference_records(reference_ocr(capped, models, threads=1), str(folder / "letter_en.png"),
                                   "letter_en.png", capped)
    assert [line["box"] for line in record["lines"]] == [line["box"] for line in expected["lines"]]
    assert record["text"] == expected["text"]
