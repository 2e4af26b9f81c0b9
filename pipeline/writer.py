"""The one place that writes results: a thread-locked writer that emits records in input order.

Work completes out of order; `OrderedWriter.put(position, record)` holds early arrivals until every
record before them is written. Each record is written whole and flushed under the lock, so a
reader (or a crash) never sees half of one.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO, Protocol

from pipeline.records import Record
from pipeline.timing import timed

__all__ = ["JsonlSink", "OrderedWriter", "Sink"]


class Sink(Protocol):
    def write(self, record: Record) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """`results.jsonl`: one UTF-8 JSON object per line, flushed record by record."""

    def __init__(self, path: Path, append: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(path, "a" if append else "w", encoding="utf-8", newline="\n")

    def write(self, record: Record) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class OrderedWriter:
    """Writes records to `sink` in position order (0, 1, 2, ...), whatever order they arrive in."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._pending: dict[int, Record] = {}
        self._next = 0

    @property
    def written(self) -> int:
        return self._next

    @timed("write")
    def put(self, position: int, record: Record) -> None:
        with self._lock:
            if position < self._next or position in self._pending:
                raise ValueError(f"record for position {position} was already given")
            self._pending[position] = record
            while self._next in self._pending:
                self._sink.write(self._pending.pop(self._next))
                self._next += 1

    def close(self) -> None:
        with self._lock:
            if self._pending:
                missing = self._next
                raise RuntimeError(f"closing with {len(self._pending)} records waiting for position {missing}")
            self._sink.close()

    def __enter__(self) -> OrderedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            with self._lock:
                self._sink.close()
