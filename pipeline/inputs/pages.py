"""A page's pixels as the workers OCR'd them: read or rendered, then turned back upright.

The page-image output formats (hocr, pdf) read pages again through these functions, so that their
line boxes fit the pixels the engine saw.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipeline.inputs.filetypes import is_pdf
from pipeline.inputs.pdf import page_pixel_size, render_page
from pipeline.inputs.reader import DEFAULT_MAX_FILE_BYTES, read_image

__all__ = ["page_pixels", "page_size", "turn"]

# How to turn back a page found turned clockwise by this many degrees.
_UNDO = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def turn(image: np.ndarray, degrees: int) -> np.ndarray:
    """`image` turned counter-clockwise by `degrees` (0, 90, 180, 270): undoes a clockwise turn."""
    return cv2.rotate(image, _UNDO[degrees]) if degrees else image


def page_pixels(path: Path, page: int, dpi: float, max_pixels: int, max_pages: int, orientation: int = 0,
                max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> np.ndarray:
    """Page `page` of `path` as BGR pixels (a PDF page rendered at `dpi`), turned back by `orientation`;
    within the same limits as the worker's read (ImageReadError otherwise)."""
    if is_pdf(path.name):
        pixels = render_page(path, page, dpi, max_pixels, max_pages)
    else:
        pixels = read_image(path, page, max_pixels=max_pixels, max_bytes=max_bytes, max_pages=max_pages)
    return turn(pixels, orientation)


def page_size(path: Path, page: int, dpi: float, max_pixels: int, max_pages: int, orientation: int = 0,
              max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[int, int]:
    """(width, height) of that page in the pixels of its line boxes."""
    if is_pdf(path.name):
        size = page_pixel_size(path, page, dpi, max_pixels, max_pages)
        width, height = size.width, size.height
    else:
        height, width = read_image(path, page, max_pixels=max_pixels, max_bytes=max_bytes,
                                   max_pages=max_pages).shape[:2]  # after EXIF rotation
    return (height, width) if orientation in (90, 270) else (width, height)
