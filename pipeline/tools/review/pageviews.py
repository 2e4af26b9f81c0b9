"""What the page view shows of a record (its lines: text, score, box, block), kept compact on disk.

`compact_record` makes the page's lines into the JSON of the data files as the results are read
(in the worker processes that parse them), and `PageStore.put` writes that to an unnamed temporary
file; the builder later reads them back in review order. So the results are parsed once, and memory holds no page's lines.
"""

from __future__ import annotations

import math
import tempfile
from itertools import chain
from dataclasses import dataclass
from typing import Any

from pipeline.tools.review.site import safe_json

__all__ = ["HISTOGRAM_BINS", "PageStore", "Stored", "compact_box", "compact_lines", "compact_record"]

HISTOGRAM_BINS = 20


@dataclass(frozen=True, slots=True)
class Stored:
    offset: int
    length: int
    bins: bytes  # the histogram bin of each scored line


_LIST, _TWO, _INT, _NUMBERS = {list}, {2}, {int}, {int, float}


def compact_box(value: Any) -> list[float] | None:
    """A box as a flat list x0, y0, x1, y1, ... (3 to 64 points), or None if it is no polygon."""
    if type(value) is list and len(value) == 4:  # the usual quadrilateral of integers, checked unrolled
        try:
            (a, b), (c, d), (e, f), (g, h) = value
        except (TypeError, ValueError):
            return None
        if (type(a) is int and type(b) is int and type(c) is int and type(d) is int
                and type(e) is int and type(f) is int and type(g) is int and type(h) is int):
            return [a, b, c, d, e, f, g, h]
    if type(value) is not list or not 3 <= len(value) <= 64:
        return None
    # map() and set() keep this at C speed: a big run has millions of boxes.
    if set(map(type, value)) != _LIST or set(map(len, value)) != _TWO:
        return None
    flat = list(chain.from_iterable(value))
    kinds = set(map(type, flat))
    if kinds == _INT:
        return flat
    if not kinds <= _NUMBERS or not math.isfinite(sum(flat)):  # NaN and infinity spread to the sum
        return None
    return [round(c, 1) if type(c) is float else c for c in flat]


def compact_lines(record: dict[str, Any]) -> tuple[list[list[Any]], bytes]:
    """The page view's lines, [text, score, box, block] each, and the histogram bins of their scores.
    Exact type checks throughout: a bool is no score, and a hand-edited file may hold anything."""
    out: list[list[Any]] = []
    bins = bytearray()
    lines = record.get("lines")
    if type(lines) is not list:
        return out, b""
    for line in lines:
        if type(line) is not dict:
            continue
        get = line.get
        text, score, block = get("text"), get("score"), get("block")
        kind = type(score)
        if kind is int or (kind is float and math.isfinite(score)):
            score = round(score, 4)
            bins.append(min(HISTOGRAM_BINS - 1, max(0, int(score * HISTOGRAM_BINS))))
        else:
            score = None
        out.append([text if type(text) is str else "", score, compact_box(get("box")),
                    block if type(block) is int else None])
    return out, bytes(bins)


def compact_record(record: dict[str, Any]) -> tuple[bytes, bytes]:
    """The page view's part of a record, as data-file JSON, and its lines' histogram bins (a
    module-level function, so that `load` can run it in worker processes)."""
    lines, bins = compact_lines(record)
    text_from = record.get("text_from")
    return safe_json({"f": text_from if type(text_from) is str else None, "l": lines}), bins


class PageStore:
    """The compact lines of every record, in an unnamed temporary file (gone when closed)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self._end = 0

    def put(self, compact: tuple[bytes, bytes]) -> Stored:
        """Keep what `compact_record` made of a record."""
        body, bins = compact
        self._file.seek(self._end)
        self._file.write(body)
        stored = Stored(self._end, len(body), bins)
        self._end += len(body)
        return stored

    def read(self, stored: Stored) -> bytes:
        self._file.seek(stored.offset)
        return self._file.read(stored.length)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "PageStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
