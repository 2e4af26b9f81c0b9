"""`--format hocr`: one hOCR file per page (the HTML-based format Tesseract and OCRmyPDF write),
with the page's size and every line's box and confidence, for archives and downstream tools.

The files sit in a folder mirroring the input tree, named like the txt format's but ending in
`.hocr` (`sub/a.png.hocr`, `scan.pdf.page0002.hocr`); failed pages are rows of `errors.tsv`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.types import Line, Record
from pipeline.output.base import PageFileSink
from pipeline.output.names import readable

if TYPE_CHECKING:
    from pipeline.output.context import SinkContext

__all__ = ["HocrSink", "hocr_page"]

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="pipeline (PaddleOCR)"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_line"/>
 </head>
 <body>
"""


def _bbox(points: list[list[int]]) -> tuple[int, int, int, int]:
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return max(0, min(xs)), max(0, min(ys)), max(xs), max(ys)


def hocr_page(record: Record, size: tuple[int, int] | None) -> str:
    """The hOCR document of one ok record. `size`: the page's (width, height) in the boxes' pixels;
    None makes the page box the lines' extent (when the source file is not at hand)."""
    lines: list[Line] = record["lines"]
    if size is None:
        corners = [point for line in lines for point in line["box"]] or [[0, 0]]
        _, _, width, height = _bbox(corners)
    else:
        width, height = size
    number = record["page"] + 1
    image = readable(record["image"])  # a name that is not UTF-8, escaped (pipeline.output.names)
    title = f'image "{image}"; bbox 0 0 {width} {height}; ppageno {record["page"]}'
    out = [_HEAD.format(title=escape(image)),
           f'  <div class="ocr_page" id="page_{number}" title="{escape(title)}">\n']
    for i, line in enumerate(lines, 1):
        x0, y0, x1, y1 = _bbox(line["box"])
        conf = round(line["score"] * 100)
        out.append(f'   <span class="ocr_line" id="line_{number}_{i}" title="bbox {x0} {y0} {x1} {y1}; '
                   f'x_wconf {conf}">{escape(line["text"], quote=False)}</span>\n')
    out.append("  </div>\n </body>\n</html>\n")
    return "".join(out)


class HocrSink(PageFileSink):
    suffix = ".hocr"

    def __init__(self, root: Path, append: bool = False, context: SinkContext | None = None) -> None:
        super().__init__(root, append)
        self._context = context

    def render(self, record: Record) -> bytes:
        size = None
        if self._context is not None and record["image"] in self._context.sources:
            size = self._context.size(record["image"], record["page"], record.get("orientation", 0))
        return hocr_page(record, size).encode("utf-8")
