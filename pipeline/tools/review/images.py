"""The scans behind the records: where each is, its page size, and a downscaled copy to show.

A record says where its page is only relative to the run's key base (`load.image_root`); a key
that is absolute or climbs out with `..` (a hand-edited or hostile results file) is not followed.
The scans are only read: a thumbnail is a new, smaller JPEG in the review folder, named by a hash
of the page and the file's size and time, never by the input's name (which may be anything).

Sizes come from the record when it has them, else from the image header (no decode): they are
in the pixels of the line boxes, so a page the engine found turned is measured turned back, and a
PDF page at the run's `pdf.dpi`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from PIL import Image

from pipeline.errors import ImageReadError, one_line
from pipeline.inputs.filetypes import is_pdf
from pipeline.inputs.pages import page_pixels, page_size

__all__ = ["ImageSettings", "Thumbnail", "header_size", "locate", "make_thumbnail", "thumbnail_name"]

_PIL_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "MPO")
_EXIF_ORIENTATION = 0x0112
_JPEG_QUALITY = 80


@dataclass(frozen=True)
class ImageSettings:
    dpi: float  # the run's pdf.dpi: the pixels of a PDF page's boxes
    max_pixels: int
    max_pages: int
    max_side: int  # a thumbnail's longest side, in pixels


@dataclass(frozen=True)
class Thumbnail:
    name: str | None  # file name under thumbs/, or None
    size: tuple[int, int] | None  # (width, height) of the page in box pixels
    problem: str | None  # why there is none


def locate(root: Path | None, image: str) -> Path | None:
    """The scan of the key `image` under `root`; None for a key that would leave `root`."""
    if root is None or "\\" in image or "\0" in image:
        return None
    rel = PurePosixPath(image)
    if rel.is_absolute() or any(part in ("..", "") for part in rel.parts) or not rel.parts:
        return None
    return root.joinpath(*rel.parts)


def _turned(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (90, 270) else size


def header_size(path: Path, page: int, orientation: int, settings: ImageSettings) -> tuple[int, int] | None:
    """(width, height) of the page in box pixels, read from the file's header; None if unreadable."""
    try:
        if is_pdf(path.name):
            return page_size(path, page, settings.dpi, settings.max_pixels, settings.max_pages, orientation)
        with Image.open(path, formats=_PIL_FORMATS) as img:
            if page:
                img.seek(page)
            width, height = img.size
            exif = 1
            if img.format in ("JPEG", "MPO", "TIFF", "WEBP") or "exif" in img.info:
                try:
                    exif = int(img.getexif().get(_EXIF_ORIENTATION, 1))
                except Exception:  # a broken EXIF block: the reader ignores it too
                    exif = 1
            size = (height, width) if exif in (5, 6, 7, 8) else (width, height)
        return _turned(size, orientation)
    except (ImageReadError, OSError, ValueError, EOFError, Image.DecompressionBombError):
        return None


def thumbnail_name(image: str, page: int, orientation: int, path: Path, max_side: int) -> str | None:
    """A name that changes when the file does (watch mode replaces files); None if it is gone."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = "\0".join(map(str, (image, page, orientation, stat.st_size, stat.st_mtime_ns, max_side)))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".jpg"


def _downscaled(pixels: np.ndarray, max_side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    scale = max_side / max(width, height)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def make_thumbnail(path: Path, page: int, orientation: int, dest: Path, settings: ImageSettings) -> tuple[int, int]:
    """Write the page's downscaled copy to `dest` (kept if it is there already); the page's size in
    box pixels. Raises ImageReadError or OSError."""
    if is_pdf(path.name):
        size = page_size(path, page, settings.dpi, settings.max_pixels, settings.max_pages, orientation)
        if dest.exists():
            return size
        # Rendered straight at the thumbnail's size: a 300-dpi render would be thrown away.
        dpi = settings.dpi * min(1.0, settings.max_side / max(size))
        small = _downscaled(page_pixels(path, page, dpi, settings.max_pixels, settings.max_pages, orientation),
                            settings.max_side)
    else:
        if dest.exists():
            found = header_size(path, page, orientation, settings)
            if found is not None:
                return found
        pixels = page_pixels(path, page, settings.dpi, settings.max_pixels, settings.max_pages, orientation)
        size = (pixels.shape[1], pixels.shape[0])
        small = _downscaled(pixels, settings.max_side)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ImageReadError("could not encode the thumbnail")
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as handle:
        handle.write(encoded.tobytes())
    os.replace(temp, dest)
    return size


def thumbnail(root: Path | None, image: str, page: int, orientation: int, folder: Path,
              settings: ImageSettings) -> Thumbnail:
    """The page's thumbnail in `folder`, made as needed, or why there is none."""
    path = locate(root, image)
    if path is None:
        return Thumbnail(None, None, "no image folder" if root is None else "its path leaves the image folder")
    name = thumbnail_name(image, page, orientation, path, settings.max_side)
    if name is None:
        return Thumbnail(None, None, "image not found")
    try:
        size = make_thumbnail(path, page, orientation, folder / name, settings)
    except (ImageReadError, OSError, cv2.error, MemoryError) as exc:
        return Thumbnail(None, None, f"unreadable: {one_line(exc)}")
    return Thumbnail(name, size, None)
