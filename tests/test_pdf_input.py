"""PDF inputs: one task per page rendered with pypdfium2 in the workers, text layers kept or skipped on
request, bad PDFs as error records, resume per page. The fake engine (tests/fake_engine.py) reads
drawn bars back exactly; one test runs the real engine on a scan made from a sample image."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import SAMPLES

from fake_engine import draw_page
from pdf_files import encrypted_pdf, huge_page_pdf, line, scan_pdf, text_pdf, zero_page_pdf
from pipeline.config import Config
from pipeline.errors import ImageReadError
from pipeline.inputs.discover import discover
from pipeline.inputs.pdf import embedded_lines, render_page
from pipeline.inputs.reader import read_image
from pipeline.run.runner import run
from pipeline.run.settings import run_config


def _records(out: Path) -> dict[tuple[str, int], dict]:
    rows = [json.loads(row) for row in out.read_text(encoding="utf-8").splitlines()]
    keyed = {(r["image"], r["page"]): r for r in rows}
    assert len(keyed) == len(rows), "a page was written twice"
    return keyed


def _texts(record: dict) -> list[str]:
    return [line["text"] for line in record["lines"]]


def _bars(record: dict) -> list[tuple[int, int]]:
    """The fake engine's "WxH" lines as sizes."""
    return [tuple(int(n) for n in text.split("x")) for text in _texts(record)]  # type: ignore[misc]


def _close_to(found: list[tuple[int, int]], widths: list[int], height: int) -> bool:
    """Bars of these sizes, give or take the pixel that resampling may add at an edge."""
    return len(found) == len(widths) and all(abs(w - want) <= 1 and abs(h - height) <= 1
                                             for (w, h), want in zip(found, widths))


BARS = [[40, 90], [150], [300, 120, 60]]


@pytest.fixture()
def scans(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    scan_pdf(folder / "scan.pdf", [draw_page(widths) for widths in BARS])
    return folder


def test_a_pdf_is_one_task_per_page_rendered_at_the_configured_dpi(scans: Path, tmp_path: Path, fake_engine: str) -> None:
    assert [(i.rel, i.page) for i in discover([scans]).images] == [("scan.pdf", p) for p in range(3)]
    out = tmp_path / "out.jsonl"
    run([scans], run_config(None, {"workers": 2, "output": str(out)}), quiet=True)
    records = _records(out)
    for page, widths in enumerate(BARS):
        record = records[("scan.pdf", page)]
        assert record["status"] == "ok" and record["text_from"] == "ocr"
        assert _close_to(_bars(record), widths, 8), record  # bars of the right size: 300 dpi in, 300 dpi out
    # At 150 dpi every bar is half as wide.
    out150 = tmp_path / "out150.jsonl"
    run([scans], run_config(None, {"workers": 1, "output": str(out150), "pdf.dpi": 150}), quiet=True)
    assert _close_to(_bars(_records(out150)[("scan.pdf", 0)]), [20, 45], 4)


def test_resume_is_per_page(scans: Path, tmp_path: Path, fake_engine: str) -> None:
    out = tmp_path / "out.jsonl"
    config = run_config(None, {"workers": 1, "output": str(out)})
    run([scans], config, quiet=True)
    first = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text(first[0] + first[2][:30], encoding="utf-8")  # page 0 done, a torn record after it
    summary = run([scans], config, quiet=True)
    assert summary.skipped == 1 and summary.ok == 2
    assert sorted(_records(out)) == [("scan.pdf", p) for p in range(3)]


def _born_digital(folder: Path) -> Path:
    """Page 0 carries a text layer; page 1 is a scan without one."""
    path = text_pdf(folder / "digital.pdf", [[line("Invoice 2024", 50, 50, 600, 110), line("Total 12.50", 50, 200, 500, 260)]])
    scanned = folder / "scanned.pdf"
    scan_pdf(scanned, [draw_page([70])])
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    doc.import_pages(pdfium.PdfDocument(str(scanned)))
    doc.save(str(folder / "mixed.pdf"))
    doc.close()
    path.unlink()
    scanned.unlink()
    return folder / "mixed.pdf"


@pytest.mark.parametrize(("mode", "page0_from", "page0_texts"), [
    ("keep", "embedded", ["Invoice 2024", "Total 12.50"]),
    ("skip", "skipped", []),
])
def test_text_layer_keep_and_skip(tmp_path: Path, fake_engine: str, mode: str, page0_from: str,
                                  page0_texts: list[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _born_digital(folder)
    out = tmp_path / "out.jsonl"
    run([folder], run_config(None, {"workers": 1, "output": str(out), "pdf.text_layer": mode}), quiet=True)
    records = _records(out)
    assert records[("mixed.pdf", 0)]["text_from"] == page0_from
    assert _texts(records[("mixed.pdf", 0)]) == page0_texts
    # The page without a text layer is OCR'd whatever the mode.
    assert records[("mixed.pdf", 1)]["text_from"] == "ocr" and _close_to(_bars(records[("mixed.pdf", 1)]), [70], 8)


def test_embedded_lines_are_boxed_in_rendered_pixels(tmp_path: Path) -> None:
    path = text_pdf(tmp_path / "t.pdf", [[line("Hello", 100, 100, 400, 160)]])
    (found,) = embedded_lines(path, 0, 300, 10**8)
    assert found["text"] == "Hello"
    (x0, y0), _, (x1, y1), _ = found["box"]
    assert 95 <= x0 and x1 <= 405 and 95 <= y0 < y1 <= 165  # the glyphs sit inside the box they were set in
    # At half the dpi, half the coordinates.
    (half,) = embedded_lines(path, 0, 150, 10**8)
    assert abs(half["box"][0][0] - x0 / 2) <= 1


def test_bad_pdfs_are_error_records_and_the_run_goes_on(tmp_path: Path, fake_engine: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    encrypted_pdf(folder / "encrypted.pdf")
    zero_page_pdf(folder / "empty.pdf")
    bomb = scan_pdf(folder / "bomb.pdf", [draw_page([50])] * 3)  # 3 pages, over the limit of 2 below
    (folder / "truncated.pdf").write_bytes(bomb.read_bytes()[: bomb.stat().st_size // 3])
    (folder / "zero.pdf").write_bytes(b"")
    scan_pdf(folder / "good.pdf", [draw_page([50])] * 2)
    out = tmp_path / "out.jsonl"
    summary = run([folder], run_config(None, {"workers": 1, "output": str(out), "limits.max_pages": 2}), quiet=True)
    records = _records(out)
    errors = {key[0]: r["error"] for key, r in records.items() if r["status"] == "error"}
    assert "encrypted" in errors["encrypted.pdf"]
    assert "more than the limit of 2 (limits.max_pages)" in errors["bomb.pdf"] and "3 pages" in errors["bomb.pdf"]
    assert set(errors) == {"encrypted.pdf", "empty.pdf", "truncated.pdf", "bomb.pdf", "zero.pdf"}
    assert summary.failed == 5  # each broken PDF is one error record, not one per page
    assert summary.ok == 2 and records[("good.pdf", 1)]["status"] == "ok"


def test_a_huge_page_is_rendered_smaller_not_refused(tmp_path: Path, fake_engine: str) -> None:
    path = huge_page_pdf(tmp_path / "huge.pdf", inches=200)  # 60,000 x 60,000 pixels at 300 dpi
    pixels = render_page(path, 0, 300, max_pixels=1_000_000)
    assert pixels.shape[0] * pixels.shape[1] <= 1_000_000 and pixels.shape[0] >= 990
    out = tmp_path / "out.jsonl"
    run([path], run_config(None, {"workers": 1, "output": str(out), "limits.max_image_pixels": 1_000_000}), quiet=True)
    assert _records(out)[("huge.pdf", 0)]["status"] == "ok"


def test_a_page_that_fails_to_render_is_an_error_record(scans: Path, tmp_path: Path, fake_engine: str) -> None:
    with mock.patch("pypdfium2.PdfPage.render", side_effect=RuntimeError("boom")):
        with pytest.raises(ImageReadError, match="PDF page 1 failed to render: RuntimeError: boom"):
            render_page(scans / "scan.pdf", 1, 300, 10**8)
        out = tmp_path / "out.jsonl"
        run([scans], run_config(None, {"workers": 1, "output": str(out)}), backend="serial", quiet=True)
    assert [r["error"] for r in _records(out).values()] == [f"PDF page {p} failed to render: RuntimeError: boom"
                                                            for p in range(3)]


def test_a_scanned_pdf_reads_like_its_image(tmp_path: Path, config: Config) -> None:
    """The real engine on a sample image and on a PDF made of it: the same lines."""
    pixels = read_image(SAMPLES / "screenshot_ui.png")
    pdf = scan_pdf(tmp_path / "ui.pdf", [pixels])
    out = tmp_path / "out.jsonl"
    run([SAMPLES / "screenshot_ui.png", pdf], replace(config, workers=1, output=str(out)), quiet=True)
    records = list(_records(out).values())
    image, page = records
    assert page["image"].endswith("ui.pdf") and page["text_from"] == "ocr"
    assert _texts(page) == _texts(image) and _texts(image)
    assert np.abs(render_page(pdf, 0, 300, 10**8).astype(int) - pixels).mean() < 3


def test_a_born_digital_page_ocrs_to_its_own_text_layer(tmp_path: Path, config: Config) -> None:
    """The real engine on a page with a text layer: `ocr` reads what `keep` takes from the layer."""
    lines = [line("Invoice 2024", 50, 40, 480, 110), line("Total due 12.50", 50, 200, 560, 270)]  # about unstretched
    pdf = text_pdf(tmp_path / "digital.pdf", [lines])
    words = {}
    for mode in ("ocr", "keep"):
        out = tmp_path / f"{mode}.jsonl"
        run([pdf], replace(config, workers=1, output=str(out), pdf=replace(config.pdf, text_layer=mode)), quiet=True)
        (record,) = _records(out).values()
        assert record["text_from"] == ("ocr" if mode == "ocr" else "embedded")
        words[mode] = record["text"].split()
    assert words["ocr"] == words["keep"] == "Invoice 2024 Total due 12.50".split()
