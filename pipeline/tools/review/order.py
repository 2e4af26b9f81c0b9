"""Which pages need a look first, and why: the review order.

Four tiers, each page in the first that fits: error records; pages with no text; pages with a
reason to doubt them (a line under `low_line`, a mean under `low_mean`, or few characters for the
page's size); then the rest. Within the third tier the page furthest under any of its thresholds
comes first, within the last the lowest mean. Every page gets its reasons as short sentences, which
the page shows beside it.

"Few characters for its size" is relative to the run: a page with under `few_chars` times the
run's median characters per megapixel (over pages with text and a known size; at least
`MIN_PAGES` of them). A fixed density would flag every photo of a sign in a run of sign photos,
and none in a run of dense scans.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

from pipeline.tools.review.load import PageInfo

__all__ = ["ERROR", "EMPTY", "DOUBT", "FINE", "Ordered", "Thresholds", "review_order"]

ERROR, EMPTY, DOUBT, FINE = 0, 1, 2, 3
MIN_PAGES = 10  # pages with text and a size it takes to judge "few characters for its size"


@dataclass(frozen=True)
class Thresholds:
    low_line: float = 0.8  # a line scoring under this is marked, and makes its page doubtful
    low_mean: float = 0.9  # a page whose mean line score is under this is doubtful
    few_chars: float = 0.25  # fraction of the run's median characters per megapixel


@dataclass(frozen=True)
class Ordered:
    index: int  # into the pages given
    tier: int
    reasons: tuple[str, ...]


def _megapixels(page: PageInfo) -> float | None:
    return page.width * page.height / 1e6 if page.width and page.height else None


def median_density(pages: Sequence[PageInfo]) -> float | None:
    """The run's median characters per megapixel, over ok pages with text and a known size; None
    for fewer than MIN_PAGES such pages, where a median says little about the run."""
    densities = [page.chars / mp for page in pages
                 if page.status == "ok" and page.chars and (mp := _megapixels(page))]
    return statistics.median(densities) if len(densities) >= MIN_PAGES else None


def _judge(page: PageInfo, th: Thresholds, median: float | None) -> tuple[int, float, tuple[str, ...]]:
    """(tier, severity: lower needs a look sooner, reasons)."""
    if page.status == "error":
        return ERROR, 0.0, (f"error: {page.error}",)
    if page.chars == 0:
        return EMPTY, 0.0, ("no text found" if page.lines == 0 else "lines found, but no text read",)
    reasons: list[str] = []
    ratios: list[float] = []  # how far under each threshold it is (1 = at it)
    if page.low is not None and page.low < th.low_line:
        reasons.append(f"lowest line score {page.low:.2f} (under {th.low_line:.2f})")
        ratios.append(page.low / th.low_line)
    if page.mean is not None and page.mean < th.low_mean:
        reasons.append(f"mean line score {page.mean:.2f} (under {th.low_mean:.2f})")
        ratios.append(page.mean / th.low_mean)
    megapixels = _megapixels(page)
    if median and megapixels and th.few_chars > 0:
        density = page.chars / megapixels
        if density < th.few_chars * median:
            reasons.append(f"few characters for its size: {page.chars} on {megapixels:.1f} megapixels "
                           f"(this run's median is {median:.0f} per megapixel)")
            ratios.append(density / (th.few_chars * median))
    if reasons:
        return DOUBT, min(ratios), tuple(reasons)
    return FINE, page.mean if page.mean is not None else 1.0, ()


def review_order(pages: Sequence[PageInfo], thresholds: Thresholds) -> list[Ordered]:
    """The pages, most in need of a look first (ties keep the output's order)."""
    median = median_density(pages)
    judged = [(_judge(page, thresholds, median), index) for index, page in enumerate(pages)]
    judged.sort(key=lambda item: (item[0][0], item[0][1], item[1]))
    return [Ordered(index, tier, reasons) for (tier, _severity, reasons), index in judged]
