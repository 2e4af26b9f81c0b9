"""``csv``: `output` is a file; columns `image,page,status,text,error,lines` (`lines` holds the JSON of
the lines list), UTF-8, RFC 4180 quoting, header once; cells a spreadsheet would run are neutralised."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

from pipeline.core.types import Record
from pipeline.output.base import open_text
from pipeline.output.cells import name_cell, neutralise_cell
from pipeline.output.names import json_text, readable

__all__ = ["CSV_COLUMNS", "CsvSink"]

CSV_COLUMNS = ("image", "page", "status", "text", "error", "lines")


class CsvSink:
    """One CSV row per page, flushed record by record; the header is written only into an empty file."""

    def __init__(self, path: Path, append: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="" hands line endings to the csv module: rows end in \r\n (RFC 4180) and newlines
        # inside quoted text stay as they are.
        self._file: IO[str] = open_text(path, append, "")
        self._csv = csv.writer(self._file)
        if self._file.tell() == 0:  # new, emptied, or empty (e.g. a torn header truncated by resume)
            self._csv.writerow(CSV_COLUMNS)
            self._file.flush()

    def write(self, record: Record) -> None:
        # Cells a spreadsheet would run as formulas get a leading ' (pipeline.output.cells).
        self._csv.writerow([
            name_cell(record["image"]),  # a name that is not UTF-8 is escaped (pipeline.output.names)
            record["page"],
            record["status"],
            neutralise_cell(readable(record["text"])),
            neutralise_cell(readable(record["error"] if record["error"] is not None else "")),
            json_text(record["lines"]),
        ])
        self._file.flush()

    def close(self) -> None:
        self._file.close()

