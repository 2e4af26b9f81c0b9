"""``jsonl``: `output` is a file; one UTF-8 JSON object per line (the output contract, docs/design.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from pipeline.core.types import Record
from pipeline.output.base import open_text

__all__ = ["JsonlSink"]


class JsonlSink:
    """`results.jsonl`: one UTF-8 JSON object per line, flushed record by record."""

    def __init__(self, path: Path, append: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open_text(path, append, "\n")

    def write(self, record: Record) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

