"""`--format pdf`: one searchable PDF per input file; its text, extracted with pypdfium2, is the
records' text; failed pages go to errors.tsv; writes are atomic and resume works per file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from conftest import SAMPLES

from fake_engine import draw_page
from pdf_files import scan_pdf
from pipeline.config import Config
from pipeline.inputs.pdf import render_page
from pipeline.output.formats import completed_pages
from pipeline.output.pdfwrite import add_image_page, add_text_layer, glyphless_font, new_document, save_bytes
from pipeline.run.runner import run
from pipeline.run.settings import run_config


def _page_texts(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def _words(text: str) -> list[str]:
    return text.split()


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "sub" / "a.png"), draw_page([50, 120]))
    scan_pdf(folder / "doc.pdf", [draw_page([30]), draw_page([200, 80])])
    (folder / "bad.png").write_bytes(b"not a png")
    return folder


def test_one_searchable_pdf_per_input_file(tmp_path: Path, fake_engine: str) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "pdf"
    jsonl = tmp_path / "out.jsonl"
    run([folder], run_config(None, {"workers": 2, "output": str(jsonl)}), quiet=True)
    records = {(r["image"], r["page"]): r for r in map(json.loads, jsonl.read_text(encoding="utf-8").splitlines())}
    summary = run([folder], run_config(None, {"workers": 2, "output": str(out), "format": "pdf"}), quiet=True)
    assert (summary.ok, summary.failed) == (3, 1)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))  # not the lock and keys files
    assert files == ["doc.pdf.pdf", "errors.tsv", "sub/a.png.pdf"]
    # The text layer holds the records' lines, page by page.
    assert [_words(t) for t in _page_texts(out / "doc.pdf.pdf")] == [
        _words(records[("doc.pdf", p)]["text"]) for p in range(2)]
    assert _words(_page_texts(out / "sub" / "a.png.pdf")[0]) == ["50x8", "120x8"]
    # ... invisibly, over the page image: rendered, the page looks like the input.
    pixels = render_page(out / "sub" / "a.png.pdf", 0, 300, 10**8)
    assert np.abs(pixels.astype(int) - draw_page([50, 120])).mean() < 3
    # ... and where the lines are: the text of the first line's box is its line.
    doc = pdfium.PdfDocument(str(out / "doc.pdf.pdf"))
    textpage = doc[1].get_textpage()
    left, top, right, bottom = 10 * 72 / 300, doc[1].get_height() - 10 * 72 / 300, 210 * 72 / 300, doc[1].get_height() - 18 * 72 / 300
    assert textpage.get_text_bounded(left - 1, bottom - 1, right + 1, top + 1).strip() == "200x8"
    doc.close()
    assert "bad.png\t0\t" in (out / "errors.tsv").read_text(encoding="utf-8")
    assert completed_pages(out, "pdf") == set(records)


def test_resume_redoes_only_files_without_their_pdf(tmp_path: Path, fake_engine: str) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "pdf"
    config = run_config(None, {"workers": 1, "output": str(out), "format": "pdf"})
    run([folder], config, quiet=True)
    before = (out / "sub" / "a.png.pdf").stat().st_mtime_ns
    (out / "doc.pdf.pdf").unlink()
    (out / ".pipeline-0123456789ab.tmp").write_bytes(b"%PDF-1.7 half")  # a write cut off by a kill
    again = run([folder], config, quiet=True)
    assert (again.skipped, again.ok, again.failed) == (2, 2, 0)
    assert len(_page_texts(out / "doc.pdf.pdf")) == 2
    assert (out / "sub" / "a.png.pdf").stat().st_mtime_ns == before
    assert not (out / ".pipeline-0123456789ab.tmp").exists()
    # --retry-errors: bad.png is tried again (and fails again, once in errors.tsv).
    retried = run([folder], config, quiet=True, retry_errors=True)
    assert (retried.skipped, retried.failed) == (3, 1)
    assert (out / "errors.tsv").read_text(encoding="utf-8").count("bad.png") == 1


def test_a_stopped_run_writes_no_partial_file(tmp_path: Path, fake_engine: str) -> None:
    from pipeline.inputs.discover import discover
    from pipeline.output.pdf import PdfSink
    from pipeline.run.runner import sink_context

    folder = _folder(tmp_path)
    images = discover([folder]).images
    sink = PdfSink(tmp_path / "pdf", context=sink_context(images, run_config(None)))
    record = {"image": "doc.pdf", "page": 0, "status": "ok", "text": "", "lines": [], "error": None}
    sink.write(record)  # page 1 of 2 never comes
    sink.close()
    assert not (tmp_path / "pdf" / "doc.pdf.pdf").exists()
    assert completed_pages(tmp_path / "pdf", "pdf") == set()


def test_real_engine_searchable_pdf_text_is_the_records_text(tmp_path: Path, config: Config) -> None:
    out = tmp_path / "pdf"
    jsonl = tmp_path / "out.jsonl"
    image = SAMPLES / "screenshot_ui.png"
    run([image], replace(config, workers=1, output=str(jsonl)), quiet=True)
    (record,) = map(json.loads, jsonl.read_text(encoding="utf-8").splitlines())
    run([image], replace(config, workers=1, output=str(out), format="pdf"), quiet=True)
    (text,) = _page_texts(out / "screenshot_ui.png.pdf")
    assert _words(text) == _words(record["text"]) and _words(text)


def test_a_page_found_turned_is_written_turned_back(tmp_path: Path, fake_engine: str) -> None:
    """Boxes of a page found turned are on the page turned back: so is the page in the PDF."""
    from pipeline.inputs.discover import discover
    from pipeline.output.pdf import PdfSink
    from pipeline.run.runner import sink_context

    folder = _folder(tmp_path)
    images = discover([folder]).images
    sink = PdfSink(tmp_path / "pdf", context=sink_context(images, run_config(None)))
    box = [[10, 10], [59, 10], [59, 17], [10, 17]]
    for page in range(2):
        sink.write({"image": "doc.pdf", "page": page, "status": "ok", "text": "", "error": None,
                    "lines": [{"text": "turned", "score": 0.9, "box": box}], "orientation": 90 * page})
    sink.close()
    doc = pdfium.PdfDocument(str(tmp_path / "pdf" / "doc.pdf.pdf"))
    sizes = [tuple(round(v * 300 / 72) for v in doc[i].get_size()) for i in range(2)]
    doc.close()
    assert sizes == [(400, 34), (48, 400)]  # page 1 (400 x 48 pixels) turned back by 90 degrees
    assert [_words(t) for t in _page_texts(tmp_path / "pdf" / "doc.pdf.pdf")] == [["turned"], ["turned"]]


def test_every_script_survives_the_text_layer(tmp_path: Path, fake_engine: str) -> None:
    """The glyphless font has a glyph for every character used: CJK, Cyrillic, accents, symbols."""
    from pipeline.inputs.discover import discover
    from pipeline.output.pdf import PdfSink
    from pipeline.run.runner import sink_context

    folder = _folder(tmp_path)
    sink = PdfSink(tmp_path / "pdf", context=sink_context(discover([folder]).images, run_config(None)))
    texts = ["会议通知 第3号", "Привет, мир", "café € ½ — “quoted”"]
    lines = [{"text": t, "score": 0.9, "box": [[10, 2 + 15 * i], [390, 2 + 15 * i], [390, 14 + 15 * i], [10, 14 + 15 * i]]}
             for i, t in enumerate(texts)]
    sink.write({"image": "sub/a.png", "page": 0, "status": "ok", "text": "", "error": None, "lines": lines})
    sink.close()
    (text,) = _page_texts(tmp_path / "pdf" / "sub" / "a.png.pdf")
    assert [line.strip() for line in text.splitlines()] == texts


def test_text_layer_keeps_one_character_lines_and_neighbours_apart_inside_their_boxes() -> None:
    """A one-character line (a tick, a page number, 中) is in the extracted text, a line right beside
    it on its baseline stays a word of its own, and every character sits inside its line's box."""
    lines = [{"text": "√", "score": 1.0, "box": [[10, 10], [40, 10], [40, 40], [10, 40]]},
             {"text": "File saved", "score": 1.0, "box": [[41, 10], [300, 10], [300, 40], [41, 40]]},
             {"text": "7", "score": 1.0, "box": [[10, 100], [30, 100], [30, 130], [10, 130]]},
             {"text": "中", "score": 1.0, "box": [[100, 100], [140, 100], [140, 130], [100, 130]]}]
    with new_document() as doc:
        page = add_image_page(doc, np.full((200, 400, 3), 255, np.uint8), 72)
        add_text_layer(doc, page, lines, 1.0, glyphless_font(doc, [line["text"] for line in lines]))
        data = save_bytes(doc)
    pdf = pdfium.PdfDocument(data)
    try:
        textpage = pdf[0].get_textpage()
        assert textpage.get_text_range().split() == ["√", "File", "saved", "7", "中"]
        for i in range(textpage.count_chars()):
            char = textpage.get_text_range(i, 1)
            if char.isspace():
                continue
            left, bottom, right, top = textpage.get_charbox(i)
            box = next(line["box"] for line in lines if char in line["text"])
            assert box[0][0] - 0.5 <= left < right <= box[1][0] + 0.5, char
            assert 200 - box[2][1] - 0.5 <= bottom < top <= 200 - box[0][1] + 0.5, char
    finally:
        pdf.close()
