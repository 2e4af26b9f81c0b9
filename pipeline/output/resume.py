"""`run --resume`: which pages an existing output already holds, after repairing what a killed run
left behind.

A killed run can leave exactly one kind of damage, because every sink writes a record whole and
flushes it before the next: a torn last record (a prefix of it, possibly cut inside a UTF-8
character). That tail is cut off so its page is done again. Damage anywhere else is not something a
kill produces, so it raises `ResumeError` naming the line instead of guessing. The txt format writes
each page atomically, so there only leftover temporary files and the last row of `errors.tsv` need
care.

Each format's reader is registered in `pipeline.output.formats`; use it through `completed_pages` there::

    done = completed_pages(Path("results.jsonl"), "jsonl")
    todo = [image for image in images if (image.rel, image.page) not in done]
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from pipeline.errors import ResumeError
from pipeline.output.base import ERRORS_TSV, ERRORS_TSV_COLUMNS, atomic_write, is_temp_name, page_relpath, unescape_tsv
from pipeline.output.cells import restore_cell, restore_name_cell
from pipeline.output.csv import CSV_COLUMNS

__all__ = ["Completed", "PageKey", "drop_error_rows", "read_csv", "read_errors_tsv", "read_jsonl", "read_page_files",
           "read_txt"]

log = logging.getLogger(__name__)

PageKey = tuple[str, int]  # (record["image"], record["page"])


class Completed(set):  # type: ignore[type-arg]  # a set[PageKey]
    """The keys of an output's complete records, as a set; `errors` holds those of its error
    records among them (what a run that redoes nothing ends with: exit code 1 if any)."""

    def __init__(self, keys: Iterable[PageKey] = (), errors: Iterable[PageKey] = ()) -> None:
        super().__init__(keys)
        self.errors: set[PageKey] = set(errors)

_STATUSES = ("ok", "error")
# What our sinks write first. A torn tail with no valid record before it is cut off only if it
# starts like this, so a foreign one-line file given as the output is refused, not truncated.
_JSONL_START = b'{"image":'
_CSV_HEADER = (",".join(CSV_COLUMNS) + "\r\n").encode("utf-8")
_CSV_FIELD_LIMIT = 2**31 - 1  # the most every platform's C long holds
_TSV_HEADER = ("\t".join(ERRORS_TSV_COLUMNS) + "\n").encode("utf-8")




@dataclass
class _Scan:
    """One output file read through, line by line (memory grows with the pages, not the bytes)."""

    done: set[PageKey] = field(default_factory=set)  # keys of complete ok records
    errors: set[PageKey] = field(default_factory=set)  # keys of complete error records
    error_spans: list[tuple[int, int]] = field(default_factory=list)  # their byte ranges
    error_keys: list[PageKey] = field(default_factory=list)  # the key of each range
    torn_at: int | None = None  # where a torn last record begins
    # The line ending a complete last record lacks (a kill between the record and its newline):
    # the record is kept and the ending appended.
    missing_newline: bytes = b""

    def add(self, key: PageKey, error: bool, start: int, end: int) -> None:
        if error:
            self.errors.add(key)
            self.error_spans.append((start, end))
            self.error_keys.append(key)
        else:
            self.done.add(key)

    def has_records(self) -> bool:
        return bool(self.done or self.errors)


# --- reading ---------------------------------------------------------------------------------------


def _physical_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(offset, line) with its b"\\n" included; the last may lack one. Only b"\\n" splits: it never
    occurs inside a UTF-8 multi-byte character, unlike the extra breaks str.splitlines knows."""
    offset = 0
    for raw in handle:
        yield offset, raw
        offset += len(raw)


def _damaged(path: Path, where: int | str, why: str) -> ResumeError:
    where = f"line {where}" if isinstance(where, int) else where
    return ResumeError(
        f"{path}: {where} is damaged ({why}); an interrupted run only ever tears the last record, "
        f"so this was changed by something else. Fix or delete it, or start afresh with --overwrite."
    )


def _record_key(obj: Any) -> tuple[PageKey, bool]:
    """(image, page) and whether it is an error record; ValueError if `obj` is no record of ours."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    image, page, status = obj.get("image"), obj.get("page"), obj.get("status")
    if not isinstance(image, str) or not image:
        raise ValueError("no 'image' path")
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        raise ValueError(f"bad 'page' {page!r}")
    if status not in _STATUSES:
        raise ValueError(f"bad 'status' {status!r}")
    return (image, page), status == "error"


def _scan_jsonl(path: Path, handle: BinaryIO, size: int) -> _Scan:
    scan = _Scan()
    for number, (start, raw) in enumerate(_physical_lines(handle), 1):
        end = start + len(raw)
        try:
            if not raw.strip():  # tolerated: says nothing about any page
                if not raw.endswith(b"\n"):
                    raise ValueError("no final newline")
                continue
            # A prefix of a JSON object is never a whole one: a record that parses is complete.
            key, error = _record_key(json.loads(raw))
            if not raw.endswith(b"\n"):
                scan.missing_newline = b"\n"
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            if end < size:
                raise _damaged(path, number, str(exc)) from None
            tail = raw.lstrip()
            if not scan.has_records() and not (tail.startswith(_JSONL_START) or _JSONL_START.startswith(tail)):
                raise ResumeError(f"{path} does not look like a results file of this pipeline "
                                  f"(line {number}: {exc}); not resuming into it") from None
            scan.torn_at = start
            break
        scan.add(key, error, start, end)
    return scan


def _csv_key(row: list[str]) -> tuple[PageKey, bool]:
    if len(row) != len(CSV_COLUMNS):
        raise ValueError(f"{len(row)} columns instead of {len(CSV_COLUMNS)}")
    image, page, status, _text, _error, lines = row
    image = restore_name_cell(image)
    if not image:
        raise ValueError("empty image")
    if not (page.isascii() and page.isdigit()):
        raise ValueError(f"bad page {page!r}")
    if status not in _STATUSES:
        raise ValueError(f"bad status {status!r}")
    if not isinstance(json.loads(lines), list):  # also catches a row cut inside its last field
        raise ValueError("'lines' is not a JSON list")
    return (image, int(page)), status == "error"


def _scan_csv(path: Path, handle: BinaryIO, size: int) -> _Scan:
    scan = _Scan()
    consumed, lines_read = 0, 0
    last_line = b""

    def feed() -> Iterator[str]:
        # csv.reader pulls physical lines only as a row needs them, so `consumed` is the byte offset
        # where the row just returned ends: that is what lets us truncate at a row boundary.
        nonlocal consumed, lines_read, last_line
        for start, raw in _physical_lines(handle):
            consumed, lines_read, last_line = start + len(raw), lines_read + 1, raw
            yield raw.decode("utf-8")

    # A page's `lines` JSON easily passes the csv module's default 128 KiB field limit.
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    # strict: a quoted field cut off by the end of the file is an error, not a short field.
    reader = csv.reader(feed(), strict=True)
    row_number = 0  # as a spreadsheet counts: the header is row 1
    while True:
        start, number, row_number = consumed, lines_read + 1, row_number + 1
        try:
            row = next(reader)
            end = consumed
            # The last field is the `lines` JSON list, and a prefix of one never parses: a row that
            # reads whole is complete, even when its line ending is missing.
            ending = b"" if last_line.endswith(b"\n") else b"\n" if last_line.endswith(b"\r") else b"\r\n"
            if row_number == 1:
                if tuple(row) != CSV_COLUMNS:
                    if ending:
                        raise ValueError("no final newline")
                    raise ResumeError(f"{path} is not a CSV written by this pipeline (its header is {row!r}, "
                                      f"expected {list(CSV_COLUMNS)}); not resuming into it")
                scan.missing_newline = ending
                continue
            if not row:  # a blank line: tolerated
                if ending:
                    raise ValueError("no final newline")
                continue
            key, error = _csv_key(row)
            scan.missing_newline = ending
        except StopIteration:
            break
        except (csv.Error, ValueError) as exc:
            if isinstance(exc, ResumeError):
                raise
            if consumed < size:
                raise _damaged(path, f"row {row_number}, starting on line {number},", str(exc)) from None
            if row_number == 1:
                handle.seek(start)
                if not _CSV_HEADER.startswith(handle.read()):
                    raise ResumeError(f"{path} is not a CSV written by this pipeline (no complete header); "
                                      f"not resuming into it") from None
            scan.torn_at = start
            break
        scan.add(key, error, start, end)
    return scan


def _scan_errors_tsv(path: Path, handle: BinaryIO, size: int) -> _Scan:
    scan = _Scan()
    for number, (start, raw) in enumerate(_physical_lines(handle), 1):
        end = start + len(raw)
        try:
            if not raw.endswith(b"\n"):
                raise ValueError("no final newline")
            if number == 1:
                if raw != _TSV_HEADER:
                    raise ResumeError(f"{path} is not an error list written by this pipeline "
                                      f"(its header is {raw!r}); not resuming into it")
                continue
            fields = raw[:-1].decode("utf-8").split("\t")
            if len(fields) != len(ERRORS_TSV_COLUMNS):
                raise ValueError(f"{len(fields)} columns instead of {len(ERRORS_TSV_COLUMNS)}")
            image, page = unescape_tsv(restore_cell(fields[0])), fields[1]
            if not image or not (page.isascii() and page.isdigit()):
                raise ValueError(f"bad image or page {fields[:2]!r}")
            unescape_tsv(restore_cell(fields[2]))
        except ValueError as exc:
            if isinstance(exc, ResumeError):
                raise
            if end < size:
                raise _damaged(path, number, str(exc)) from None
            if number == 1 and not _TSV_HEADER.startswith(raw):
                raise ResumeError(f"{path} is not an error list written by this pipeline; "
                                  f"not resuming into it") from None
            scan.torn_at = start
            break
        scan.add((image, int(page)), True, start, end)
    return scan


# --- repairing -------------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; not possible (nor needed) on every OS."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_except(path: Path, skip: list[tuple[int, int]], stop: int) -> Iterator[bytes]:
    """The bytes of `path` before `stop`, leaving out the `skip` ranges, in bounded chunks."""
    with open(path, "rb") as source:
        position = 0
        for begin, finish in sorted(skip) + [(stop, stop)]:
            source.seek(position)
            left = begin - position
            while left > 0:
                chunk = source.read(min(left, 1 << 20))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
            position = finish


def _settle(path: Path, size: int, scan: _Scan, retry_errors: bool) -> Completed:
    """Apply the scan: cut a torn tail, end a complete last record's line, drop error records when
    retrying them; the complete keys."""
    if scan.missing_newline:
        with open(path, "ab") as handle:
            handle.write(scan.missing_newline)
            handle.flush()
            os.fsync(handle.fileno())
        size += len(scan.missing_newline)
        log.warning("%s: the last record lacked its line ending (an interrupted run); kept it and added one", path)
    if scan.torn_at is not None:
        log.warning("%s: removed a torn last record (%d bytes) left by an interrupted run; its page will be redone",
                    path, size - scan.torn_at)
    if retry_errors and scan.error_spans:
        # A rewrite, not an edit in place: killed half way, it leaves the old file whole.
        atomic_write(path, _copy_except(path, scan.error_spans, size if scan.torn_at is None else scan.torn_at))
        _fsync_dir(path.parent)
        log.info("%s: removed %d error records to retry their pages", path, len(scan.error_spans))
    elif scan.torn_at is not None:
        with open(path, "r+b") as handle:
            handle.truncate(scan.torn_at)
            handle.flush()
            os.fsync(handle.fileno())
    return Completed(scan.done) if retry_errors else Completed(scan.done | scan.errors, scan.errors)


def _read_file(scanner: Callable[[Path, BinaryIO, int], _Scan]) -> Callable[[Path, bool], Completed]:
    def read(path: Path, retry_errors: bool) -> Completed:
        if path.is_dir():
            raise ResumeError(f"{path} is a folder; this format writes a single file")
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            scan = scanner(path, handle, size)
        return _settle(path, size, scan, retry_errors)

    return read


def _page_of_txt(relpath: str, suffix: str = ".txt") -> PageKey | None:
    """The (image, page) whose output is `relpath` (relative, forward slashes), or None if no page's
    output has that name. Inverts `page_relpath`, which is one-to-one."""
    stem = relpath[: -len(suffix)]
    folder, _, name = stem.rpartition("/")
    base, dot, page = name.rpartition(".page")
    candidates = [(stem, 0)]
    if dot and base and page.isascii() and page.isdigit():
        candidates.insert(0, (f"{folder}/{base}" if folder else base, int(page)))
    for image, number in candidates:
        try:
            if page_relpath(image, number, suffix) == relpath:
                return image, number
        except ValueError:
            pass
    return None


def read_errors_tsv(root: Path, retry_errors: bool) -> Completed:
    """The pages listed in `root/errors.tsv` (none if it is missing), after repairing its tail."""
    errors = root / ERRORS_TSV
    return _read_file(_scan_errors_tsv)(errors, retry_errors) if errors.is_file() else Completed()


def drop_error_rows(root: Path, images: set[str]) -> None:
    """Remove the rows of `images` from `root/errors.tsv` (read by `read_errors_tsv` before), to
    redo those files whole; a rewrite, so a kill half way leaves the old list whole."""
    path = root / ERRORS_TSV
    if not images or not path.is_file():
        return
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        scan = _scan_errors_tsv(path, handle, size)
    spans = [span for key, span in zip(scan.error_keys, scan.error_spans) if key[0] in images]
    if spans:
        atomic_write(path, _copy_except(path, spans, size if scan.torn_at is None else scan.torn_at))
        _fsync_dir(root)


def remove_temp_files(root: Path) -> None:
    """Delete what an atomic write killed half way left behind under `root`."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if is_temp_name(name):
                Path(folder, name).unlink(missing_ok=True)


def read_page_files(suffix: str) -> Callable[[Path, bool], Completed]:
    """The reader of a folder of one file per page named by `page_relpath(image, page, suffix)`."""

    def read(root: Path, retry_errors: bool) -> Completed:
        if not root.is_dir():
            raise ResumeError(f"{root} is a file; the {suffix.lstrip('.')} format writes into a folder")
        remove_temp_files(root)
        done: set[PageKey] = set()
        for folder, _dirs, names in os.walk(root):
            for name in names:
                if name.endswith(suffix):
                    key = _page_of_txt(Path(folder, name).relative_to(root).as_posix(), suffix)
                    if key is not None:
                        done.add(key)
        errors = read_errors_tsv(root, retry_errors)
        return Completed(done | errors, errors.errors)

    return read


# The readers of the output formats (registered in `pipeline.output.formats`): (existing output,
# retry_errors) -> the (image, page) keys it holds complete, after repairing a torn tail.
read_jsonl = _read_file(_scan_jsonl)
read_csv = _read_file(_scan_csv)
read_txt = read_page_files(".txt")
