"""Writing PDFs with pypdfium2 (PDFium's editing API): pages from images or from another PDF, with a
text layer at given boxes, invisible (a searchable scan) or visible (tests' born-digital PDFs).

pypdfium2 already renders the PDF inputs, so the searchable-PDF output needs no second PDF library.
Invisible text is set in a "glyphless" font made for each document with fontTools: one empty glyph
per character the document uses, embedded as a CID font, so every script (CJK, Cyrillic, ...)
extracts exactly, at a few hundred bytes per document (the idea of Tesseract's GlyphLessFont).
Visible text uses the standard Helvetica (Latin only).

Example::

    with new_document() as doc:
        font = glyphless_font(doc, [line["text"] for line in lines])
        page = add_image_page(doc, pixels, dpi=300)
        add_text_layer(doc, page, lines, 300 / 72, font)
        data = save_bytes(doc)
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from PIL import Image

from pipeline.core.types import Line
from pipeline.inputs.pdf import PDFIUM_LOCK

__all__ = ["add_image_page", "add_text_layer", "glyphless_font", "helvetica", "import_page", "new_document",
           "save_bytes"]

_UNITS_PER_EM = 1000
_ADVANCE = 500  # every glyph's width; the text is stretched over its box anyway
_ASCENT, _DESCENT = 800, -200


@dataclass(frozen=True)
class TextFont:
    handle: pdfium_c.FPDF_FONT
    invisible: bool
    data: object = None  # the font file's buffer, which PDFium reads until the document is saved


def helvetica(doc: pdfium.PdfDocument) -> TextFont:
    """PDF's standard Helvetica, not embedded, drawn: Latin text only (WinAnsi)."""
    return TextFont(pdfium_c.FPDFText_LoadStandardFont(doc.raw, b"Helvetica"), invisible=False)


def glyphless_font(doc: pdfium.PdfDocument, texts: Iterable[str]) -> TextFont:
    """An embedded font with a glyph for every character in `texts`, for invisible text.

    Each glyph is a box over its advance and the line height (never drawn), so PDFium measures a
    text's real extent: with empty glyphs it measured from the first character's origin to the
    last one's, and dropped one-character lines from the extracted text. The space has neither
    outline nor width, so the space after a line (`add_text_layer`) adds nothing to its box."""
    chars = sorted(set("".join(texts)) | {" "})
    names = {char: f"uni{ord(char):04X}" for char in chars}
    builder = FontBuilder(_UNITS_PER_EM, isTTF=True)
    builder.setupGlyphOrder([".notdef", *names.values()])
    builder.setupCharacterMap({ord(char): name for char, name in names.items()})
    pen = TTGlyphPen(None)
    pen.moveTo((0, _DESCENT))
    for corner in ((_ADVANCE, _DESCENT), (_ADVANCE, _ASCENT), (0, _ASCENT)):
        pen.lineTo(corner)
    pen.closePath()
    box = pen.glyph()
    glyphs = {name: box for name in [".notdef", *names.values()]}
    metrics = {name: (_ADVANCE, 0) for name in glyphs}
    glyphs[names[" "]], metrics[names[" "]] = TTGlyphPen(None).glyph(), (0, 0)
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics(metrics)
    builder.setupHorizontalHeader(ascent=_ASCENT, descent=_DESCENT)
    builder.setupNameTable({"familyName": "PipelineGlyphless", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=_ASCENT, sTypoDescender=_DESCENT, usWinAscent=_ASCENT, usWinDescent=-_DESCENT)
    builder.setupPost()
    file = io.BytesIO()
    builder.save(file)
    data = file.getvalue()
    buffer = ctypes.create_string_buffer(data, len(data))
    handle = pdfium_c.FPDFText_LoadFont(doc.raw, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_uint8)), len(data),
                                        pdfium_c.FPDF_FONT_TRUETYPE, True)
    if not handle:
        raise RuntimeError("PDFium could not load the text layer's font")
    return TextFont(handle, invisible=True, data=buffer)


@contextmanager
def new_document() -> Iterator[pdfium.PdfDocument]:
    """An empty document, used and closed under the PDFium lock."""
    with PDFIUM_LOCK:
        doc = pdfium.PdfDocument.new()
        try:
            yield doc
        finally:
            doc.close()


def add_image_page(doc: pdfium.PdfDocument, pixels: np.ndarray, dpi: float) -> pdfium.PdfPage:
    """A new last page showing `pixels` (uint8 BGR), sized so the image is at `dpi`."""
    height, width = pixels.shape[:2]
    page = doc.new_page(width * 72.0 / dpi, height * 72.0 / dpi)
    image = pdfium.PdfImage.new(doc)
    rgb = Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1]))
    bitmap = pdfium.PdfBitmap.from_pil(rgb)
    image.set_bitmap(bitmap)
    bitmap.close()
    image.set_matrix(pdfium.PdfMatrix().scale(page.get_width(), page.get_height()))
    page.insert_obj(image)
    page.gen_content()
    return page


def import_page(doc: pdfium.PdfDocument, source: Path, index: int) -> pdfium.PdfPage:
    """A copy of page `index` of the PDF at `source` as the new last page (vector content kept)."""
    src = pdfium.PdfDocument(str(source))
    try:
        doc.import_pages(src, [index])
    finally:
        src.close()
    return doc[len(doc) - 1]


def add_text_layer(doc: pdfium.PdfDocument, page: pdfium.PdfPage, lines: Sequence[Line],
                   pixels_per_point: float, font: TextFont) -> None:
    """One text object per line, stretched over its box (pixel coordinates of the page rendered at
    `pixels_per_point`), so selecting and searching in a viewer find it where the line is drawn."""
    height_pt = page.get_height()
    mode = pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE if font.invisible else pdfium_c.FPDF_TEXTRENDERMODE_FILL
    for line in lines:
        text = line["text"].strip()
        if not text:
            continue
        xs = [x for x, _ in line["box"]]
        ys = [y for _, y in line["box"]]
        left, right = min(xs) / pixels_per_point, max(xs) / pixels_per_point
        top, bottom = height_pt - min(ys) / pixels_per_point, height_pt - max(ys) / pixels_per_point
        size = max(top - bottom, 1.0)
        obj = pdfium_c.FPDFPageObj_CreateTextObj(doc.raw, font.handle, ctypes.c_float(size))
        # With the glyphless font a space ends the line: it has no width (`glyphless_font`), and keeps
        # two lines side by side on one baseline (a tick and its label) two words in the extracted text.
        encoded = ctypes.create_string_buffer((text + (" " if font.invisible else "") + "\0").encode("utf-16-le"))
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(encoded, pdfium_c.FPDF_WIDESTRING))
        pdfium_c.FPDFTextObj_SetTextRenderMode(obj, mode)
        # Stretch the text's own bounds (glyph boxes, side bearings included) onto the line's box.
        # Empty glyphs have no height: then the baseline goes where the descenders end.
        x0, y0, x1, y1 = _bounds(obj)
        sx = (right - left) / (x1 - x0) if x1 > x0 else 1.0
        if y1 > y0:
            sy, dy = (top - bottom) / (y1 - y0), bottom - y0 * (top - bottom) / (y1 - y0)
        else:
            sy, dy = 1.0, bottom - y0 - _DESCENT / _UNITS_PER_EM * size
        pdfium_c.FPDFPageObj_Transform(obj, sx, 0, 0, sy, left - x0 * sx, dy)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)  # the page owns it from here
    if not pdfium_c.FPDFPage_GenerateContent(page.raw):
        raise RuntimeError("PDFium could not write the page's content stream")


def _bounds(obj: pdfium_c.FPDF_PAGEOBJECT) -> tuple[float, float, float, float]:
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        return 0.0, 0.0, 0.0, 0.0
    return left.value, bottom.value, right.value, top.value


def save_bytes(doc: pdfium.PdfDocument) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
