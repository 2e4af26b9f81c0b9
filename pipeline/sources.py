"""What the page-image output formats (hocr, pdf) need to know about the run's input files: where
each one is, how many of its pages this run writes, and its pages' pixels as the workers saw them.

The records carry only the relative path (`image`), so the run hands its sink a `SinkContext`
built from the discovered pages; the other formats ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.config import Config, PdfConfig
from pipeline.filetypes import is_pdf
from pipeline.orientation import turn
from pipeline.pdfpages import page_pixel_size, render_page
from pipeline.reader import read_image
from pipeline.tasks import ImageRef

__all__ = ["SinkContext", "SourceFile", "sink_context"]


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute
    pages: int  # how many of its pages this run writes


@dataclass(frozen=True)
class SinkContext:
    sources: dict[str, SourceFile]  # by the records' `image` (watch mode adds each batch's)
    pdf: PdfConfig
    max_pixels: int
    max_pages: int

    def path(self, image: str) -> Path:
        return Path(self.sources[image].path)

    def pixels(self, image: str, page: int, orientation: int = 0) -> np.ndarray:
        """The page as BGR pixels, exactly as the workers OCR'd it (so line boxes fit): turned back
        by the record's `orientation`."""
        path = self.path(image)
        if is_pdf(path.name):
            pixels = render_page(path, page, self.pdf.dpi, self.max_pixels, self.max_pages)
        else:
            pixels = read_image(path, page, max_pixels=self.max_pixels)
        return turn(pixels, orientation)

    def size(self, image: str, page: int, orientation: int = 0) -> tuple[int, int]:
        """(width, height) in the pixels of the line boxes."""
        path = self.path(image)
        if is_pdf(path.name):
            size = page_pixel_size(path, page, self.pdf.dpi, self.max_pixels, self.max_pages)
            width, height = size.width, size.height
        else:
            height, width = read_image(path, page, max_pixels=self.max_pixels).shape[:2]  # after EXIF rotation
        return (height, width) if orientation in (90, 270) else (width, height)


def sink_context(images: Sequence[ImageRef], config: Config) -> SinkContext:
    counts: dict[str, int] = {}
    paths: dict[str, str] = {}
    for image in images:
        counts[image.rel] = counts.get(image.rel, 0) + 1
        paths[image.rel] = image.path
    sources = {rel: SourceFile(paths[rel], counts[rel]) for rel in counts}
    return SinkContext(sources, config.pdf, config.limits.max_image_pixels, config.limits.max_pages)
