"""Issue 18: the README's promises under odd inputs, one test (or more) per row of the issue's
table, each reproducing the case the issue reported: names that are not UTF-8 in every writer of
names, FIFOs and torn ledgers in watch mode, page limits in every sink, resumed PDFs whose page
count changed, exit codes of a resume. Watch mode runs on the fake engine (it is about watching);
the run cases on the real engine."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import cv2
import pypdfium2 as pdfium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import SAMPLES
from fake_engine import draw_page
from pdf_files import line, scan_pdf, text_pdf
from pipeline.cli import main
from pipeline.core.types import ImageRef, Recognized
from pipeline.errors import ExitCode
from pipeline.inputs.pdf import embedded_lines, render_page
from pipeline.ocr.records import ok_record
from pipeline.output.cells import name_cell, neutralise_cell, restore_name_cell
from pipeline.output.formats import completed_pages
from pipeline.output.hocr import HocrSink
from pipeline.output.names import escape_tsv, json_text, unescape_tsv
from pipeline.output.pdf import PdfSink
from pipeline.run.runner import run, sink_context
from pipeline.run.settings import run_config
from pipeline.run.watch import _Inbox, ledger_path, watch

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="file names are bytes on POSIX only")
CAFE = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
BAD = os.fsdecode(b"bad\xff.png")


def _png(path: Path, widths: list[int]) -> Path:
    ok, data = cv2.imencode(".png", draw_page(widths))
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return path


def _utf8(*roots: Path) -> int:
    """How many files lie under `roots`; each must be valid UTF-8 text (PDFs aside)."""
    files = [p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    for path in files:
        if path.suffix != ".pdf":
            path.read_bytes().decode("utf-8")  # strict: raises on anything that is not UTF-8
    return len(files)


def _records(out: Path) -> list[dict]:
    """Every line of a jsonl output, each a whole record (a torn or garbled line fails the test)."""
    return [json.loads(row) for row in out.read_bytes().split(b"\n")[:-1]] if out.exists() else []


def _watch_config(out: Path, **more: object) -> object:
    return run_config(None, {"workers": 1, "output": str(out), "watch.settle_seconds": 0.2,
                              "watch.poll_seconds": 0.2, **more})


def _ok(rel: str, page: int = 0, path: str | None = None) -> dict:
    image = ImageRef(0, path or f"/in/{rel}", rel, page)
    return ok_record(image, [[[1, 1], [20, 1], [20, 8], [1, 8]]], [Recognized("text", 0.9)], 0.0)


# --- row 1: a name that is not UTF-8, in every writer of names ------------------------------------


@posix_only
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt", "hocr", "pdf"])
def test_a_name_that_is_not_utf8_is_escaped_and_resumes_to_its_key(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / os.fsdecode(b"scans\xe9")  # the key base is not UTF-8 either
    folder.mkdir()
    shutil.copy(SAMPLES / "screenshot_ui.png", folder / CAFE)
    (folder / BAD).write_bytes(b"not an image")  # an error record (errors.tsv) under such a name
    out = tmp_path / f"out.{fmt}"
    args = ["run", str(folder), "-o", str(out), "--format", fmt, "--backend", "serial", "-q"]
    assert main(args) == ExitCode.IMAGES_FAILED
    assert _utf8(*tmp_path.glob("out.*")) >= 2
    keys = {(CAFE, 0), (BAD, 0)}
    assert completed_pages(out, fmt) == keys  # read back to the very same keys
    assert main(args) == ExitCode.OK  # a resume: nothing redone, nothing crashes (the exit code is this run's own)
    assert completed_pages(out, fmt) == keys
    if fmt == "jsonl":
        records = _records(out)
        assert len(records) == 2 and {os.fsencode(r["image"]) for r in records} == {b"caf\xe9.png", b"bad\xff.png"}
        assert b'"caf\\udce9.png"' in out.read_bytes()
    if fmt == "csv":
        assert out.read_bytes().count(b"\r\n\tcaf\\udce9.png,0,ok,") == 1


_ANY_TEXT = st.text(st.characters(blacklist_characters="\0"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_the_escapes_are_one_to_one_and_keep_every_existing_name(name: str) -> None:
    assert json.loads(json_text(name)) == name and unescape_tsv(escape_tsv(name)) == name
    assert restore_name_cell(name_cell(name)) == name
    json_text(name).encode("utf-8"), escape_tsv(name).encode("utf-8"), name_cell(name).encode("utf-8")
    if not any("\ud800" <= c <= "\udfff" for c in name):  # names written before: unchanged
        assert json_text(name) == json.dumps(name, ensure_ascii=False)
        assert name_cell(name) == neutralise_cell(name)


@posix_only
def test_watch_ledger_of_a_name_that_is_not_utf8(tmp_path: Path, fake_engine: str) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out.jsonl"
    _png(inbox / CAFE, [40])
    assert watch(inbox, _watch_config(out), once=True, quiet=True).files == 1  # type: ignore[arg-type]
    _utf8(out, ledger_path(out))
    assert watch(inbox, _watch_config(out), once=True, quiet=True).files == 0  # type: ignore[arg-type]
    assert [os.fsencode(r["image"]) for r in _records(out)] == [b"caf\xe9.png"]


# --- row 2: a FIFO in the inbox --------------------------------------------------------------------


@posix_only
def test_watch_once_makes_a_fifo_an_error_record_and_goes_on(tmp_path: Path, fake_engine: str) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out.jsonl"
    _png(inbox / "good.png", [50])
    os.mkfifo(inbox / "x.png")
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(
        watch(inbox, _watch_config(out), once=True, quiet=True)), daemon=True)  # type: ignore[arg-type]
    thread.start()
    thread.join(120)
    if thread.is_alive():  # stuck opening the FIFO: a writer end lets it go, then fail
        os.close(os.open(inbox / "x.png", os.O_WRONLY | os.O_NONBLOCK))
        thread.join(60)
        pytest.fail("watch --once hung on a FIFO")
    records = {r["image"]: r for r in _records(out)}
    assert records["good.png"]["status"] == "ok"
    assert records["x.png"]["status"] == "error" and "not a regular file" in records["x.png"]["error"]


# --- rows 3 and 4: the hocr and pdf sinks read pages with the run's limits, and never stop ---------


def _many_pages_tiff(path: Path, pages: int) -> Path:
    frames = [Image.new("L", (32, 24), 255) for _ in range(pages)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def test_hocr_of_a_tiff_over_the_default_page_limit_but_within_the_configured_one(tmp_path: Path) -> None:
    tiff = _many_pages_tiff(tmp_path / "big.tif", 1001)
    config = run_config(None, {"limits.max_pages": 2000, "format": "hocr"})
    image = ImageRef(0, str(tiff), "big.tif", 1000)
    sink = HocrSink(tmp_path / "out", False, sink_context([image], config))
    sink.write(_ok("big.tif", 1000, str(tiff)))
    sink.close()
    assert "bbox 0 0 32 24" in (tmp_path / "out" / "big.tif.page1000.hocr").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["hocr", "pdf"])
def test_an_input_garbled_after_its_ocr_is_an_error_row_not_a_stop(tmp_path: Path, fmt: str) -> None:
    source = tmp_path / "page.png"
    source.write_bytes(b"garbage, not an image any more")
    config = run_config(None, {"format": fmt})
    context = sink_context([ImageRef(0, str(source), "page.png", 0)], config)
    sink = HocrSink(tmp_path / "out", False, context) if fmt == "hocr" else PdfSink(tmp_path / "out", False, context)
    sink.write(_ok("page.png", 0, str(source)))
    sink.close()
    assert sink.failed_writes == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["errors.tsv"]
    rows = (tmp_path / "out" / "errors.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and rows[1].startswith("page.png\t0\tcannot write this")


# --- rows 5 and 6: a torn ledger --------------------------------------------------------------------


@pytest.mark.parametrize("tail", [b'{"image": "caf\xc3', b'{"image": "ab'], ids=["inside-utf8", "ascii"])
def test_a_torn_ledger_line_is_cut_off_and_the_next_entry_kept(tmp_path: Path, fake_engine: str,
                                                                 tail: bytes) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out.jsonl"
    _png(inbox / "a.png", [50])
    assert watch(inbox, _watch_config(out), once=True, quiet=True).files == 1  # type: ignore[arg-type]
    with open(ledger_path(out), "ab") as ledger:
        ledger.write(tail)  # a kill in the middle of an entry
    _png(inbox / "new.png", [60])
    assert watch(inbox, _watch_config(out), once=True, quiet=True).files == 1  # type: ignore[arg-type]
    entries = [json.loads(row) for row in ledger_path(out).read_bytes().split(b"\n")[:-1]]
    assert [e["image"] for e in entries] == ["a.png", "new.png"]
    # A restart does nothing again: new.png is in the ledger.
    assert watch(inbox, _watch_config(out), once=True, quiet=True).files == 0  # type: ignore[arg-type]


# --- row 7: a resumed PDF whose page count changed -----------------------------------------------------


def _pdf_texts(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]
    finally:
        doc.close()


@pytest.mark.parametrize("pages", [3, 1], ids=["longer", "shorter"])
def test_pdf_output_redoes_an_input_whose_page_count_changed(tmp_path: Path, fake_engine: str, pages: int) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    scan_pdf(folder / "doc.pdf", [draw_page([100]), draw_page([110])], dpi=72)
    config = run_config(None, {"workers": 1, "format": "pdf", "output": str(out), "pdf.dpi": 72})
    run([folder], config, backend="serial", quiet=True)
    assert _pdf_texts(out / "doc.pdf.pdf") == ["100x8", "110x8"]
    widths = [200 + 10 * i for i in range(pages)]
    scan_pdf(folder / "doc.pdf", [draw_page([w]) for w in widths], dpi=72)
    for _ in range(3):  # resumed three times: the same whole file each time
        run([folder], config, backend="serial", quiet=True)
        assert _pdf_texts(out / "doc.pdf.pdf") == [f"{w}x8" for w in widths]


# --- row 8: a PDF over limits.max_file_bytes ------------------------------------------------------------


def test_a_pdf_over_the_file_size_limit_is_one_error_record(tmp_path: Path, fake_engine: str) -> None:
    folder, out = tmp_path / "in", tmp_path / "out.jsonl"
    folder.mkdir()
    pdf = scan_pdf(folder / "doc.pdf", [draw_page([100]), draw_page([110])], dpi=72)
    config = run_config(None, {"workers": 1, "output": str(out), "pdf.dpi": 72,
                                "limits.max_file_bytes": pdf.stat().st_size - 1})
    summary = run([folder], config, backend="serial", quiet=True)
    records = _records(out)
    assert (summary.ok, summary.failed) == (0, 1) and len(records) == 1
    assert "file too large" in records[0]["error"] and "limits.max_file_bytes" in records[0]["error"]


# --- row 9: pdf.text_layer keep on a page with /Rotate --------------------------------------------------


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_embedded_text_of_a_rotated_page_is_boxed_in_the_rendered_pixels(tmp_path: Path, rotation: int) -> None:
    lines = [line("first line", 50, 50, 400, 90), line("second line", 50, 150, 400, 190)]
    upright = text_pdf(tmp_path / "upright.pdf", [lines], size=(1000, 400), dpi=300)
    doc = pdfium.PdfDocument(str(upright))
    doc[0].set_rotation(rotation)
    doc.save(str(tmp_path / "turned.pdf"))
    doc.close()
    pixels = render_page(tmp_path / "turned.pdf", 0, 300, 10**8)
    found = embedded_lines(tmp_path / "turned.pdf", 0, 300, 10**8)
    assert [l["text"] for l in found] == ["first line", "second line"]  # the order of the upright page
    height, width = pixels.shape[:2]
    for got in found:
        (x0, y0), (x1, y1) = got["box"][0], got["box"][2]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        ink = (pixels[y0:y1, x0:x1].min(axis=2) < 128).mean()
        assert ink > 0.1, f"{got['text']}: box {got['box']} on a {width}x{height} page holds no text"


# --- row 10: watch txt, a file replaced by one with fewer pages -------------------------------------


def test_watch_txt_removes_the_pages_a_shorter_replacement_lacks(tmp_path: Path, fake_engine: str) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    frames = [Image.fromarray(draw_page([w])) for w in (50, 60, 70)]
    frames[0].save(inbox / "scan.tif", save_all=True, append_images=frames[1:])
    config = _watch_config(out, format="txt")
    assert watch(inbox, config, once=True, quiet=True).files == 1  # type: ignore[arg-type]
    assert sorted(p.name for p in out.glob("*.txt")) == [f"scan.tif.page000{i}.txt" for i in range(3)]
    time.sleep(0.05)
    Image.fromarray(draw_page([90])).save(inbox / "scan.tif")
    assert watch(inbox, config, once=True, quiet=True).files == 1  # type: ignore[arg-type]
    assert sorted(p.name for p in out.glob("*.txt")) == ["scan.tif.page0000.txt"]
    assert (out / "scan.tif.page0000.txt").read_text(encoding="utf-8") == "90x8\n"


# --- row 11: files inside hidden folders -------------------------------------------------------------


def test_watch_leaves_files_in_hidden_folders_alone(tmp_path: Path, fake_engine: str) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out.jsonl"
    _png(inbox / ".partial" / "half.png", [50])
    _png(inbox / "sub" / ".hidden.png", [50])
    _png(inbox / "sub" / "seen.png", [60])
    assert watch(inbox, _watch_config(out), once=True, quiet=True).files == 1  # type: ignore[arg-type]
    assert [r["image"] for r in _records(out)] == ["sub/seen.png"]


# --- also seen: a skipped symlink warned about once per rescan, forever -----------------------------------


@posix_only
def test_a_skipped_symlink_is_warned_about_once_however_often_watch_rescans(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _png(tmp_path / "outside.png", [50])
    (inbox / "link.png").symlink_to(tmp_path / "outside.png")
    files = _Inbox(inbox, 0.0, {}, follow_symlinks=False)
    for _ in range(5):
        files.scan()
    assert len(files.warnings) == 1 and "link.png" in files.warnings[0]


def test_the_command_line_prints_a_bounded_number_of_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import MAX_WARNINGS, _print_warnings

    _print_warnings([f"skipped /in/link{i}.png" for i in range(1000)])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == MAX_WARNINGS + 1 and lines[-1] == f"warning: ... and {1000 - MAX_WARNINGS} more warnings"


# --- row 13: bad usage is exit 2, naming the key or the path ------------------------------------------


def test_a_config_file_that_is_not_utf8_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "latin.yaml"
    config.write_bytes(b"workers: 1\n# caf\xe9\n")
    assert main(["run", str(SAMPLES), "-o", str(tmp_path / "o.jsonl"), "-c", str(config), "-q"]) == ExitCode.USAGE
    assert "latin.yaml is not UTF-8" in capsys.readouterr().err


def test_a_poll_interval_no_timer_can_hold_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "poll.yaml"
    config.write_text("watch:\n  poll_seconds: 1.0e+15\n", encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    assert main(["watch", str(tmp_path / "inbox"), "-o", str(tmp_path / "o.jsonl"), "-c", str(config)]) == ExitCode.USAGE
    assert "'watch.poll_seconds'" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_that_cannot_be_created_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SAMPLES / "screenshot_ui.png"), "-o", "/proc/x.jsonl", "-q"]) == ExitCode.USAGE
    assert "/proc/x.jsonl" in capsys.readouterr().err


# --- row 14: --ship-bytes with a PDF ---------------------------------------------------------------------


def test_ship_bytes_reads_no_pdf_for_its_worker_to_ignore(tmp_path: Path, fake_engine: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF page is rendered from its path (README: --ship-bytes), so the client no longer reads
    the whole PDF once per page to ship bytes the worker ignores; images are still shipped."""
    import pipeline.run.scheduler as scheduler
    from pipeline.run.backends import BackendOptions

    folder, out = tmp_path / "in", tmp_path / "out.jsonl"
    folder.mkdir()
    scan_pdf(folder / "doc.pdf", [draw_page([100]), draw_page([110])], dpi=72)
    _png(folder / "a.png", [50])
    read: list[str] = []
    original = scheduler.read_bytes
    monkeypatch.setattr(scheduler, "read_bytes", lambda path, most: read.append(path.name) or original(path, most))
    config = run_config(None, {"workers": 1, "output": str(out), "pdf.dpi": 72})
    summary = run([folder], config, backend="serial", quiet=True, options=BackendOptions(ship_bytes=True))
    assert read == ["a.png"] and (summary.ok, summary.failed) == (3, 0)
