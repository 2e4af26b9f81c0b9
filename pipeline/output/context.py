"""What the page-image output formats (hocr, pdf) need to know about the run's input files: where
each one is, how many of its pages this run writes, and its pages' pixels as the workers saw them.

The records carry only the relative path (`image`), so the run hands its sink a `SinkContext`
built from the discovered pages and the read settings (dpi, limits); the other formats ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from pipeline.core.types import ImageRef

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SinkContext", "SourceFile"]


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute
    pages: int  # how many of its pages this run writes


@dataclass(frozen=True)
class SinkContext:
    dpi: float  # PDF pages are rendered at this resolution
    max_pixels: int
    max_pages: int
    max_bytes: int  # the run's read limits: the sink reads a page again only as far as the worker could
    sources: dict[str, SourceFile] = field(default_factory=dict)  # by the records' `image`

    def add(self, images: Iterable[ImageRef]) -> None:
        """Make these pages' files known (watch mode adds each batch's)."""
        counts: dict[str, int] = {}
        paths: dict[str, str] = {}
        for image in images:
            counts[image.rel] = counts.get(image.rel, 0) + 1
            paths[image.rel] = image.path
        self.sources.update({rel: SourceFile(paths[rel], counts[rel]) for rel in counts})

    def path(self, image: str) -> Path:
        return Path(self.sources[image].path)

    def pixels(self, image: str, page: int, orientation: int = 0) -> np.ndarray:
        """The page as BGR pixels, exactly as the workers OCR'd it (so line boxes fit): turned back
        by the record's `orientation`."""
        from pipeline.inputs.pages import page_pixels  # with numpy and OpenCV: only a sink that draws pages

        return page_pixels(self.path(image), page, self.dpi, self.max_pixels, self.max_pages, orientation,
                           self.max_bytes)

    def size(self, image: str, page: int, orientation: int = 0) -> tuple[int, int]:
        """(width, height) in the pixels of the line boxes."""
        from pipeline.inputs.pages import page_size

        return page_size(self.path(image), page, self.dpi, self.max_pixels, self.max_pages, orientation,
                         self.max_bytes)
