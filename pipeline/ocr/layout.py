"""Reading order: lines put column by column, and grouped into blocks (paragraphs).

Sorting boxes top to bottom interleaves the columns of a multi-column page line by line. This is a
recursive XY-cut on the lines' bounding rectangles:

1. Pieces of a single text line are read left to right.
2. A region whose lines leave a vertical band of white space from top to bottom (a gutter), with
   at least two lines on each side, is cut there, and the columns are read left to right.
3. Otherwise it is cut into rows at every horizontal band of white space, read top to bottom.
   Consecutive rows that together keep a gutter (two columns whose lines sit at the same heights)
   are read as one region, so step 2 splits them into columns instead of reading across.
4. A region that cannot be cut is read top to bottom, left to right.

Lines that follow each other in one column form a block unless a gap wider than a line's height,
a change of font size, or a cut separates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["Rect", "reading_order"]

# A vertical gap between two lines of one column wider than this many line heights starts a block.
_BLOCK_GAP = 0.6
# Lines whose heights differ by more than this ratio (a heading and its text) are different blocks.
_HEIGHT_RATIO = 1.5


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def of(cls, box: Sequence[Sequence[float]]) -> Rect:
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        return cls(min(xs), min(ys), max(xs), max(ys))

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)


def _split(items: list[int], rects: Sequence[Rect], vertical: bool) -> list[list[int]]:
    """Groups of `items` separated by white space across the whole region, in reading order
    (`vertical`: cut by vertical bands, left to right; else by horizontal bands, top to bottom)."""
    def span(i: int) -> tuple[float, float]:
        r = rects[i]
        return (r.x0, r.x1) if vertical else (r.y0, r.y1)

    groups: list[list[int]] = []
    end = float("-inf")
    for i in sorted(items, key=span):
        start, stop = span(i)
        if groups and start < end:
            groups[-1].append(i)
        else:
            groups.append([i])
        end = max(end, stop)
    return groups


def _one_text_line(items: list[int], rects: Sequence[Rect]) -> bool:
    """Pieces of no more than one line of text, side by side."""
    top = min(rects[i].y0 for i in items)
    bottom = max(rects[i].y1 for i in items)
    return bottom - top <= 1.5 * max(rects[i].height for i in items)


def _columns(items: list[int], rects: Sequence[Rect]) -> list[list[int]] | None:
    """The columns of a region, if a gutter splits it into parts of at least two lines each (two
    short lines one above the other are not columns, however far apart sideways)."""
    parts = _split(items, rects, vertical=True)
    return parts if len(parts) > 1 and all(len(part) > 1 for part in parts) else None


def _regions(rows: list[list[int]], rects: Sequence[Rect]) -> list[list[int]]:
    """Rows merged where consecutive rows together have columns (their lines at the same heights)."""
    regions: list[list[int]] = []
    first = 0
    while first < len(rows):
        union, stop = list(rows[first]), first + 1
        while stop < len(rows) and len(_split(union + rows[stop], rects, vertical=True)) > 1:
            union += rows[stop]
            stop += 1
        if stop - first > 1 and _columns(union, rects):
            regions.append(union)
            first = stop
        else:
            regions.append(list(rows[first]))
            first += 1
    return regions


def _runs(items: list[int], rects: Sequence[Rect]) -> list[list[int]]:
    """Runs of lines in reading order; each run is one column's lines read one after the other."""
    if len(items) <= 1:
        return [items]
    if _one_text_line(items, rects):
        return [sorted(items, key=lambda i: rects[i].x0)]
    columns = _columns(items, rects)
    if columns:
        return [run for column in columns for run in _runs(column, rects)]
    rows = _split(items, rects, vertical=False)
    if len(rows) == 1:
        return [sorted(items, key=lambda i: (rects[i].y0, rects[i].x0))]
    runs: list[list[int]] = []
    joinable = False  # the last run is a single column that the next region may continue
    for region in _regions(rows, rects):
        parts = _runs(region, rects)
        if joinable and len(parts) == 1:
            runs[-1].extend(parts[0])
        else:
            runs.extend(parts)
        joinable = len(parts) == 1
    return runs


def _same_block(above: Rect, below: Rect) -> bool:
    low, high = sorted((above.height, below.height))
    if high / low > _HEIGHT_RATIO:
        return False
    return below.y0 - above.y1 <= _BLOCK_GAP * low


def reading_order(boxes: Sequence[Sequence[Sequence[float]]]) -> list[tuple[int, int]]:
    """(index into `boxes`, block number) for every box, in reading order; blocks count from 0.

    >>> left = [[[0, y], [90, y], [90, y + 10], [0, y + 10]] for y in (0, 12)]
    >>> right = [[[110, y], [200, y], [200, y + 10], [110, y + 10]] for y in (0, 12)]
    >>> reading_order([left[0], right[0], left[1], right[1]])
    [(0, 0), (2, 0), (1, 1), (3, 1)]
    """
    rects = [Rect.of(box) for box in boxes]
    order: list[tuple[int, int]] = []
    block = -1
    for run in _runs(list(range(len(rects))), rects):
        previous: Rect | None = None
        for i in run:
            if previous is None or not _same_block(previous, rects[i]):
                block += 1
            order.append((i, block))
            previous = rects[i]
    return order
