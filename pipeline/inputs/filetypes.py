"""Which files the pipeline reads as images, and which of them hold several pages (one place for
both: discovery, the reader and the txt output's file names all ask here)."""

from __future__ import annotations

__all__ = ["IMAGE_EXTENSIONS", "INPUT_EXTENSIONS", "MULTI_PAGE_EXTENSIONS", "PDF_EXTENSIONS", "fold_case", "is_multi_page", "is_pdf"]

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
"""File name suffixes (lower-case, with the dot) that the pipeline treats as images."""

PDF_EXTENSIONS: frozenset[str] = frozenset({".pdf"})
"""PDFs: rendered page by page with pypdfium2 (`pipeline.inputs.pdf`), not decoded as images."""

INPUT_EXTENSIONS: frozenset[str] = IMAGE_EXTENSIONS | PDF_EXTENSIONS
"""Everything a folder walk picks up."""

MULTI_PAGE_EXTENSIONS: frozenset[str] = frozenset({".tif", ".tiff"}) | PDF_EXTENSIONS
"""Suffixes of formats whose pages are numbered: every page is OCR'd, and named by its number."""


def is_multi_page(name: str) -> bool:
    """True for a file name (or path) with a multi-page format's suffix, in any case."""
    return name.lower().endswith(tuple(MULTI_PAGE_EXTENSIONS))


def is_pdf(name: str) -> bool:
    """True for a file name (or path) ending in .pdf, in any case."""
    return name.lower().endswith(tuple(PDF_EXTENSIONS))


def fold_case(name: str) -> str:
    """`name` as a case-insensitive file system compares it: upper case, character by character.
    NTFS's upper-case table never changes a length, so `Straße` and `Strasse` stay two names there
    (`casefold()` would make them one)."""
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in name)
