"""`pipeline review`: the static review page, built from real runs and from hand-made records, and
checked in headless Chromium for what it shows (pages listed, boxes drawn, error reasons), with
hostile names and text. The browser tests skip only where no chromium binary is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import ExitCode
from pipeline.output.csv import CsvSink
from pipeline.output.jsonl import JsonlSink
from pipeline.tools.review.build import ReviewOptions, build_review
from pipeline.tools.review.chromium import Chromium, Tab, find_chromium
from pipeline.tools.review.load import load
from pipeline.tools.review.order import DOUBT, EMPTY, ERROR, FINE, Thresholds, review_order
from pipeline.tools.review.site import safe_json

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
CHROMIUM = find_chromium() if os.name == "posix" else None
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)")

# A file name that is markup, and recognized text that would end a script and start another.
HOSTILE_NAME = '"><img src=x onerror=document.body.setAttribute(`data-pwned`,1)>.jpg'
HOSTILE_TEXT = '</script><script>document.body.setAttribute("data-pwned","2")</script><!--'
PWNED = "document.body.hasAttribute('data-pwned')"


# --- helpers ---------------------------------------------------------------------------------------


def _line(text: str, score: float, x: int = 10, y: int = 10, block: int = 0) -> dict[str, Any]:
    return {"text": text, "score": score, "box": [[x, y], [x + 200, y], [x + 200, y + 30], [x, y + 30]], "block": block}


def _ok(image: str, lines: list[dict[str, Any]], page: int = 0, **extra: Any) -> dict[str, Any]:
    text = "\n".join(line["text"] for line in lines if isinstance(line, dict) and isinstance(line.get("text"), str))
    return {"image": image, "page": page, "status": "ok", "text": text,
            "lines": lines, "error": None, **extra}


def _error(image: str, reason: str, page: int = 0) -> dict[str, Any]:
    return {"image": image, "page": page, "status": "error", "text": "", "lines": [], "error": reason}


def _write_jsonl(path: Path, records: list[dict[str, Any]], base: Path | None = None) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    if base is not None:  # what a run stores beside its output
        path.with_name(path.name + ".keys.json").write_text(json.dumps({"base": str(base)}), encoding="utf-8")
    return path


def _data(folder: Path, name: str) -> Any:
    """The JSON a data file hands to the page."""
    text = (folder / "data" / name).read_text(encoding="utf-8")
    match = re.fullmatch(r'REVIEW\.put\("(\w+)",(\d+),(.*)\);\n', text, re.S)
    assert match, text[:200]
    return json.loads(match.group(3))


def _build(results: Path, out: Path, **options: Any) -> Any:
    return build_review(results, out, load_config(None), ReviewOptions(**options))


def _show(browser: Chromium, folder: Path, address: str = "") -> Tab:
    """The review page open in a tab, once it says it is drawn (or shows a problem)."""
    tab = browser.open((folder / "index.html").resolve().as_uri() + (f"#{address}" if address else ""))
    tab.wait_for("document.body && (document.body.hasAttribute('data-ready') || "
                 "document.body.hasAttribute('data-problem'))")
    assert tab.evaluate("document.body.getAttribute('data-problem')") is None
    return tab


def _go(tab: Tab, address: str, until: str) -> None:
    tab.evaluate(f"location.hash = {json.dumps(address)}")
    tab.wait_for(until)


def _listed(tab: Tab) -> int:
    return int(tab.evaluate("document.getElementById('listed').getAttribute('data-count')"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    if CHROMIUM is None:
        pytest.skip("no chromium binary (Debian: apt-get install chromium)")
    with Chromium(CHROMIUM) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run over sample_images, plus a copy of the receipt under a hostile name and an empty
    file (an error record): its results.jsonl, with the key base beside it."""
    root = tmp_path_factory.mktemp("review-run")
    scans = root / "scans"
    shutil.copytree(SAMPLES, scans, ignore=shutil.ignore_patterns("*.md", "*.json"))
    shutil.copy(SAMPLES / "receipt_en.jpg", scans / HOSTILE_NAME)
    (scans / "empty.png").write_bytes(b"")
    results = root / "results.jsonl"
    assert main(["run", str(scans), "-o", str(results), "--backend", "serial", "-q"]) == ExitCode.IMAGES_FAILED
    return results


# --- in the browser ----------------------------------------------------------------------------------


@needs_chromium
def test_the_page_of_a_real_run_lists_every_page_draws_boxes_and_shows_errors(
        sample_run: Path, tmp_path: Path, browser: Chromium) -> None:
    records = [json.loads(line) for line in sample_run.read_text(encoding="utf-8").splitlines()]
    out = tmp_path / "review"
    assert main(["review", str(sample_run), "-o", str(out)]) == ExitCode.OK

    tab = _show(browser, out, "view=0")
    assert _listed(tab) == len(records) == 9  # 7 sample pages, the hostile copy, the empty file
    assert tab.evaluate("document.querySelectorAll('#rows tr').length") == 9
    # Errors come first, with their reason in the list and in the page view.
    assert tab.evaluate("document.querySelector('#rows tr td.status').textContent") == "error"
    assert "empty file" in tab.evaluate("document.querySelector('#rows tr td.why').textContent")
    assert tab.evaluate("document.getElementById('view-error').getBoundingClientRect().height") > 0  # on screen
    assert "empty file (0 bytes)" in tab.evaluate("document.getElementById('view-error').textContent")

    # The letter: its thumbnail shown, and one box drawn over it per line, inside the image.
    position = tab.evaluate("[...document.querySelectorAll('#rows tr')].findIndex("
                            "tr => tr.querySelector('td.name').textContent === 'letter_en.png')")
    letter = next(record for record in records if record["image"] == "letter_en.png")
    _go(tab, f"view={position}", f"document.getElementById('view').getAttribute('data-position') === '{position}'"
                                 " && document.getElementById('scan').complete")
    assert tab.evaluate("document.getElementById('scan').naturalWidth") > 0
    assert tab.evaluate("document.querySelectorAll('#boxes polygon').length") == len(letter["lines"]) > 3
    assert tab.evaluate("document.querySelectorAll('#lines li').length") == len(letter["lines"])
    assert tab.evaluate("[...document.querySelectorAll('#lines li .text')].map(n => n.textContent)") == [
        line["text"] for line in letter["lines"]]
    inside = tab.evaluate("""(() => {
        const page = document.getElementById('scan').getBoundingClientRect();
        return [...document.querySelectorAll('#boxes polygon')].every(p => {
            const r = p.getBoundingClientRect();
            return r.width > 5 && r.height > 5 && r.left >= page.left - 1 && r.right <= page.right + 1
                && r.top >= page.top - 1 && r.bottom <= page.bottom + 1; });
    })()""")
    assert inside
    # Block and reading order: a number per box, and a path through them.
    assert tab.evaluate("document.querySelectorAll('#boxes text').length") == len(letter["lines"])
    assert tab.evaluate("document.querySelectorAll('#boxes polyline.order').length") == 1

    # The hostile name is shown as text; nothing it holds became an element or ran.
    assert HOSTILE_NAME in tab.evaluate("[...document.querySelectorAll('#rows td.name')].map(n => n.textContent)")
    assert tab.evaluate("document.querySelectorAll('img').length") == 1  # the page view's own
    assert not tab.evaluate(PWNED)
    tab.close()


@needs_chromium
def test_hostile_text_and_names_are_shown_as_text_never_run(tmp_path: Path, browser: Chromium) -> None:
    records = [
        _ok("</script>.png", [_line(HOSTILE_TEXT, 0.5), _line('"><img src=x onerror=alert(1)>', 0.99, y=60)]),
        _ok(HOSTILE_NAME, [_line("<b>bold?</b> & more", 0.97)]),
    ]
    out = tmp_path / "review"
    _build(_write_jsonl(tmp_path / "results.jsonl", records), out)
    for name in os.listdir(out / "data"):
        assert "</" not in (out / "data" / name).read_text(encoding="utf-8")
    tab = _show(browser, out, "view=0")
    assert tab.evaluate("document.getElementById('view-name').textContent") == "</script>.png"
    assert tab.evaluate("[...document.querySelectorAll('#lines li .text')].map(n => n.textContent)") == [
        HOSTILE_TEXT, '"><img src=x onerror=alert(1)>']
    assert tab.evaluate("document.querySelectorAll('#lines li.low').length") == 1  # 0.5 < 0.8
    assert tab.evaluate("document.querySelectorAll('#boxes polygon.low').length") == 1
    _go(tab, "view=1", "document.getElementById('view').getAttribute('data-position') === '1'")
    assert tab.evaluate("document.getElementById('view-name').textContent") == HOSTILE_NAME
    assert tab.evaluate("document.querySelector('#lines li .text').textContent") == "<b>bold?</b> & more"
    assert tab.evaluate("document.querySelectorAll('b, script:not([src]), img:not(#scan)').length") == 0
    assert not tab.evaluate(PWNED)
    tab.close()


@needs_chromium
def test_filters_for_errors_and_score_range(tmp_path: Path, browser: Chromium) -> None:
    records = [_error(f"bad{i}.png", f"cannot decode image {i}") for i in range(3)]
    records += [_ok(f"page{i}.png", [_line("some words here", score)]) for i, score in
                enumerate([0.55, 0.65, 0.75, 0.95, 0.99])]
    records.append(_ok("blank.png", []))
    out = tmp_path / "review"
    _build(_write_jsonl(tmp_path / "results.jsonl", records), out)
    tab = _show(browser, out)
    assert _listed(tab) == 9
    # The form, as a user works it.
    tab.evaluate("document.getElementById('status').value = 'errors'; document.getElementById('filters').requestSubmit()")
    tab.wait_for("document.getElementById('listed').getAttribute('data-count') === '3'")
    assert tab.evaluate("[...document.querySelectorAll('#rows td.status')].every(n => n.textContent === 'error')")
    _go(tab, "from=0.6&to=0.8", "document.getElementById('listed').getAttribute('data-count') === '2'")
    assert sorted(tab.evaluate("[...document.querySelectorAll('#rows td.name')].map(n => n.textContent)")) == [
        "page1.png", "page2.png"]
    _go(tab, "status=ok", "document.getElementById('listed').getAttribute('data-count') === '6'")
    # Previous and next in the page view step through what the filter lets through.
    _go(tab, "from=0.6&to=0.8&view=5", "document.getElementById('view').getAttribute('data-position') === '5'")
    assert tab.evaluate("document.getElementById('view-name').textContent") == "page1.png"
    assert tab.evaluate("document.getElementById('view-prev').disabled")
    tab.evaluate("document.getElementById('view-next').click()")
    tab.wait_for("document.getElementById('view').getAttribute('data-position') === '6'")
    assert tab.evaluate("document.getElementById('view-name').textContent") == "page2.png"
    assert tab.evaluate("document.getElementById('view-next').disabled")
    tab.close()


@needs_chromium
def test_a_large_output_is_listed_a_screen_at_a_time(tmp_path: Path, browser: Chromium) -> None:
    records = [_ok(f"p{i:05d}.png", [_line(f"line {i}", 0.9 + (i % 100) / 1001)]) for i in range(2500)]
    out = tmp_path / "review"
    _build(_write_jsonl(tmp_path / "results.jsonl", records), out)
    assert len(list((out / "data").glob("list-*.js"))) == 5 and len(list((out / "data").glob("page-*.js"))) == 25
    tab = _show(browser, out)
    assert _listed(tab) == 2500
    assert tab.evaluate("document.querySelectorAll('#rows tr').length") == 100
    # Only what the screen needs was loaded: the summary and the first list chunk.
    assert tab.evaluate("REVIEW.requested") == ["data/summary.js", "data/list-0000.js"]
    _go(tab, "list=12", "document.querySelector('#rows tr').getAttribute('data-position') === '1200'")
    _go(tab, "list=12&view=2499", "document.getElementById('view').getAttribute('data-position') === '2499'")
    assert tab.evaluate("document.querySelectorAll('#boxes polygon').length") == 1
    tab.close()


# --- building ----------------------------------------------------------------------------------------


def test_pages_are_ordered_by_need_of_a_look_with_reasons(tmp_path: Path) -> None:
    many = [_line("a long line of ordinary text", 0.99, y=10 + 40 * k) for k in range(10)]
    records = [
        _ok("fine.png", many, width=1000, height=1000),
        _ok("low-line.png", [*many[:9], _line("smudge", 0.42)], width=1000, height=1000),
        _error("broken.png", "cannot decode image: truncated file"),
        _ok("blank.png", [], width=1000, height=1000),
        _ok("low-mean.png", [_line(f"meh {k} words here ok", 0.85, y=40 * k) for k in range(10)], width=1000, height=1000),
        _ok("sparse.png", [_line("x", 0.99)], width=1000, height=1000),
        *(_ok(f"fine{k}.png", many, width=1000, height=1000) for k in range(2, 10)),
    ]
    loaded = load(_write_jsonl(tmp_path / "results.jsonl", records), "jsonl")
    ordered = review_order(loaded.pages, Thresholds())
    names = [loaded.pages[item.index].image for item in ordered]
    tiers = [item.tier for item in ordered]
    assert names[:2] == ["broken.png", "blank.png"] and tiers[:2] == [ERROR, EMPTY]
    assert set(names[2:5]) == {"low-line.png", "low-mean.png", "sparse.png"} and tiers[2:5] == [DOUBT] * 3
    assert tiers[5:] == [FINE] * 9
    reasons = {loaded.pages[item.index].image: " ".join(item.reasons) for item in ordered}
    assert reasons["broken.png"] == "error: cannot decode image: truncated file"
    assert reasons["blank.png"] == "no text found"
    assert "lowest line score 0.42" in reasons["low-line.png"]
    assert "mean line score 0.85" in reasons["low-mean.png"]
    assert "few characters for its size: 1 on 1.0 megapixels" in reasons["sparse.png"]
    assert reasons["fine.png"] == ""
    assert names.index("low-line.png") < names.index("low-mean.png")  # 0.42/0.8 is further under than 0.85/0.9
    # Two pages are no run to take a median of: neither has "few characters for its size".
    two = load(_write_jsonl(tmp_path / "two.jsonl", [records[0], records[5]]), "jsonl")
    assert all(item.tier == FINE for item in review_order(two.pages, Thresholds()))


def test_a_watch_log_counts_the_latest_record_of_each_page(tmp_path: Path) -> None:
    records = [_ok("a.png", [_line("old text", 0.5)], sha256="1" * 64), _ok("b.png", [_line("b", 0.9)]),
               _ok("a.png", [_line("new text", 0.99)], sha256="2" * 64)]
    results = _write_jsonl(tmp_path / "results.jsonl", records)
    with open(results, "ab") as handle:
        handle.write(b'{"image": "c.png", "page": 0, "sta')  # a record still being written
    loaded = load(results, "jsonl")
    assert [(page.image, page.low) for page in loaded.pages] == [("b.png", 0.9), ("a.png", 0.99)]
    assert (loaded.records, loaded.superseded, loaded.skipped) == (3, 1, 1)
    out = tmp_path / "review"
    report = _build(results, out)
    assert report.counts["pages"] == 2
    texts = [view["l"][0][0] for view in _data(out, "page-0000.js")]
    assert sorted(texts) == ["b", "new text"]
    assert _data(out, "summary.js")["histogram"][19] == 1  # 0.99 counted; the superseded 0.5 is not
    assert results.read_bytes().endswith(b'"sta')  # the log is only read, never repaired


def test_csv_output_reads_as_its_jsonl_twin(tmp_path: Path) -> None:
    records = [_ok("=HYPERLINK(1).png", [_line("+ formula-like text", 0.7), _line("line\ntwo", 0.99, y=50)]),
               _error("@bad.png", "-1 is not a page"), _ok("multi.tif", [_line("p1", 0.9)], page=1)]
    sinks = [JsonlSink(tmp_path / "r.jsonl"), CsvSink(tmp_path / "r.csv")]
    for sink in sinks:
        for record in records:
            sink.write(record)  # type: ignore[arg-type]
        sink.close()
    jsonl, csv = load(tmp_path / "r.jsonl", "jsonl"), load(tmp_path / "r.csv", "csv")
    assert csv.skipped == 0 and [page.image for page in csv.pages] == ["=HYPERLINK(1).png", "@bad.png", "multi.tif"]
    assert [(p.image, p.page, p.status, p.error, p.chars, p.mean) for p in csv.pages] == [
        (p.image, p.page, p.status, p.error, p.chars, p.mean) for p in jsonl.pages]
    _build(tmp_path / "r.csv", tmp_path / "review")
    assert _data(tmp_path / "review", "summary.js")["format"] == "csv"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_parsing_in_worker_processes_gives_the_same_page(tmp_path: Path, fmt: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.tools.review.load._BATCH", 100)  # many batches in flight at once
    records = [_ok(f"p{i % 1500}.png", [_line(f"text {i}", (i % 97) / 97, y=i % 50)]) for i in range(2500)]
    records[7] = _error("p7.png", "cannot decode")
    results = tmp_path / f"results.{fmt}"
    sink = JsonlSink(results) if fmt == "jsonl" else CsvSink(results)
    for record in records:
        sink.write(record)  # type: ignore[arg-type]
    sink.close()
    with open(results, "ab") as handle:
        handle.write(b"{torn\n" if fmt == "jsonl" else b'"torn,0\r\n')
    alone, spread = tmp_path / "alone", tmp_path / "spread"
    one = _build(results, alone, workers=1)
    two = _build(results, spread, workers=2)
    assert one.counts == two.counts and one.counts["pages"] == 1500
    assert (one.loaded.records, one.loaded.superseded, one.loaded.skipped) == (
        two.loaded.records, two.loaded.superseded, two.loaded.skipped) == (2500, 1000, 1)
    for name in sorted(os.listdir(alone / "data")):
        if name != "summary.js":  # it says when it was built
            assert (alone / "data" / name).read_bytes() == (spread / "data" / name).read_bytes(), name


def test_other_formats_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results").mkdir()
    assert main(["review", str(tmp_path / "results"), "-o", str(tmp_path / "review")]) == ExitCode.USAGE
    assert "txt, hocr and pdf outputs are not supported" in capsys.readouterr().err
    (tmp_path / "page.hocr").write_text("<html><body></body></html>", encoding="utf-8")
    assert main(["review", str(tmp_path / "page.hocr"), "-o", str(tmp_path / "review")]) == ExitCode.USAGE
    assert "neither a jsonl nor a csv output" in capsys.readouterr().err
    assert main(["review", str(tmp_path / "missing.jsonl")]) == ExitCode.USAGE
    assert "no such results file" in capsys.readouterr().err


def _scan(path: Path, size: tuple[int, int]) -> None:
    image = np.full((size[1], size[0], 3), 255, np.uint8)
    cv2.putText(image, "Hello", (50, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 4, (0, 0, 0), 8)
    cv2.imwrite(str(path), image)


def test_thumbnails_are_downscaled_copies_named_by_hash(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    names = ['a "quoted" <name>.png', "b.png", "c.png"]
    for name in names:
        _scan(scans / name, (3000, 2000))
    before = {name: ((scans / name).read_bytes(), (scans / name).stat().st_mtime_ns) for name in names}
    records = [_ok(name, [_line("Hello", 0.5 + k / 10)]) for k, name in enumerate(names)]
    results = _write_jsonl(tmp_path / "results.jsonl", records, base=scans)
    out = tmp_path / "review"
    report = _build(results, out, thumbnails=2, thumb_size=600)
    thumbs = sorted(os.listdir(out / "thumbs"))
    assert report.thumbnails == 2 and len(thumbs) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}\.jpg", name) for name in thumbs)
    for name in thumbs:
        with Image.open(out / "thumbs" / name) as thumb:
            assert thumb.size == (600, 400)
    views = _data(out, "page-0000.js")
    assert [view["t"] is not None for view in views] == [True, True, False]
    assert [(view["w"], view["h"]) for view in views] == [(3000, 2000)] * 3  # boxes' pixels, not the thumbnail's
    assert "first 2 pages" in views[2]["why"]
    assert {name: ((scans / name).read_bytes(), (scans / name).stat().st_mtime_ns) for name in names} == before
    # A rebuild keeps what is still used and removes what is not.
    _build(results, out, thumbnails=1, thumb_size=600)
    assert len(os.listdir(out / "thumbs")) == 1


def test_images_come_from_the_key_base_or_images_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    _scan(scans / "a.png", (800, 600))
    results = _write_jsonl(tmp_path / "results.jsonl", [_ok("a.png", [_line("Hello", 0.9)])], base=scans)
    assert main(["review", str(results), "-o", str(tmp_path / "r1")]) == ExitCode.OK
    assert _data(tmp_path / "r1", "page-0000.js")[0]["t"]
    moved = tmp_path / "elsewhere" / "results.jsonl"  # copied without its key base
    moved.parent.mkdir()
    shutil.copy(results, moved)
    assert main(["review", str(moved), "-o", str(tmp_path / "r2")]) == ExitCode.OK
    view = _data(tmp_path / "r2", "page-0000.js")[0]
    assert view["t"] is None and "give --images DIR" in view["why"]
    assert "give --images DIR" in capsys.readouterr().err
    assert main(["review", str(moved), "-o", str(tmp_path / "r3"), "--images", str(scans)]) == ExitCode.OK
    assert _data(tmp_path / "r3", "page-0000.js")[0]["t"]


@pytest.mark.parametrize("workers", [1, 2])
def test_page_sizes_come_from_image_headers(tmp_path: Path, workers: int) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    pages = [Image.new("RGB", (640, 480), "white"), Image.new("RGB", (300, 900), "white")]
    pages[0].save(scans / "two.tif", save_all=True, append_images=pages[1:])
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees: the reader turns it, so its boxes are on 480 x 640
    Image.new("RGB", (640, 480), "white").save(scans / "turned.jpg", exif=exif)
    records = [_ok("two.tif", [_line("a", 0.9)], page=1), _ok("turned.jpg", [_line("b", 0.9)]),
               _ok("two.tif", [_line("c", 0.9)], page=0, orientation=90), _ok("gone.png", [_line("d", 0.9)])]
    out = tmp_path / "review"
    _build(_write_jsonl(tmp_path / "results.jsonl", records, base=scans), out, thumbnails=0, workers=workers)
    sizes = {entry[0] + str(entry[1]): (view["w"], view["h"])
             for entry, view in zip(_data(out, "list-0000.js"), _data(out, "page-0000.js"))}
    assert sizes == {"two.tif1": (300, 900), "turned.jpg0": (480, 640), "two.tif0": (480, 640),
                     "gone.png0": (None, None)}


def test_keys_that_leave_the_image_folder_are_not_followed(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    _scan(tmp_path / "secret.png", (400, 300))
    results = _write_jsonl(tmp_path / "results.jsonl", [_ok("../secret.png", [_line("x", 0.9)]),
                                                         _ok(str(tmp_path / "secret.png"), [_line("y", 0.9)])],
                           base=scans)
    out = tmp_path / "review"
    report = _build(results, out)
    assert report.thumbnails == 0 and os.listdir(out / "thumbs") == []
    assert {view["why"] for view in _data(out, "page-0000.js")} == {"its path leaves the image folder"}


def test_the_output_folder_must_be_new_empty_or_a_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    _scan(scans / "a.png", (400, 300))
    results = _write_jsonl(tmp_path / "results.jsonl", [_ok("a.png", [_line("x", 0.9)])], base=scans)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["review", str(results), "-o", str(tmp_path / "mine")]) == ExitCode.USAGE
    assert "other things in it" in capsys.readouterr().err
    assert main(["review", str(results), "-o", str(scans / "review")]) == ExitCode.USAGE  # among the scans
    assert "lies inside the input" in capsys.readouterr().err
    assert not (scans / "review").exists()
    assert main(["review", str(results), "-o", str(tmp_path / "review")]) == ExitCode.OK
    assert main(["review", str(results), "-o", str(tmp_path / "review")]) == ExitCode.OK  # its own: rebuilt


def test_malformed_records_and_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    good = _ok("good.png", [_line("fine", 0.9)])
    odd = _ok("odd.png", [
        {"text": 5, "score": True, "box": "[[0,0]]", "block": "1"},
        {"text": "nan box", "score": float("nan"), "box": [[0, 0], [1, float("inf")], [2, 2]]},
        "not a line", {"text": "ok", "score": 0.5, "box": [[0, 0], [10, 0], [10, 10.25]], "block": 3},
    ])
    results.write_text("\n".join([json.dumps(good), "not json", json.dumps({"image": "", "page": 0}),
                                   json.dumps({**good, "page": -1}), json.dumps(odd), "[1, 2]"]) + "\n",
                       encoding="utf-8")
    out = tmp_path / "review"
    report = _build(results, out)
    assert report.counts["pages"] == 2 and report.loaded.skipped == 4
    assert _data(out, "summary.js")["skipped_reasons"][0].startswith("line 2: ")
    odd_view = next(view for entry, view in zip(_data(out, "list-0000.js"), _data(out, "page-0000.js"))
                    if entry[0] == "odd.png")
    assert odd_view["l"] == [["", None, None, None], ["nan box", None, None, None],
                             ["ok", 0.5, [0, 0, 10, 0, 10, 10.2], 3]]


def test_data_files_are_safe_inside_a_script() -> None:
    body = safe_json({"text": "</script><!-- & \u2028", "name": "bad\udcff.png"}).decode("utf-8")
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body
    assert json.loads(body) == {"text": "</script><!-- & \u2028", "name": "bad\udcff.png"}


def test_the_review_command_is_imported_only_when_used() -> None:
    import subprocess
    import sys

    code = "import sys, pipeline.cli; print(any(m.startswith('pipeline.tools.review') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_page_files_are_package_data() -> None:
    from importlib import resources

    from pipeline.tools.review.site import ASSETS

    assets = resources.files("pipeline.tools.review") / "assets"
    assert all((assets / name).is_file() for name in ASSETS)
    # ... and go into the wheel: pyproject.toml names them (tests/test_packaging.py builds it).
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^"pipeline\.tools\.review" = \["assets/\*"\]$', pyproject, re.M)
