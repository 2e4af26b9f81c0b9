"""Reading PDF inputs with pypdfium2 (PDFium: Apache-2.0/BSD): page counts, pages rendered to pixels,
and a page's embedded text layer.

Every failure is an `ImageReadError` with a one-line reason, so a bad PDF becomes error records and
the run goes on. PDFium is not thread-safe, so every call into it holds one process-wide lock
(the thread backend runs several workers in one process).

Example::

    pixels = render_page(Path("scan.pdf"), 0, dpi=300, max_pixels=100_000_000)
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.types import Line
from pipeline.errors import ImageReadError, one_line

if TYPE_CHECKING:
    import numpy as np
    import pypdfium2 as pdfium

__all__ = ["PdfPageSize", "check_file_size", "count_pdf_pages", "embedded_lines", "open_pdf", "page_pixel_size",
           "render_page"]

PDFIUM_LOCK = threading.RLock()
_POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class PdfPageSize:
    width: int  # pixels of the rendered page
    height: int
    scale: float  # pixels per PDF point


@contextmanager
def open_pdf(path: Path, max_pages: int | None = None) -> Iterator[pdfium.PdfDocument]:
    """The document at `path`, under the PDFium lock; ImageReadError if it cannot be opened, has no
    pages or more than `max_pages`."""
    # Imported here, on the first PDF: a run of images, and the forkserver that preloads what
    # workers import, skip its 26 ms.
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise ImageReadError(f"cannot open PDF: {_reason(exc)}") from None
        except (OSError, ValueError) as exc:
            raise ImageReadError(f"cannot open PDF: {one_line(exc)}") from None
        try:
            count = len(doc)
            if count == 0:
                raise ImageReadError("PDF has no pages")
            if max_pages is not None and count > max_pages:
                raise ImageReadError(f"PDF has {count} pages, more than the limit of {max_pages} (limits.max_pages)")
            yield doc
        finally:
            doc.close()


def _reason(exc: BaseException) -> str:
    text = one_line(exc)
    if "password" in text.lower():
        return "encrypted (password required)"
    if "format" in text.lower():
        return "not a PDF, or truncated or corrupt"
    if "(PDFium: Success)" in text:  # PDFium gave up without saying why: e.g. an empty page tree
        return "PDFium could not load it (no pages, or a broken page tree)"
    return text


def count_pdf_pages(path: Path, max_pages: int | None = None) -> int:
    with open_pdf(path, max_pages) as doc:
        return len(doc)


def _page_size(page: pdfium.PdfPage, dpi: int, max_pixels: int) -> PdfPageSize:
    """The page's size rendered at `dpi`, scaled down (not refused) to fit `max_pixels`."""
    width_pt, height_pt = page.get_size()
    if not (width_pt > 0 and height_pt > 0):
        raise ImageReadError(f"invalid PDF page size {width_pt}x{height_pt} points")
    # A hair under the exact scale: pypdfium2 rounds the bitmap size up, and 240 pt at 300 dpi must
    # be 1000 pixels, not 1001 (an image saved as a PDF comes back at its own size).
    scale = dpi / _POINTS_PER_INCH * (1 - 1e-6)  # page sizes are float32 in PDFium
    pixels = width_pt * scale * height_pt * scale
    if pixels > max_pixels:
        scale *= math.sqrt(max_pixels / pixels) * 0.999  # rounding up must not push it back over
    return PdfPageSize(max(1, math.ceil(width_pt * scale)), max(1, math.ceil(height_pt * scale)), scale)


def page_pixel_size(path: Path, page: int, dpi: int, max_pixels: int, max_pages: int | None = None) -> PdfPageSize:
    with open_pdf(path, max_pages) as doc:
        return _page_size(_get_page(doc, page), dpi, max_pixels)


def _get_page(doc: pdfium.PdfDocument, page: int) -> pdfium.PdfPage:
    if not 0 <= page < len(doc):
        raise ImageReadError(f"page {page} out of range (PDF has {len(doc)} pages)")
    import pypdfium2 as pdfium  # loaded already: `doc` is open

    try:
        return doc[page]
    except pdfium.PdfiumError as exc:
        raise ImageReadError(f"PDF page {page} is unreadable: {one_line(exc)}") from None


def render_page(path: Path, page: int, dpi: int, max_pixels: int, max_pages: int | None = None) -> np.ndarray:
    """Page `page` (0-based) as a C-contiguous uint8 BGR array, on white, at `dpi` or less."""
    import numpy as np  # here: the parent counts a PDF's pages but never renders one

    with open_pdf(path, max_pages) as doc:
        pdf_page = _get_page(doc, page)
        size = _page_size(pdf_page, dpi, max_pixels)
        try:
            bitmap = pdf_page.render(scale=size.scale, fill_color=(255, 255, 255, 255))
            pixels = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)  # the bitmap dies with the doc
        except MemoryError:
            raise ImageReadError(f"not enough memory to render PDF page {page} at {size.width}x{size.height}") from None
        except Exception as exc:
            raise ImageReadError(f"PDF page {page} failed to render: {one_line(exc)}") from None
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise ImageReadError(f"PDF page {page} rendered to an unexpected layout {pixels.shape}")
    return np.ascontiguousarray(pixels[:, :, :3])  # PDFium renders BGR(x)


def _turned(x: float, y: float, rotation: int, width: float, height: float) -> tuple[float, float]:
    """A point of the unrotated page (`width` x `height` pixels, origin top left) on the page as it
    is shown and rendered: turned clockwise by its /Rotate."""
    if rotation == 90:
        return height - y, x
    if rotation == 180:
        return width - x, height - y
    if rotation == 270:
        return y, width - x
    return x, y


def embedded_lines(path: Path, page: int, dpi: int, max_pixels: int, max_pages: int | None = None) -> list[Line]:
    """The page's text layer as lines (PDFium's text rectangles, each a run of text on one line),
    boxed in the pixels of the page rendered at `dpi`; empty when the page has no text layer."""
    import pypdfium2 as pdfium  # loaded by `open_pdf`; named here for its error

    with open_pdf(path, max_pages) as doc:
        pdf_page = _get_page(doc, page)
        size = _page_size(pdf_page, dpi, max_pixels)  # as rendered: turned by the page's /Rotate
        rotation = pdf_page.get_rotation() % 360
        # Text positions are in the unrotated page, and PDFium orders a rotated page's text by where
        # it is shown: read it unrotated (this document is never saved), turn the boxes afterwards.
        pdf_page.set_rotation(0)
        width_pt, height_pt = pdf_page.get_size()
        width, height = width_pt * size.scale, height_pt * size.scale
        try:
            textpage = pdf_page.get_textpage()
            lines: list[Line] = []
            for i in range(textpage.count_rects()):
                left, bottom, right, top = textpage.get_rect(i)
                text = textpage.get_text_bounded(left, bottom, right, top).strip()
                if not text:
                    continue
                # PDF space has its origin at the bottom left; pixels at the top left.
                corners = [_turned(x * size.scale, (height_pt - y) * size.scale, rotation, width, height)
                           for x, y in ((left, top), (right, bottom))]
                x0, x1 = sorted(round(x) for x, _ in corners)
                y0, y1 = sorted(round(y) for _, y in corners)
                lines.append({"text": " ".join(text.split()), "score": 1.0,
                              "box": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]})
        except pdfium.PdfiumError as exc:
            raise ImageReadError(f"PDF page {page}: cannot read its text layer: {one_line(exc)}") from None
    return lines


def check_file_size(path: Path, max_bytes: int) -> None:
    """ImageReadError for a file over `max_bytes` (limits.max_file_bytes), as for images: PDFium
    would open it, and a page of it would be rendered, whatever its size."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # opening it says why
    if size > max_bytes:
        raise ImageReadError(f"file too large: {size} bytes exceeds the limit of {max_bytes} (limits.max_file_bytes)")
