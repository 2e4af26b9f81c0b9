"""What the page-image output formats (hocr, pdf) need to know about the run's input files: where
each one is, how many of its pages this run writes, and its pages' pixels as the workers saw them.

The records carry only the relative path (`image`), so the run hands its sink a `SinkContext`
built from the discovered pages; the other formats ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from pipeline.config import Config, PdfConfig
from pipeline.filetypes import is_pdf
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
    sources: Mapping[str, SourceFile]  # by the records' `image`
    pdf: PdfConfig
    max_pixels: int

    def path(self, image: str) -> Path:
        return Path(self.sources[image].path)

    def pixels(self, image: str, page: int) -> np.ndarray:
        """The page as BGR pixels, exactly as the workers OCR'd it (so line boxes fit)."""
        path = self.path(image)
        if is_pdf(path.name):
            return render_page(path, page, self.pdf.dpi, self.max_pixels, self.pdf.max_pages)
        return read_image(path, page, max_pixels=self.max_pixels)

    def size(self, image: str, page: int) -> tuple[int, int]:
        """(width, height) in the pixels of the line boxes."""
        path = self.path(image)
        if is_pdf(path.name):
            size = page_pixel_size(path, page, self.pdf.dpi, self.max_pixels, self.pdf.max_pages)
            return size.width, size.height
        height, width = self.pixels(image, page).shape[:2]  # EXIF rotation may swap the header's size
        return width, height


def sink_context(images: Sequence[ImageRef], config: Config) -> SinkContext:
    counts: dict[str, int] = {}
    paths: dict[str, str] = {}
    for image in images:
        counts[image.rel] = counts.get(image.rel, 0) + 1
        paths[image.rel] = image.path
    sources = {rel: SourceFile(paths[rel], counts[rel]) for rel in counts}
    return SinkContext(sources, config.pdf, config.limits.max_image_pixels)
