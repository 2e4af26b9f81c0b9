"""`pipeline review RESULTS -o review/`: build the review folder of a run's output.

Steps, each timed for the summary line: read the records (`load`; on the way each page's lines
go to a temporary `pageviews.PageStore`, and the sizes the records lack are read from the image
headers, `images.header_size`), put the pages in review order (`order`), make thumbnails of the
first `thumbnails` pages in that order (threads: decoding and resizing release the GIL), then
write the data files (`site`) in that order.
"""

from __future__ import annotations

import os
import time
from functools import partial
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from PIL import Image

from pipeline.config import Config
from pipeline.output.paths import check_output_apart, shown
from pipeline.tools.review import images
from pipeline.tools.review.load import Loaded, PageInfo, detect_format, image_root, load
from pipeline.tools.review.order import DOUBT, EMPTY, ERROR, FINE, Ordered, Thresholds, review_order
from pipeline.tools.review.pageviews import HISTOGRAM_BINS, PageStore, compact_record
from pipeline.tools.review.site import LIST_CHUNK, PAGE_CHUNK, ReviewFolder, safe_json

__all__ = ["BuildReport", "ReviewOptions", "build_review"]

SLOWEST = 10
_PARALLEL_BYTES = 32 << 20  # results files above this are parsed by a process per core


@dataclass(frozen=True)
class ReviewOptions:
    images: Path | None = None  # the scans' folder, instead of the key base's
    thumbnails: int = 1000  # pages in review order that get a thumbnail
    thumb_size: int = 1200  # a thumbnail's longest side, in pixels
    thresholds: Thresholds = field(default_factory=Thresholds)
    workers: int = 0  # processes parsing the results, threads making thumbnails; 0: one per core


@dataclass
class BuildReport:
    index: Path
    loaded: Loaded
    counts: dict[str, int]
    thumbnails: int
    thumbnail_problems: int
    images: str  # how the scans were found, or why not
    seconds: dict[str, float]  # per step

    def describe(self) -> str:
        c = self.counts
        timing = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in self.seconds.items())
        lines = [
            f"{c['pages']} pages ({c['ok']} ok, {c['failed']} failed; {c['empty']} without text, "
            f"{c['doubtful']} to check) from {self.loaded.records} records",
            f"thumbnails: {self.thumbnails} made" + (f", {self.thumbnail_problems} of the pages chosen have none"
                                                     if self.thumbnail_problems else "") + f" ({self.images})",
            f"time: {timing}",
        ]
        if self.loaded.superseded:
            lines.insert(1, f"{self.loaded.superseded} older records of replaced files left out (latest per page)")
        if self.loaded.skipped:
            lines.insert(1, f"warning: {self.loaded.skipped} lines were not readable records and are left out "
                            f"(first: {shown(self.loaded.skipped_reasons[0])})")
        return "\n".join(lines)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every OS
        return os.cpu_count() or 1


def _keep(root: Path | None, settings: images.ImageSettings, record: dict[str, Any]) -> tuple[Any, Any]:
    """What a page keeps of its record (run where the record is parsed, in the worker processes for
    a big output): the page view's part, and the page's size from its image header, used where the
    record has none (the order needs it; `load` has checked `image` and `page`)."""
    size = None
    if root is not None and record["status"] == "ok":
        path = images.locate(root, record["image"])
        orientation = record.get("orientation") if record.get("orientation") in (90, 180, 270) else 0
        if path is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # a size read is no decode
                size = images.header_size(path, record["page"], orientation, settings)
    return compact_record(record), size


def _thumbnails(pages: Sequence[PageInfo], ordered: Sequence[Ordered], count: int, root: Path | None,
                folder: Path, settings: images.ImageSettings, threads: int) -> list[images.Thumbnail]:
    chosen = [pages[item.index] for item in ordered[:count]]

    def one(page: PageInfo) -> images.Thumbnail:
        return images.thumbnail(root, page.image, page.page, page.orientation, folder, settings)

    if root is None or not chosen:
        return [images.Thumbnail(None, None, None)] * len(chosen)
    with ThreadPoolExecutor(max_workers=threads or _cores()) as pool:
        return list(pool.map(one, chosen))


def _list_entry(page: PageInfo, item: Ordered) -> list[Any]:
    return [page.image, page.page, page.status, item.tier,
            None if page.mean is None else round(page.mean, 3), None if page.low is None else round(page.low, 3),
            page.chars, page.lines, list(item.reasons), page.seconds]


def _per_mille(value: float | None) -> int:
    return -1 if value is None else round(value * 1000)


def _histogram(pages: Sequence[PageInfo]) -> list[int]:
    bins = b"".join(page.kept.bins for page in pages)
    return [bins.count(bytes([i])) for i in range(HISTOGRAM_BINS)]


def build_review(results: Path, output: Path, config: Config, options: ReviewOptions) -> BuildReport:
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = now - clock
        clock = now

    fmt = detect_format(results)
    root, how = image_root(results, fmt, options.images)
    if root is not None:
        check_output_apart(output, [root])  # thumbnails among the scans would be OCR'd by the next run
    folder = ReviewFolder(output)
    settings = images.ImageSettings(dpi=config.pdf.dpi, max_pixels=config.limits.max_image_pixels,
                                    max_pages=config.limits.max_pages, max_side=options.thumb_size)
    with PageStore() as store:
        # Parsing (and reading sizes) is spread over processes for a big output; a small one is
        # read faster alone.
        workers = options.workers or (_cores() if results.stat().st_size > _PARALLEL_BYTES else 1)
        loaded = load(results, fmt, partial(_keep, root, settings),
                      lambda kept: (store.put(kept[0]), kept[1]), workers)
        pages = loaded.pages
        for page in pages:
            page.kept, size = page.kept
            if size and not page.width:
                page.width, page.height = size
        step("read")
        ordered = review_order(pages, options.thresholds)
        step("order")
        thumbs = _thumbnails(pages, ordered, options.thumbnails, root, folder.thumbs, settings, options.workers)
        for thumb, item in zip(thumbs, ordered):
            if thumb.size:  # the decode measured it: pages without text get their size this way
                pages[item.index].width, pages[item.index].height = thumb.size
        step("thumbnails")
        written = _write_data(folder, store, loaded, ordered, thumbs, how, options)
    folder.copy_assets()
    folder.clean((thumb.name for thumb in thumbs if thumb.name), written)
    step("write")
    made = sum(1 for thumb in thumbs if thumb.name)
    return BuildReport(output / "index.html", loaded, _counts(pages, ordered), made, len(thumbs) - made, how, seconds)


def _counts(pages: Sequence[PageInfo], ordered: Sequence[Ordered]) -> dict[str, int]:
    tiers = [item.tier for item in ordered]
    return {
        "pages": len(pages), "ok": len(pages) - tiers.count(ERROR), "failed": tiers.count(ERROR),
        "empty": tiers.count(EMPTY), "doubtful": tiers.count(DOUBT), "fine": tiers.count(FINE),
        "chars": sum(page.chars for page in pages), "lines": sum(page.lines for page in pages),
    }


def _write_data(folder: ReviewFolder, store: PageStore, loaded: Loaded, ordered: Sequence[Ordered],
                thumbs: Sequence[images.Thumbnail], how: str, options: ReviewOptions) -> list[str]:
    """Every data file; their names."""
    pages = loaded.pages
    written: list[str] = []
    for start in range(0, len(ordered), LIST_CHUNK):
        chunk = ordered[start:start + LIST_CHUNK]
        written.append(folder.write_data("list", start // LIST_CHUNK,
                                         [_list_entry(pages[item.index], item) for item in chunk]))
    unthumbed = f"thumbnails are made for the first {options.thumbnails} pages in review order (--thumbnails)"
    for start in range(0, len(ordered), PAGE_CHUNK):
        views = []
        for position in range(start, min(start + PAGE_CHUNK, len(ordered))):
            page = pages[ordered[position].index]
            thumb = thumbs[position] if position < len(thumbs) else None
            head = safe_json({"w": page.width, "h": page.height, "o": page.orientation,
                              "t": thumb.name if thumb else None,
                              "why": (thumb.problem or how) if thumb else unthumbed})
            views.append(head[:-1] + b"," + store.read(page.kept)[1:])  # two objects merged into one
        written.append(folder.write_script("page", start // PAGE_CHUNK, b"[" + b",".join(views) + b"]"))
    written.append(folder.write_data("scores", 0, {
        "tier": "".join(str(item.tier) for item in ordered),
        "mean": [_per_mille(pages[item.index].mean) for item in ordered],
        "low": [_per_mille(pages[item.index].low) for item in ordered],
    }))
    timed = sorted((position for position, item in enumerate(ordered) if pages[item.index].seconds is not None),
                   key=lambda position: -(pages[ordered[position].index].seconds or 0.0))[:SLOWEST]
    written.append(folder.write_data("summary", 0, {
        **_counts(pages, ordered),
        "results": loaded.path.name, "format": loaded.fmt, "records": loaded.records,
        "superseded": loaded.superseded, "skipped": loaded.skipped, "skipped_reasons": loaded.skipped_reasons[:5],
        "histogram": _histogram(pages), "low_line": options.thresholds.low_line,
        "low_mean": options.thresholds.low_mean,
        "slowest": [[position, pages[ordered[position].index].image, pages[ordered[position].index].page,
                     pages[ordered[position].index].seconds] for position in timed],
        "images": how, "thumbnails": sum(1 for thumb in thumbs if thumb.name),
        "thumbnail_limit": options.thumbnails, "list_chunk": LIST_CHUNK, "page_chunk": PAGE_CHUNK,
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }))
    return written
