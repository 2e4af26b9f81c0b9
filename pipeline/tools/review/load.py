"""Reading a run's output for the review page: one `PageInfo` per page, the latest record of each.

Only jsonl and csv are read (the formats that keep every page's boxes in one file). The file is
read once, record by record, never held whole: a page keeps a few numbers and what the caller's
`keep` made of its record (the builder writes the lines to a temporary file), so a 100,000-page
output costs some megabytes, not the gigabytes its parsed lines would.

Watch mode appends a newer record for a page whose file was replaced: the latest one counts, as
for every reader of that log. Nothing here writes to the output (a running watch may be appending
to it): a line that does not parse, such as a record still being written, is skipped and counted.
"""

from __future__ import annotations

import csv
import json
import math
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from pipeline.errors import ConfigError
from pipeline.output.cells import restore_cell
from pipeline.output.keybase import keys_path
from pipeline.output.paths import open_no_follow, shown
from pipeline.output.csv import CSV_COLUMNS

__all__ = ["Loaded", "PageInfo", "detect_format", "image_root", "load"]

_FORMATS = ("jsonl", "csv")
_CSV_HEADER = ",".join(CSV_COLUMNS).encode("ascii")
_CSV_FIELD_LIMIT = 2**31 - 1  # a page's `lines` JSON easily passes the csv module's 128 KiB default
_KEEP_REASONS = 20  # skipped lines whose reason is kept for the summary
_BATCH = 1000  # records parsed per task when parsing is spread over processes


@dataclass(slots=True)
class PageInfo:
    """What ordering and the list need of one page, without its lines."""

    image: str
    page: int
    status: str  # "ok" or "error"
    error: str | None
    lines: int
    chars: int  # recognized characters, over all lines
    mean: float | None  # mean line score; None without scored lines
    low: float | None  # lowest line score
    orientation: int = 0
    width: int | None = None  # pixels of the boxes; from the record, else read later from the image
    height: int | None = None
    seconds: float | None = None  # the page's processing time, where the record carries one
    kept: Any = None  # what `load`'s `keep` made of the record


@dataclass
class Loaded:
    path: Path
    fmt: str
    pages: list[PageInfo]  # the latest record per (image, page), in the order those were written
    records: int = 0  # records read, superseded ones included
    superseded: int = 0  # older records of a page that has a newer one (watch mode)
    skipped: int = 0  # lines (rows) that were not a readable record
    skipped_reasons: list[str] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """"jsonl" or "csv", from the file's first bytes; ConfigError for anything else."""
    if path.is_dir():
        raise ConfigError(
            f"{shown(path)} is a folder: the review page reads the jsonl or csv output of a run, which keeps "
            f"every page's lines and boxes in one file (the txt, hocr and pdf outputs are not supported)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).lstrip(b"\xef\xbb\xbf")
    except FileNotFoundError:
        raise ConfigError(f"no such results file: {shown(path)}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None
    if head.lstrip().startswith(b"{"):
        return "jsonl"
    if head.startswith(_CSV_HEADER):
        return "csv"
    if not head.strip():
        return path.suffix.lower().lstrip(".") if path.suffix.lower() in (".jsonl", ".csv") else "jsonl"
    raise ConfigError(
        f"{shown(path)} is neither a jsonl nor a csv output of this pipeline; the review page reads those two "
        f"formats (run with --format jsonl or csv)")


def image_root(results: Path, fmt: str, override: Path | None) -> tuple[Path | None, str]:
    """The folder the records' `image` keys are relative to, and how it was found (for the summary).

    The run stored it beside its output (`pipeline.output.keybase`); `override` (`--images`) wins,
    for scans that were moved or a results file copied elsewhere."""
    if override is not None:
        if not override.is_dir():
            raise ConfigError(f"--images {shown(override)} is not a folder")
        return override.resolve(), "--images"
    path = keys_path(results, fmt)
    try:
        with os.fdopen(open_no_follow(path, os.O_RDONLY), encoding="utf-8") as handle:
            base = json.load(handle).get("base")
    except FileNotFoundError:
        return None, f"no key base {path.name} beside the results: give --images DIR to show the scans"
    except (OSError, ValueError, AttributeError) as exc:
        return None, f"the key base {path.name} is unreadable ({exc}): give --images DIR to show the scans"
    if not isinstance(base, str) or not os.path.isabs(base):
        return None, f"the key base {path.name} names no folder: give --images DIR to show the scans"
    if not os.path.isdir(base):
        return None, f"the scans' folder {base} (from {path.name}) is gone: give --images DIR to show the scans"
    return Path(base), f"key base {path.name}"


# --- one record's numbers ----------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _seconds(record: dict[str, Any]) -> float | None:
    """`seconds`, or the sum of a `timings` {stage: seconds} object, where a record carries them."""
    seconds = _number(record.get("seconds"))
    if seconds is None and isinstance(record.get("timings"), dict):
        parts = [_number(value) for value in record["timings"].values()]
        seconds = sum(part for part in parts if part is not None) if any(p is not None for p in parts) else None
    return seconds


def _info(record: Any) -> PageInfo:
    """The numbers of one record; ValueError if it is no record of ours."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    image, page, status = record.get("image"), record.get("page"), record.get("status")
    if not isinstance(image, str) or not image:
        raise ValueError("no 'image' path")
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        raise ValueError(f"bad 'page' {page!r}")
    if status not in ("ok", "error"):
        raise ValueError(f"bad 'status' {status!r}")
    lines = record.get("lines")
    lines = lines if isinstance(lines, list) else []
    chars, total, count, low = 0, 0.0, 0, None
    for line in lines:
        if not isinstance(line, dict):
            continue
        text = line.get("text")
        if isinstance(text, str):
            chars += len(text)
        score = _number(line.get("score"))
        if score is not None:
            total, count = total + score, count + 1
            low = score if low is None or score < low else low
    if not lines and isinstance(record.get("text"), str):  # a record without lines: count its text
        chars = sum(1 for c in record["text"] if not c.isspace())
    error = record.get("error")
    orientation = record.get("orientation")
    return PageInfo(
        image=image, page=page, status=status,
        error=error if isinstance(error, str) else ("unknown error" if status == "error" else None),
        lines=len(lines), chars=chars, mean=total / count if count else None, low=low,
        orientation=orientation if orientation in (90, 180, 270) else 0,
        width=_positive_int(record.get("width")), height=_positive_int(record.get("height")),
        seconds=_seconds(record),
    )


# --- the two formats -----------------------------------------------------------------------------


def _jsonl_records(handle: BinaryIO) -> Iterator[tuple[int, Any]]:
    """(line number, the line's bytes), for the non-blank lines."""
    for number, raw in enumerate(handle, 1):
        if raw.strip():
            yield number, raw


def _csv_record(row: list[str]) -> dict[str, Any]:
    if len(row) != len(CSV_COLUMNS):
        raise ValueError(f"{len(row)} columns instead of {len(CSV_COLUMNS)}")
    image, page, status, text, error, lines = row
    if not (page.isascii() and page.isdigit()):
        raise ValueError(f"bad page {page!r}")
    # Cells that a spreadsheet would run as formulas were written with a leading ' (output.cells).
    return {"image": restore_cell(image), "page": int(page), "status": status, "text": restore_cell(text),
            "error": restore_cell(error) or None, "lines": json.loads(lines)}


def _csv_records(handle: BinaryIO) -> Iterator[tuple[int, Any]]:
    lines_read = 0

    def feed() -> Iterator[str]:
        # csv.reader pulls physical lines only as a row needs them: `lines_read` numbers the rows.
        nonlocal lines_read
        for raw in handle:
            lines_read += 1
            yield raw.decode("utf-8", "surrogateescape")

    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(feed(), strict=True)
    first = True
    while True:
        number = lines_read + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, ValueError(str(exc))
            continue
        if first:
            first = False
            if tuple(row) != CSV_COLUMNS:
                raise ConfigError(f"{shown(handle.name)} is not a csv output of this pipeline (its header is "
                                  f"{shown(row)[:200]})")
            continue
        if not row:
            continue
        yield number, row


_READERS = {"jsonl": _jsonl_records, "csv": _csv_records}


def _parse(items: list[Any], keep: Callable[[dict[str, Any]], Any] | None) -> list[PageInfo | str]:
    """Records (a jsonl line's bytes, a csv row, or the ValueError that cut a row) to pages, or to
    the reason each is no record. Runs in a worker process when reading is spread over cores."""
    out: list[PageInfo | str] = []
    for item in items:
        try:
            if isinstance(item, ValueError):
                raise item
            record = json.loads(item) if isinstance(item, bytes) else _csv_record(item)
            info = _info(record)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            out.append(str(exc)[:200])
            continue
        if keep is not None:
            info.kept = keep(record)
        out.append(info)
    return out


def _batches(items: Iterator[tuple[int, Any]]) -> Iterator[tuple[list[int], list[Any]]]:
    numbers: list[int] = []
    batch: list[Any] = []
    for number, item in items:
        numbers.append(number)
        batch.append(item)
        if len(batch) == _BATCH:
            yield numbers, batch
            numbers, batch = [], []
    if batch:
        yield numbers, batch


def load(path: Path, fmt: str, keep: Callable[[dict[str, Any]], Any] | None = None,
         store: Callable[[Any], Any] | None = None, workers: int = 1) -> Loaded:
    """Every page of the output at `path`, the latest record of each.

    `keep(record)` is called for each readable record (a module-level function: with `workers` > 1
    it runs in worker processes, which parse the records too), and `store` on what it returned, in
    this process; the result is the page's `kept`. The builder keeps each page's lines this way, so
    the file is parsed once."""
    if fmt not in _FORMATS:
        raise ConfigError(f"the review page reads jsonl and csv outputs, not {fmt}")
    latest: dict[tuple[str, int], PageInfo] = {}
    loaded = Loaded(path, fmt, [])

    def take(numbers: list[int], parsed: list[PageInfo | str]) -> None:
        for number, info in zip(numbers, parsed):
            if isinstance(info, str):
                loaded.skipped += 1
                if len(loaded.skipped_reasons) < _KEEP_REASONS:
                    loaded.skipped_reasons.append(f"line {number}: {info}")
                continue
            loaded.records += 1
            if store is not None:
                info.kept = store(info.kept)
            key = (info.image, info.page)
            if latest.pop(key, None) is not None:  # re-inserted: the dict keeps the latest's position
                loaded.superseded += 1
            latest[key] = info

    with open(path, "rb") as handle:
        batches = _batches(_READERS[fmt](handle))
        if workers <= 1:
            for numbers, items in batches:
                take(numbers, _parse(items, keep))
        else:
            # Bounded: a few batches in flight, not the whole file in the pipes. Results are taken
            # in file order, so "the latest record" means the same as when read alone.
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                pending: deque[tuple[list[int], Future[list[PageInfo | str]]]] = deque()
                for numbers, items in batches:
                    pending.append((numbers, pool.submit(_parse, items, keep)))
                    if len(pending) > 2 * workers:
                        numbers, future = pending.popleft()
                        take(numbers, future.result())
                while pending:
                    numbers, future = pending.popleft()
                    take(numbers, future.result())
    loaded.pages = list(latest.values())
    return loaded
