"""`--resume`: the pages an existing output holds, a torn tail repaired wherever the kill struck,
damage elsewhere refused, error records retried on request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.types import ImageRef, Recognized, Record
from pipeline.errors import ResumeError
from pipeline.ocr.records import error_record, ok_record
from pipeline.output.formats import completed_pages, open_sink
from pipeline.output.writer import OrderedWriter

FILE_FORMATS = ("jsonl", "csv")


def _ok(rel: str, page: int = 0, lines: tuple[str, ...] = ("first line", "第二行, \"quoted\"")) -> Record:
    boxes = [[[0, k], [9, k], [9, k + 1], [0, k + 1]] for k in range(len(lines))]
    return ok_record(ImageRef(0, f"/in/{rel}", rel, page), boxes, [Recognized(t, 0.9) for t in lines], 0.0)


def _err(rel: str, page: int = 0) -> Record:
    return error_record(ImageRef(0, f"/in/{rel}", rel, page), "cannot identify image file")


def _key(record: Record) -> tuple[str, int]:
    return record["image"], record["page"]


def _write(fmt: str, output: Path, records: list[Record], append: bool = False) -> None:
    with OrderedWriter(open_sink(fmt, output, append)) as writer:
        for position, record in enumerate(records):
            writer.put(position, record)


# Three records; the last is long, multi-line and non-ASCII, so cuts fall inside quoted CSV fields,
# between \r and \n, and inside UTF-8 characters.
RECORDS = [_ok("a.png"), _err("dir/b c.png"), _ok('sub/通知 "x".tif', 2, ("ligne é", "二行目", 'a "q", b'))]


def _layout(fmt: str, tmp_path: Path) -> tuple[Path, bytes, int]:
    """A complete 3-record output: its path, bytes, and where the last record starts."""
    output = tmp_path / f"full.{fmt}"
    _write(fmt, output, RECORDS[:2])
    start = output.stat().st_size
    _write(fmt, output, RECORDS[2:], append=True)
    return output, output.read_bytes(), start


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_complete_output_is_read_and_left_alone(tmp_path: Path, fmt: str) -> None:
    output, full, _ = _layout(fmt, tmp_path)
    assert completed_pages(output, fmt) == {_key(r) for r in RECORDS}
    assert output.read_bytes() == full


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_torn_tail_at_every_byte_of_the_last_record(tmp_path: Path, fmt: str) -> None:
    _, full, start = _layout(fmt, tmp_path)
    first_two = {_key(r) for r in RECORDS[:2]}
    output = tmp_path / f"cut.{fmt}"
    whole = full.rstrip(b"\r\n")  # the last record complete, only its line ending missing
    for cut in range(start, len(full)):
        output.write_bytes(full[:cut])
        if cut >= len(whole):  # kept, and its line ending completed
            assert completed_pages(output, fmt) == {_key(r) for r in RECORDS}, f"cut at byte {cut}"
            assert output.read_bytes() == full, f"cut at byte {cut}"
            continue
        assert completed_pages(output, fmt) == first_two, f"cut at byte {cut}"
        assert output.read_bytes() == full[:start], f"cut at byte {cut}"
    output.write_bytes(full[:start])
    # And a resumed run appends exactly what was lost: the result is the uninterrupted file.
    _write(fmt, output, RECORDS[2:], append=True)
    assert output.read_bytes() == full


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_torn_first_record_or_header_leaves_an_empty_start(tmp_path: Path, fmt: str) -> None:
    output = tmp_path / f"one.{fmt}"
    _write(fmt, output, RECORDS[:1])
    full = output.read_bytes()
    for cut in range(1, len(full.rstrip(b"\r\n"))):  # (a whole record lacking its line ending is kept)
        output.write_bytes(full[:cut])
        assert completed_pages(output, fmt) == set(), f"cut at byte {cut}"
        assert full.startswith(output.read_bytes())
        # csv keeps its header once its text is whole (a missing line ending is added); else nothing is left
        header = b"image,page,status,text,error,lines"
        kept = header + b"\r\n" if fmt == "csv" and cut >= len(header) else b""
        assert output.read_bytes() == kept, f"cut at byte {cut}"
    _write(fmt, output, RECORDS[:1], append=True)
    assert output.read_bytes() == full


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_a_page_with_very_many_lines_is_read_back(tmp_path: Path, fmt: str) -> None:
    # Its `lines` JSON is far over the csv module's default 128 KiB field limit.
    big = _ok("big.png", 0, tuple(f"line {k} " + "字" * 40 for k in range(2000)))
    output = tmp_path / f"big.{fmt}"
    _write(fmt, output, [big, _ok("small.png")])
    assert completed_pages(output, fmt) == {("big.png", 0), ("small.png", 0)}


def test_jsonl_invalid_last_line_with_newline_is_a_torn_tail(tmp_path: Path) -> None:
    output, full, start = _layout("jsonl", tmp_path)
    output.write_bytes(full[:start] + b'{"image": "x.png", "pa\n')
    assert completed_pages(output, "jsonl") == {_key(r) for r in RECORDS[:2]}
    assert output.read_bytes() == full[:start]


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_missing_or_empty_output_means_nothing_done(tmp_path: Path, fmt: str) -> None:
    assert completed_pages(tmp_path / f"missing.{fmt}", fmt) == set()
    empty = tmp_path / f"empty.{fmt}"
    empty.write_bytes(b"")
    assert completed_pages(empty, fmt) == set()
    assert completed_pages(tmp_path / "missing-folder", "txt") == set()


def test_csv_header_only_means_nothing_done(tmp_path: Path) -> None:
    output = tmp_path / "r.csv"
    _write("csv", output, [])
    assert output.read_bytes() == b"image,page,status,text,error,lines\r\n"
    assert completed_pages(output, "csv") == set()


def test_jsonl_damage_in_the_middle_is_refused(tmp_path: Path) -> None:
    output, full, _ = _layout("jsonl", tmp_path)
    lines = full.split(b"\n")
    lines[1] = lines[1][:-5]  # a record cut short but followed by more: not what a kill does
    damaged = b"\n".join(lines)
    output.write_bytes(damaged)
    with pytest.raises(ResumeError, match="line 2"):
        completed_pages(output, "jsonl")
    assert output.read_bytes() == damaged  # nothing guessed, nothing changed


def test_jsonl_unrepaired_torn_record_then_more_records_is_refused(tmp_path: Path) -> None:
    # What an older resume that skipped the repair would leave: a torn line glued to the next record.
    output, full, _ = _layout("jsonl", tmp_path)
    first_end = full.index(b"\n") + 1
    damaged = full[: first_end - 10] + full[first_end:]
    output.write_bytes(damaged)
    with pytest.raises(ResumeError, match="line 1"):
        completed_pages(output, "jsonl")
    assert output.read_bytes() == damaged


def test_jsonl_valid_json_that_is_no_record_in_the_middle_is_refused(tmp_path: Path) -> None:
    output, full, start = _layout("jsonl", tmp_path)
    damaged = full[:start] + b'{"image": "z.png", "page": "one", "status": "ok"}\n' + full[start:]
    output.write_bytes(damaged)
    with pytest.raises(ResumeError, match="line 3"):
        completed_pages(output, "jsonl")


@pytest.mark.parametrize(
    "bad_row",
    [
        b"x.png,0,maybe,,,[]\r\n",  # unknown status
        b"x.png,zero,ok,,,[]\r\n",  # page not a number
        b"x.png,0,ok,,[]\r\n",  # a column missing
        b'x.png,0,ok,"a"b,,[]\r\n',  # broken quoting
        b"x.png,0,ok,,,[{\r\n",  # lines not JSON
    ],
)
def test_csv_damage_in_the_middle_is_refused(tmp_path: Path, bad_row: bytes) -> None:
    output, full, start = _layout("csv", tmp_path)
    damaged = full[:start] + bad_row + full[start:]
    output.write_bytes(damaged)
    line = full[:start].count(b"\n") + 1  # row 1 is the header; row 2's text spans two lines
    with pytest.raises(ResumeError, match=f"row 4, starting on line {line}"):
        completed_pages(output, "csv")
    assert output.read_bytes() == damaged


def test_foreign_files_are_refused_not_truncated(tmp_path: Path) -> None:
    cases = {
        "notes.jsonl": (b"just some text", "jsonl"),
        "other.jsonl": (b'{"id": 1}\n{"id": 2}\n', "jsonl"),
        "other.csv": (b"name,value\r\nx,1\r\n", "csv"),
        "short.csv": (b"name,value", "csv"),
    }
    for name, (content, fmt) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ResumeError):
            completed_pages(path, fmt)
        assert path.read_bytes() == content, name


def test_output_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(ResumeError):
        completed_pages(tmp_path / "folder.jsonl", "jsonl")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResumeError):
        completed_pages(tmp_path / "file", "txt")
    with pytest.raises(ValueError, match="unknown output format"):
        completed_pages(tmp_path / "file", "xml")


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_duplicate_keys_are_tolerated(tmp_path: Path, fmt: str) -> None:
    output = tmp_path / f"dup.{fmt}"
    _write(fmt, output, [_ok("a.png"), _ok("a.png"), _ok("b.png")])
    assert completed_pages(output, fmt) == {("a.png", 0), ("b.png", 0)}


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_error_records_are_complete_unless_retried(tmp_path: Path, fmt: str) -> None:
    records = [_ok("a.png"), _err("b.png"), _ok("c.tif", 1), _err("c.tif", 2), _ok("d.png")]
    output = tmp_path / f"r.{fmt}"
    _write(fmt, output, records)
    full = output.read_bytes()
    assert completed_pages(output, fmt) == {_key(r) for r in records}
    assert output.read_bytes() == full  # by default nothing is rewritten

    kept = [r for r in records if r["status"] == "ok"]
    assert completed_pages(output, fmt, retry_errors=True) == {_key(r) for r in kept}
    expected = tmp_path / f"expected.{fmt}"
    _write(fmt, expected, kept)
    assert output.read_bytes() == expected.read_bytes()  # error records gone, the rest byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([output.name, expected.name])  # no temp file left

    # The rerun appends the retried pages once each; a further resume finds everything.
    retried = [_ok("b.png"), _ok("c.tif", 2)]
    _write(fmt, output, retried, append=True)
    assert completed_pages(output, fmt, retry_errors=True) == {_key(r) for r in records}


def test_retry_errors_also_repairs_a_torn_tail(tmp_path: Path) -> None:
    output, full, start = _layout("jsonl", tmp_path)
    output.write_bytes(full[: start + 7])
    assert completed_pages(output, "jsonl", retry_errors=True) == {_key(RECORDS[0])}
    assert [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()] == [RECORDS[0]]


# --- txt ---------------------------------------------------------------------------------------------


TXT_RECORDS = [_ok("a.png"), _err("dir/b c.png"), _ok("sub/通知 \"x\".tif", 0), _ok("sub/通知 \"x\".tif", 1),
               _ok("x.page0003"), _err("e\tf.png", 2)]


def test_txt_pages_are_found_and_temporary_files_removed(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _write("txt", root, TXT_RECORDS)
    (root / "sub" / ".pipeline-0123456789ab.tmp").write_text("half a pa")  # a killed write
    (root / "notes.txt").write_text("?")  # any X.txt is the name of page 0 of an input X
    (root / "sub" / "scan.tif.page0000.page1.txt").write_text("?")  # no page has this name
    assert completed_pages(root, "txt") == {_key(r) for r in TXT_RECORDS} | {("notes", 0)}
    assert not (root / "sub" / ".pipeline-0123456789ab.tmp").exists()
    assert (root / "sub" / "scan.tif.page0000.page1.txt").exists()  # never deletes what is not ours


def test_txt_retry_errors_rewrites_errors_tsv(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _write("txt", root, TXT_RECORDS)
    oks = {_key(r) for r in TXT_RECORDS if r["status"] == "ok"}
    assert completed_pages(root, "txt", retry_errors=True) == oks
    assert (root / "errors.tsv").read_text(encoding="utf-8") == "image\tpage\terror\n"
    _write("txt", root, [_ok("dir/b c.png")], append=True)
    assert completed_pages(root, "txt") == oks | {("dir/b c.png", 0)}


def test_txt_torn_errors_tsv_at_every_byte_of_its_last_row(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _write("txt", root, [_err("a.png"), _err("通知 b.png", 3)])
    errors = root / "errors.tsv"
    full = errors.read_bytes()
    start = full.rindex(b"\n", 0, len(full) - 1) + 1
    for cut in range(start, len(full)):
        errors.write_bytes(full[:cut])
        assert completed_pages(root, "txt") == {("a.png", 0)}, f"cut at byte {cut}"
        assert errors.read_bytes() == full[:start]
    for cut in range(1, len(b"image\tpage\terror\n")):
        errors.write_bytes(full[:cut])
        assert completed_pages(root, "txt") == set()
        assert errors.read_bytes() == b""
    _write("txt", root, [_err("b.png")], append=True)  # an emptied list gets its header back
    assert errors.read_text(encoding="utf-8") == "image\tpage\terror\nb.png\t0\tcannot identify image file\n"


def test_txt_damaged_errors_tsv_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _write("txt", root, [_err("a.png"), _err("b.png")])
    errors = root / "errors.tsv"
    errors.write_bytes(errors.read_bytes().replace(b"a.png\t0", b"a.png\tzero"))
    with pytest.raises(ResumeError, match="line 2"):
        completed_pages(root, "txt")
    errors.write_bytes(b"name\tvalue\n")
    with pytest.raises(ResumeError):
        completed_pages(root, "txt")
