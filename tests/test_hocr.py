"""`--format hocr`: one well-formed hOCR file per page with the page size and each line's box and
confidence, written atomically; failed pages in errors.tsv; resume skips what is there."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2

from fake_engine import draw_page
from pdf_files import scan_pdf
from pipeline.cli import main
from pipeline.errors import ExitCode
from pipeline.output.formats import completed_pages
from pipeline.output.hocr import hocr_page
from pipeline.run.runner import run
from pipeline.run.settings import run_config

XHTML = "{http://www.w3.org/1999/xhtml}"


def _spans(path: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(the page div's attributes, [(line title, line text)]) of a hOCR file, parsed as XML."""
    root = ET.parse(path).getroot()
    (page,) = [div for div in root.iter(f"{XHTML}div") if div.get("class") == "ocr_page"]
    lines = [(span.get("title", ""), span.text or "") for span in page.iter(f"{XHTML}span")
             if span.get("class") == "ocr_line"]
    return dict(page.attrib), lines


def test_hocr_page_escapes_text_and_carries_boxes_and_confidences() -> None:
    record = {"image": 'a&b "c".png', "page": 0, "status": "ok", "text": "", "error": None,
              "lines": [{"text": "x < y & z", "score": 0.876, "box": [[10, 20], [110, 20], [110, 40], [10, 40]]}]}
    text = hocr_page(record, (300, 200))  # type: ignore[arg-type]
    root = ET.fromstring(text)
    (span,) = [s for s in root.iter(f"{XHTML}span")]
    assert span.text == "x < y & z" and span.get("title") == "bbox 10 20 110 40; x_wconf 88"
    (div,) = [d for d in root.iter(f"{XHTML}div")]
    assert div.get("title") == 'image "a&b "c".png"; bbox 0 0 300 200; ppageno 0'


def test_hocr_run_writes_a_file_per_page_and_resumes(tmp_path: Path, fake_engine: str) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "sub" / "a.png"), draw_page([50, 120]))
    scan_pdf(folder / "doc.pdf", [draw_page([30]), draw_page([90, 20])])
    (folder / "bad.png").write_bytes(b"not a png")
    out = tmp_path / "hocr"
    config = run_config(None, {"workers": 1, "output": str(out), "format": "hocr"})
    summary = run([folder], config, quiet=True)
    assert (summary.ok, summary.failed) == (3, 1)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))  # not the lock and keys files
    assert files == ["doc.pdf.page0000.hocr", "doc.pdf.page0001.hocr", "errors.tsv", "sub/a.png.hocr"]
    page, lines = _spans(out / "sub" / "a.png.hocr")
    assert page["title"] == 'image "sub/a.png"; bbox 0 0 400 48; ppageno 0'  # draw_page: 400 wide, 20 + 2 x 14 high
    assert [text for _, text in lines] == ["50x8", "120x8"]
    assert re.fullmatch(r"bbox 10 10 59 17; x_wconf 90", lines[0][0])
    page, lines = _spans(out / "doc.pdf.page0001.hocr")
    assert "ppageno 1" in page["title"] and len(lines) == 2
    assert "bad.png\t0\t" in (out / "errors.tsv").read_text(encoding="utf-8")
    assert completed_pages(out, "hocr") == {("sub/a.png", 0), ("doc.pdf", 0), ("doc.pdf", 1), ("bad.png", 0)}
    # Resume: a half-written page from a killed run is a leftover temporary file, cleaned up; the
    # page whose file is missing is redone, and only it.
    (out / "doc.pdf.page0001.hocr").unlink()
    (out / ".pipeline-0123456789ab.tmp").write_text("<html")
    again = run([folder], config, quiet=True)
    assert (again.skipped, again.ok) == (3, 1)
    assert (out / "doc.pdf.page0001.hocr").is_file() and not (out / ".pipeline-0123456789ab.tmp").exists()


def test_hocr_through_the_command_line(tmp_path: Path, fake_engine: str) -> None:
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), draw_page([40]))
    out = tmp_path / "out"
    assert main(["run", str(image), "--format", "hocr", "-o", str(out), "-q", "-w", "1"]) == ExitCode.OK
    assert [text for _, text in _spans(out / "one.png.hocr")[1]] == ["40x8"]
