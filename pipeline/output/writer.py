"""The one place that writes results: a thread-locked writer that emits records in input order
through a sink (`pipeline.output.formats` opens one per format).

Work completes out of order; `OrderedWriter.put(position, record)` holds early arrivals until every
record before them is written. Each record is written whole and flushed under the lock, so a
reader (or a crash) never sees half of one, except as a torn last record, which
`pipeline.output.formats.completed_pages` repairs.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from pipeline.core.timing import timed
from pipeline.core.types import Record
from pipeline.output.base import Sink

__all__ = ["OrderedWriter"]


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM until a record is written whole (POSIX, main thread; elsewhere a
    no-op). A stop mid-write would otherwise leave half a record in the middle of the file."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
        with self._lock, _signals_deferred():
            if position < self._next or position in self._pending:
                raise ValueError(f"record for position {position} was already given")
            self._pending[position] = record
            while self._next in self._pending:
                self._sink.write(self._pending.pop(self._next))
                self._next += 1

    def flush_pending(self) -> None:
        """Write the records still waiting for an earlier one (the run is stopping: keep finished
        work). Output order then has gaps, which a resumed run fills at the end."""
        with self._lock, _signals_deferred():
            for position in sorted(self._pending):
                self._sink.write(self._pending.pop(position))

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

