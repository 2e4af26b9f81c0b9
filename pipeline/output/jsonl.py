"""``jsonl``: `output` is a file; one UTF-8 JSON object per line (the output contract, docs/design.md)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from pipeline.core.types import Record
from pipeline.output.base import open_text
from pipeline.output.names import json_text

__all__ = ["JsonlSink"]


class JsonlSink:
    """`results.jsonl`: one UTF-8 JSON object per line, flushed record by record."""

    def __init__(self, path: Path, append: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open_text(path, append, "\n")

    def write(self, record: Record) -> None:
        self._file.write(json_text(record) + "\n")  # a name that is not UTF-8, escaped (output.names)
        self._file.flush()

    def close(self) -> None:
        self._file.close()

