"""PDFs the tests build themselves: scans (page images), born-digital pages (a visible text layer),
and broken files (encrypted, no pages, truncated), written by hand where no library makes them."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.core.types import Line
from pipeline.output.pdfwrite import add_image_page, add_text_layer, helvetica, new_document, save_bytes


def scan_pdf(path: Path, pages: Sequence[np.ndarray], dpi: int = 300) -> Path:
    """A PDF whose pages are `pages` (BGR arrays), each shown at `dpi`: rendered at `dpi` they come back
    pixel for pixel (almost)."""
    with new_document() as doc:
        for pixels in pages:
            add_image_page(doc, pixels, dpi)
        path.write_bytes(save_bytes(doc))
    return path


def text_pdf(path: Path, pages: Sequence[Sequence[Line]], size: tuple[int, int] = (1000, 400), dpi: int = 300) -> Path:
    """A born-digital PDF: white pages of `size` pixels at `dpi` with visible Helvetica text at the boxes."""
    with new_document() as doc:
        font = helvetica(doc)
        for lines in pages:
            page = add_image_page(doc, np.full((size[1], size[0], 3), 255, np.uint8), dpi)
            add_text_layer(doc, page, lines, dpi / 72, font)
        path.write_bytes(save_bytes(doc))
    return path


def line(text: str, left: int, top: int, right: int, bottom: int) -> Line:
    return {"text": text, "score": 1.0, "box": [[left, top], [right, top], [right, bottom], [left, bottom]]}


def _assemble(objects: list[bytes], trailer: bytes) -> bytes:
    """A PDF file from numbered objects (1..n) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def zero_page_pdf(path: Path) -> Path:
    path.write_bytes(_assemble([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"], b""))
    return path


def encrypted_pdf(path: Path) -> Path:
    """Standard security handler with a user password: PDFium cannot open it without one."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
        b"<< /Filter /Standard /V 1 /R 2 /P -4 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> >>",
    ]
    path.write_bytes(_assemble(objects, b"/Encrypt 4 0 R /ID [<" + b"33" * 16 + b"> <" + b"33" * 16 + b">]"))
    return path


def huge_page_pdf(path: Path, inches: int = 200) -> Path:
    """One blank page of `inches` x `inches` (200 in is the largest page PDF allows)."""
    side = inches * 72
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % (side, side),
    ]
    path.write_bytes(_assemble(objects, b""))
    return path
