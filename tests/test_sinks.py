"""The output formats: what each writes, awkward file names, atomic .txt files, paths that would escape."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.types import ImageRef, Recognized, Record
from pipeline.ocr.records import error_record, ok_record
from pipeline.output.base import escape_tsv, unescape_tsv
from pipeline.output.csv import CSV_COLUMNS, CsvSink
from pipeline.output.formats import FORMATS, completed_pages, open_sink
from pipeline.output.jsonl import JsonlSink
from pipeline.output.resume import _page_of_txt
from pipeline.output.txt import TxtSink, txt_relpath
from pipeline.output.writer import OrderedWriter

# Non-ASCII, spaces, both quotes, a comma: everything a CSV, a shell or a path joiner can trip on.
AWKWARD = 'sub dir/通知 "quoted" it\'s, ok.png'


def _ok(index: int, rel: str, page: int = 0, lines: tuple[str, ...] = ("line one", "línea dos")) -> Record:
    boxes = [[[0, k], [9, k], [9, k + 1], [0, k + 1]] for k in range(len(lines))]
    return ok_record(ImageRef(index, f"/in/{rel}", rel, page), boxes, [Recognized(t, 0.9) for t in lines], 0.0)


def _err(index: int, rel: str, page: int = 0, reason: str = "cannot identify image file") -> Record:
    return error_record(ImageRef(index, f"/in/{rel}", rel, page), reason)


def _write(sink: object, records: list[Record]) -> None:
    with OrderedWriter(sink) as writer:  # type: ignore[arg-type]
        for position in reversed(range(len(records))):  # arrival order must not matter
            writer.put(position, records[position])


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# --- open_sink ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "cls"), [("jsonl", JsonlSink), ("csv", CsvSink), ("txt", TxtSink)])
def test_open_sink_picks_the_format(tmp_path: Path, fmt: str, cls: type) -> None:
    sink = open_sink(fmt, tmp_path / "out", append=False)
    try:
        assert isinstance(sink, cls)
    finally:
        sink.close()


def test_open_sink_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xml"):
        open_sink("xml", tmp_path / "out", append=False)
    with pytest.raises(ValueError, match="xml"):
        completed_pages(tmp_path / "out", "xml")


# The pdf format renders its input files, so its round trip is in test_pdf_output.py, on real files.
@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"pdf"}))
def test_every_format_reads_back_what_its_sink_wrote(tmp_path: Path, fmt: str) -> None:
    records = [_ok(0, "a.png"), _err(1, "sub/b.png"), _ok(2, "scan.tif", 1), _ok(3, AWKWARD)]
    output = tmp_path / FORMATS[fmt].default_output
    _write(open_sink(fmt, output, append=False), records)
    assert completed_pages(output, fmt) == {(r["image"], r["page"]) for r in records}
    # Retrying errors drops them from the output: a rerun (appending) writes them once.
    assert completed_pages(output, fmt, retry_errors=True) == {("a.png", 0), ("scan.tif", 1), (AWKWARD, 0)}
    _write(open_sink(fmt, output, append=True), [_ok(0, "sub/b.png")])
    assert completed_pages(output, fmt) == {(r["image"], r["page"]) for r in records}


# --- jsonl -------------------------------------------------------------------------------------------


def test_jsonl_holds_the_contract_records(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    records = [_ok(0, AWKWARD), _err(1, "b.png"), _ok(2, "scan.tif", 1)]
    _write(open_sink("jsonl", out, append=False), records)
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == records
    assert "通知" in out.read_text(encoding="utf-8")  # UTF-8, not \u escapes


# --- csv ---------------------------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_csv_columns_quoting_and_multiline_text(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    records = [_ok(0, AWKWARD, lines=('say "hi", then', "ünïcode, 中文")), _err(1, "b,c.png"), _ok(2, "empty.png", lines=())]
    _write(open_sink("csv", out, append=False), records)
    rows = _csv_rows(out)
    assert rows[0] == list(CSV_COLUMNS)
    assert rows[1][:5] == [AWKWARD, "0", "ok", 'say "hi", then\nünïcode, 中文', ""]
    assert json.loads(rows[1][5]) == records[0]["lines"]
    assert rows[2] == ["b,c.png", "0", "error", "", "cannot identify image file", "[]"]
    assert rows[3] == ["empty.png", "0", "ok", "", "", "[]"]
    assert len(rows) == 4


def test_csv_header_once_when_appending(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    _write(open_sink("csv", out, append=False), [_ok(0, "a.png")])
    _write(open_sink("csv", out, append=True), [_ok(0, "b.png")])
    _write(open_sink("csv", out, append=True), [_err(0, "c.png")])
    rows = _csv_rows(out)
    assert [r[0] for r in rows] == ["image", "a.png", "b.png", "c.png"]


def test_csv_append_to_a_missing_or_empty_file_writes_the_header(tmp_path: Path) -> None:
    for out in (tmp_path / "new.csv", tmp_path / "empty.csv"):
        if out.name == "empty.csv":
            out.write_bytes(b"")
        _write(open_sink("csv", out, append=True), [_ok(0, "a.png")])
        assert [r[0] for r in _csv_rows(out)] == ["image", "a.png"]


def test_csv_is_flushed_record_by_record(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    writer = OrderedWriter(open_sink("csv", out, append=False))
    writer.put(0, _ok(0, "a.png"))
    assert [r[0] for r in _csv_rows(out)] == ["image", "a.png"]  # readable before close
    writer.close()


# --- txt ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "page", "expected"),
    [
        ("a.png", 0, "a.png.txt"),
        ("a.jpg", 0, "a.jpg.txt"),  # keeps the extension: no clash with a.png
        ("sub/dir/name.png", 0, "sub/dir/name.png.txt"),
        ("scan.tif", 0, "scan.tif.page0000.txt"),  # multi-page formats always carry the page
        ("scan.TIFF", 3, "scan.TIFF.page0003.txt"),
        ("big.tif", 12345, "big.tif.page12345.txt"),
        ("odd.png", 2, "odd.png.page0002.txt"),
        ("notes.page7", 0, "notes.page7.page0000.txt"),  # looks paged already: made unambiguous
        ("./a/./b.png", 0, "a/b.png.txt"),
    ],
)
def test_txt_names(image: str, page: int, expected: str) -> None:
    assert txt_relpath(image, page) == expected


@pytest.mark.parametrize("image", ["../up.png", "a/../../up.png", "a/..", "/etc/passwd", "", ".", "sub/"])
def test_txt_path_that_would_escape_the_root_is_refused(tmp_path: Path, image: str) -> None:
    root = tmp_path / "out"
    with OrderedWriter(TxtSink(root)) as writer:
        writer.put(0, _ok(0, image))  # refused as an errors.tsv row: one bad name never ends the run
    assert _files(tmp_path) == {"out/errors.tsv"}  # nothing written anywhere
    assert "cannot write this page's .txt" in (root / "errors.tsv").read_text(encoding="utf-8")


def test_txt_files_mirror_the_input_tree(tmp_path: Path) -> None:
    root = tmp_path / "out"
    records = [
        _ok(0, AWKWARD),
        _ok(1, "a.png", lines=("png",)),
        _ok(2, "a.jpg", lines=("jpg",)),
        _ok(3, "deep/scan.tif", 0, lines=("p0",)),
        _ok(4, "deep/scan.tif", 1, lines=("p1",)),
        _ok(5, "blank.png", lines=()),
    ]
    _write(open_sink("txt", root, append=False), records)
    assert _files(root) == {
        "errors.tsv",
        'sub dir/通知 "quoted" it\'s, ok.png.txt',
        "a.png.txt",
        "a.jpg.txt",
        "deep/scan.tif.page0000.txt",
        "deep/scan.tif.page0001.txt",
        "blank.png.txt",
    }
    assert (root / AWKWARD).with_name(Path(AWKWARD).name + ".txt").read_bytes() == "line one\nlínea dos\n".encode()
    assert (root / "a.png.txt").read_text(encoding="utf-8") == "png\n"
    assert (root / "a.jpg.txt").read_text(encoding="utf-8") == "jpg\n"
    assert (root / "deep/scan.tif.page0001.txt").read_text(encoding="utf-8") == "p1\n"
    assert (root / "blank.png.txt").read_bytes() == b"\n"
    assert (root / "errors.tsv").read_text(encoding="utf-8") == "image\tpage\terror\n"


def test_txt_errors_go_to_errors_tsv_and_not_to_a_txt(tmp_path: Path) -> None:
    root = tmp_path / "out"
    nasty = "tab\there/new\nline \\ \"q\".png"  # legal POSIX names; one row must stay one line
    _write(open_sink("txt", root, append=False), [_err(0, "bad.png"), _ok(1, "good.png"), _err(2, nasty, 0, "x")])
    assert _files(root) == {"errors.tsv", "good.png.txt"}
    lines = (root / "errors.tsv").read_text(encoding="utf-8").split("\n")
    assert lines[:2] == ["image\tpage\terror", "bad.png\t0\tcannot identify image file"]
    assert [unescape_tsv(f) for f in lines[2].split("\t")] == [nasty, "0", "x"]
    assert lines[3:] == [""]


def test_txt_error_removes_a_stale_txt_of_the_same_page(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _write(open_sink("txt", root, append=False), [_ok(0, "a.png")])
    _write(open_sink("txt", root, append=True), [_err(0, "a.png")])
    assert _files(root) == {"errors.tsv"}


def test_txt_errors_tsv_header_once_when_appending(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _write(open_sink("txt", root, append=False), [_err(0, "a.png")])
    _write(open_sink("txt", root, append=True), [_err(0, "b.png")])
    assert (root / "errors.tsv").read_text(encoding="utf-8").splitlines() == [
        "image\tpage\terror", "a.png\t0\tcannot identify image file", "b.png\t0\tcannot identify image file"]
    _write(open_sink("txt", root, append=False), [_ok(0, "c.png")])  # afresh: old errors gone
    assert (root / "errors.tsv").read_text(encoding="utf-8") == "image\tpage\terror\n"


def test_txt_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "out"
    sink = TxtSink(root)
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        src, dst = Path(src), Path(dst)
        assert src.parent == dst.parent  # same folder: a rename, never a copy across file systems
        assert src.read_bytes() == "line one\nlínea dos\n".encode()  # whole before it appears
        assert not dst.exists()
        events.append(("replace", src.name))
        real_replace(src, dst)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to name fsynced files")
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    _write(sink, [_ok(0, "a.png")])
    assert [kind for kind, _ in events] == ["fsync", "replace"]  # data on disk, then the rename
    temp = events[1][1]
    assert temp.startswith(".pipeline-") and temp.endswith(".tmp") and events[0][1].endswith("/" + temp)
    assert _files(root) == {"a.png.txt", "errors.tsv"}


def test_txt_failed_write_leaves_neither_temporary_nor_final_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "out"

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    sink = TxtSink(root)
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        sink.write(_ok(0, "a.png"))
    sink.close()
    assert _files(root) == {"errors.tsv"}


def test_txt_output_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        open_sink("txt", tmp_path / "file", append=False)


@settings(max_examples=300, deadline=None)
@given(
    # Surrogates included: names that are not UTF-8 (os.fsdecode) are names too.
    st.lists(st.text(st.characters(blacklist_characters="/\0"), min_size=1, max_size=12)
             .filter(lambda p: p not in (".", "..")), min_size=1, max_size=3),
    st.integers(min_value=0, max_value=100_000),
)
def test_txt_names_read_back_to_their_page(parts: list[str], page: int) -> None:
    """txt_relpath is one-to-one: resume recovers (image, page) from every name it makes."""
    image = "/".join(parts)
    assert _page_of_txt(txt_relpath(image, page)) == (image, page)


def test_txt_awkward_names_resume_to_their_keys(tmp_path: Path) -> None:
    root = tmp_path / "out"
    records = [_ok(0, AWKWARD), _ok(1, "x.page0003"), _ok(2, "x", 3), _ok(3, "s/scan.tif", 0), _err(4, "e\tf.png", 2)]
    _write(open_sink("txt", root, append=False), records)
    assert completed_pages(root, "txt") == {(r["image"], r["page"]) for r in records}


def test_tsv_escaping_round_trips() -> None:
    for text in ["", "plain", "a\tb\nc\rd\\e", "\\t literally", "\\", 'quote "x"']:
        escaped = escape_tsv(text)
        assert "\t" not in escaped and "\n" not in escaped and "\r" not in escaped
        assert unescape_tsv(escaped) == text
    with pytest.raises(ValueError):
        unescape_tsv("dangling\\")
    with pytest.raises(ValueError):
        unescape_tsv("bad \\x escape")
