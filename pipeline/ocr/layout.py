"""Reading order: running header first, then the body column by column, running footer last.

Works on the detected boxes alone (any detector), with no white band needed across the page.

1. Running header and footer: the top (bottom) row of lines when it is set in small type and stands
   apart from the rest of the page by white space (or by a change of type size); read left to
   right, first (last).
2. Pieces of one text line (split at a wide space, a letter-spaced heading) are joined unless a
   gutter runs between them (see `_pieces`).
3. The body is ordered by two rules between lines a and b (Breuel's, "High performance document
   layout analysis", 2003), then sorted topologically:
   - a comes before b when their horizontal extents overlap and a is above b (one column);
   - a comes before b when a lies wholly to the left of b and no line between them in height
     overlaps both sideways (nothing spans the gutter between them: columns are read one after
     the other, however their lines sit in height; a headline or a wide caption across the
     columns starts a new band of columns below it). When a lies lower than b, their columns
     must run side by side somewhere: a lone line low on the left is not a column.
   Lines overlap sideways (are in one column) only when they share a quarter of the narrower
   one's width and a line height (or most of the narrower one's width), so a box grown into the
   gutter, or a speck in it, joins no two columns.
   This needs no white band across the whole page: text wrapping around a picture, columns whose
   lines sit at different heights and a sidebar inside a column stay in their columns.
4. Lines that follow each other in one column form a block unless a change of font size, or a gap
   wider than both 0.6 line heights and 1.6 times the page's usual gap between lines, separates
   them (a single-column page is read as the XY-cut read it).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pipeline.core.timing import timed

__all__ = ["Rect", "reading_order"]

# A vertical gap between two lines of one column wider than this many line heights starts a block,
# and wider than _LEADING_GAP times the page's usual gap between lines (a detector that draws tight
# boxes, as PP-OCRv6's does, leaves wide gaps between the lines of one paragraph).
_BLOCK_GAP = 0.6
_LEADING_GAP = 1.6
# Lines whose heights differ by more than this ratio (a heading and its text) are different blocks.
_HEIGHT_RATIO = 1.5
_OVERLAP = 0.25  # share of the narrower line's width two lines must share to be in one column
# A running header or footer is set apart by this much white space (in its line heights), or by
# _MARGIN_SMALL_GAP when it is in smaller type (at most _MARGIN_SMALL of the body's line height);
# it is never taller than _MARGIN_TYPE body lines.
_MARGIN_GAP = 1.0
_MARGIN_SMALL_GAP = 0.3
_MARGIN_SMALL = 0.85
_MARGIN_TYPE = 1.3


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


def _same_row(a: Rect, b: Rect) -> bool:
    return min(a.y1, b.y1) - max(a.y0, b.y0) >= 0.5 * min(a.height, b.height)


def _margin_row(items: list[int], rects: Sequence[Rect], top: bool) -> list[int]:
    """The running header (`top`) or footer among `items`: the outermost row, if it is no larger
    than body type and stands apart from a body of at least three lines: by a clear gap, by a
    smaller gap in smaller type, or by a change of type size (a headline under a header)."""
    if len(items) < 4:
        return []
    edge = min(items, key=lambda i: rects[i].y0) if top else max(items, key=lambda i: rects[i].y1)
    row = [i for i in items if _same_row(rects[i], rects[edge])]
    rest = [i for i in items if i not in row]
    if len(rest) < 3:
        return []
    row_height = max(rects[i].height for i in row)
    body_height = float(np.median([rects[i].height for i in rest]))
    if top:
        near = min(rects[i].y0 for i in rest)
        gap = near - max(rects[i].y1 for i in row)
        neighbours = [i for i in rest if rects[i].y0 < near + body_height]
    else:
        near = max(rects[i].y1 for i in rest)
        gap = min(rects[i].y0 for i in row) - near
        neighbours = [i for i in rest if rects[i].y1 > near - body_height]
    next_height = max(rects[i].height for i in neighbours)
    apart = (gap >= _MARGIN_GAP * row_height
             or (gap >= _MARGIN_SMALL_GAP * row_height and row_height <= _MARGIN_SMALL * body_height)
             or next_height >= _HEIGHT_RATIO * row_height)
    if row_height > _MARGIN_TYPE * body_height or not apart:
        return []
    return sorted(row, key=lambda i: rects[i].x0)


def _pieces(items: list[int], rects: Sequence[Rect]) -> list[list[int]]:
    """`items` grouped into text lines, each left to right: side-by-side pieces of one line (a wide
    word space, a letter-spaced heading) join unless a gutter runs between them. A gap is a gutter
    unless lines of the column above and below run across it, well into both pieces, and none of
    them starts where the right piece starts (columns start at one edge); a side with no lines
    near counts as crossed. Pieces in large type of one size (headings) and overlapping pieces
    always join."""
    if not items:
        return []
    r = np.array([[rects[i].x0, rects[i].y0, rects[i].x1, rects[i].y1] for i in items], dtype=np.float64)
    x0, y0, x1, y1 = r.T
    h = np.maximum(y1 - y0, 1.0)
    line = float(np.median(h))
    n = len(items)
    same_row = (np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
                >= 0.5 * np.minimum(h[:, None], h[None, :]))
    to_right = same_row & (x0[None, :] >= x1[:, None] - 0.5 * h[:, None])
    np.fill_diagonal(to_right, False)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(n):
        if not to_right[a].any():
            continue
        b = int(np.argmin(np.where(to_right[a], x0, np.inf)))  # the nearest piece to the right
        gap = x0[b] - x1[a]
        if gap > 2 * max(h[a], h[b]):
            continue
        # Pieces in large type of one size (a heading) and pieces that overlap have no gutter between
        # them; large letters of different sizes (found in a picture) are no heading.
        heading = min(h[a], h[b]) >= _HEIGHT_RATIO * line and max(h[a], h[b]) <= _HEIGHT_RATIO * min(h[a], h[b])
        joined = heading or gap <= 0
        if not joined:
            top, bottom = min(y0[a], y0[b]), max(y1[a], y1[b])
            near = (y1 > top - 2.5 * line) & (y0 < bottom + 2.5 * line)
            near[[a, b]] = False
            aligned = bool((near & (np.abs(x0 - x0[b]) <= 0.8 * line)).any())
            crossing = near & (x0 < x1[a] - 0.5 * line) & (x1 > x0[b] + 0.5 * line)
            above, below = near & (y1 <= top + 0.5 * line), near & (y0 >= bottom - 0.5 * line)
            # A side with no lines near (the first or last line of a short page) is no evidence of
            # a column; the other side's crossing line decides.
            joined = (not aligned and bool((crossing & above).any() or not above.any())
                      and bool((crossing & below).any() or not below.any()))
        if joined:
            parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for k in sorted(range(n), key=lambda k: x0[k]):
        groups.setdefault(root(k), []).append(items[k])
    return list(groups.values())


def _body_order(items: list[int], rects: Sequence[Rect]) -> list[int]:
    """`items` in reading order: pieces of one line together, left to right, lines by `_line_order`."""
    lines = _pieces(items, rects)
    union = [Rect(min(rects[i].x0 for i in g), min(rects[i].y0 for i in g),
                  max(rects[i].x1 for i in g), max(rects[i].y1 for i in g)) for g in lines]
    return [i for k in _line_order(list(range(len(lines))), union) for i in lines[k]]


def _line_order(items: list[int], rects: Sequence[Rect]) -> list[int]:
    """`items` in reading order by the two rules of the module docstring."""
    n = len(items)
    if n <= 1:
        return list(items)
    r = np.array([[rects[i].x0, rects[i].y0, rects[i].x1, rects[i].y1] for i in items], dtype=np.float64)
    x0, y0, x1, y1 = r.T
    width = np.maximum(x1 - x0, 1.0)
    cy = (y0 + y1) / 2
    shared = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    narrow = np.minimum(width[:, None], width[None, :])
    line = float(np.median(y1 - y0))
    # A quarter of the narrower line, and a line height or most of the narrower line's width: a
    # speck in the gutter or a box grown into it joins no column.
    column = shared >= np.maximum(_OVERLAP * narrow, np.minimum(line, 0.8 * narrow))
    np.fill_diagonal(column, False)
    above = (cy[:, None] < cy[None, :]) | ((cy[:, None] == cy[None, :]) & (x0[:, None] < x0[None, :]))
    before = column & above
    left = ~column & ((x0[:, None] + x1[:, None]) < (x0[None, :] + x1[None, :]))
    np.fill_diagonal(left, False)
    lo, hi = np.minimum(cy[:, None], cy[None, :]), np.maximum(cy[:, None], cy[None, :])
    spanned = np.zeros((n, n), dtype=bool)
    for c in np.flatnonzero(column.sum(axis=1) >= 2):  # only a line overlapping two others can span
        ends = np.flatnonzero(column[c])
        block = np.ix_(ends, ends)
        spanned[block] |= (lo[block] < cy[c]) & (cy[c] < hi[block])
    # A line lower down on the left comes first only if its column and the other's run side by
    # side somewhere: some line of one (or the line itself) shares some height with a line of the
    # other, left of it. A short line under text that wraps around a picture in the same
    # column, or a lone line low on the left, is not a column of its own.
    level = np.minimum(y1[:, None], y1[None, :]) > np.maximum(y0[:, None], y0[None, :])
    beside = (level & left).astype(np.float32)
    member = (column | np.eye(n, dtype=bool)).astype(np.float32)
    parallel = (member @ beside @ member.T) > 0
    lower = cy[:, None] > y1[None, :]
    before |= left & ~spanned & (~lower | parallel)
    # Kahn's topological sort; among lines free to go, the topmost (then leftmost) first.
    waiting = before.sum(axis=0)
    heap = [(cy[k], x0[k], k) for k in range(n) if waiting[k] == 0]
    heapq.heapify(heap)
    done = np.zeros(n, dtype=bool)
    order: list[int] = []
    while len(order) < n:
        if not heap:  # a cycle (lines overlapping in odd ways): free the topmost line left
            k = min(np.flatnonzero(~done), key=lambda k: (cy[k], x0[k]))
            heap.append((cy[k], x0[k], k))
        _, _, k = heapq.heappop(heap)
        if done[k]:
            continue
        done[k] = True
        order.append(k)
        for j in np.flatnonzero(before[k] & ~done):
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(heap, (cy[j], x0[j], j))
    return [items[k] for k in order]


def _same_block(above: Rect, below: Rect, leading: float) -> bool:
    low, high = sorted((above.height, below.height))
    if high / low > _HEIGHT_RATIO:
        return False
    if _same_row(above, below):  # pieces of one line
        return True
    shared = min(above.x1, below.x1) - max(above.x0, below.x0)
    if shared < _OVERLAP * min(above.x1 - above.x0, below.x1 - below.x0) or below.y0 < above.y0:
        return False
    return below.y0 - above.y1 <= max(_BLOCK_GAP * low, _LEADING_GAP * leading)


def _leading(ordered: Sequence[Rect]) -> float:
    """The page's usual gap between a line and the next one below it in its column: the lower
    quartile of those gaps (most pages have more lines inside paragraphs than between them)."""
    gaps = [b.y0 - a.y1 for a, b in zip(ordered, ordered[1:])
            if b.y0 > a.y1 and min(a.x1, b.x1) - max(a.x0, b.x0) > 0 and b.y0 - a.y1 < 2 * min(a.height, b.height)]
    return float(np.percentile(gaps, 25)) if gaps else 0.0


@timed("layout")
def reading_order(boxes: Sequence[Sequence[Sequence[float]]]) -> list[tuple[int, int]]:
    """(index into `boxes`, block number) for every box, in reading order; blocks count from 0.

    >>> left = [[[0, y], [90, y], [90, y + 10], [0, y + 10]] for y in (0, 12)]
    >>> right = [[[110, y], [200, y], [200, y + 10], [110, y + 10]] for y in (0, 12)]
    >>> reading_order([left[0], right[0], left[1], right[1]])
    [(0, 0), (2, 0), (1, 1), (3, 1)]
    """
    rects = [Rect.of(box) for box in boxes]
    everything = list(range(len(rects)))
    header = _margin_row(everything, rects, top=True)
    footer = _margin_row([i for i in everything if i not in header], rects, top=False)
    body = [i for i in everything if i not in header and i not in footer]
    ordered = header + _body_order(body, rects) + footer
    leading = _leading([rects[i] for i in ordered])
    order: list[tuple[int, int]] = []
    block = -1
    previous: Rect | None = None
    for i in ordered:
        if previous is None or not _same_block(previous, rects[i], leading):
            block += 1
        order.append((i, block))
        previous = rects[i]
    return order
