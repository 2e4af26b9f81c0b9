"""`--format pdf`: per input file a searchable PDF, its pages the page images with the recognized
lines as invisible text at their boxes (what OCRmyPDF makes of scans, here for image folders too).

The output is a folder mirroring the input tree: `sub/a.png` -> `sub/a.png.pdf`, `doc.pdf` ->
`doc.pdf.pdf`. A PDF input keeps its own pages (imported, not re-rendered: vector text and images
stay sharp), with the text layer laid over them; an image input becomes a page of its pixels at
`pdf.dpi`. Failed pages are rows of `errors.tsv` and are left out of the file.

A file's PDF is written atomically once all of its pages in this run have arrived, and its error
rows just before it, so an existing PDF means every page of that input is done: resume counts its
pages plus the input's error rows. A file cut off by a stop is not written; all its pages are
redone next time. A PDF that cannot be written for its name's sake (too long, a folder or a
symlink in the way, held open elsewhere: `pipeline.output.base.is_name_error`) leaves its pages as
error rows, like the page formats, and the run goes on.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.types import Record
from pipeline.errors import ImageReadError, ResumeError, one_line
from pipeline.inputs.filetypes import is_pdf
from pipeline.inputs.pdf import count_pdf_pages, page_pixel_size
from pipeline.output.base import ErrorList, atomic_write, file_relpath, is_name_error
from pipeline.output.paths import output_dir
from pipeline.output.pdfwrite import (
    add_image_page,
    add_text_layer,
    glyphless_font,
    import_page,
    new_document,
    save_bytes,
)
from pipeline.output.resume import Completed, PageKey, drop_error_rows, read_errors_tsv, remove_temp_files

if TYPE_CHECKING:
    from pipeline.output.context import SinkContext

__all__ = ["PdfSink", "forget_files", "read_pdf_folder"]

SUFFIX = ".pdf"


class PdfSink:
    def __init__(self, root: Path, append: bool = False, context: SinkContext | None = None) -> None:
        if context is None:
            raise ValueError("the pdf format needs the run's input files (a SinkContext)")
        if root.exists() and not root.is_dir():
            raise NotADirectoryError(f"the pdf format writes into a folder, but {root} is a file")
        root.mkdir(parents=True, exist_ok=True)
        self._root = root
        self._context = context
        self._pending: dict[str, list[Record]] = defaultdict(list)
        self._errors = ErrorList(root, append)
        self.failed_writes = 0  # ok pages whose file could not be written, or whose input not read again (errors.tsv)

    def path_for(self, image: str) -> Path:
        return self._root.joinpath(*file_relpath(image, SUFFIX).split("/"))

    def write(self, record: Record) -> None:
        image = record["image"]
        pages = self._pending[image]
        pages.append(record)
        if len(pages) < self._context.sources[image].pages:
            return
        del self._pending[image]
        pages.sort(key=lambda r: r["page"])
        for failed in (r for r in pages if r["status"] != "ok"):
            self._errors.add(failed)
        good = [r for r in pages if r["status"] == "ok"]
        try:
            self._store(image, good)
        except (OSError, ValueError, ImageReadError) as exc:  # one bad name (too long, a folder in the way,
            # ...) or an input that changed or went since its pages were OCR'd never ends the run
            if isinstance(exc, OSError) and not is_name_error(exc):
                raise  # a full disk or a read-only folder is no single file's fault
            self.failed_writes += len(good)
            for page in good:
                self._errors.add(page, f"cannot write this file's {SUFFIX}: {one_line(exc)}")
            if isinstance(exc, ImageReadError):
                self._store(image, [])  # a stale PDF must not say the pages were done

    def _store(self, image: str, good: list[Record]) -> None:
        """Write the file's PDF of its `good` pages, or remove a stale one when there are none; never
        outside the root nor through a symlink or junction (`output_dir`)."""
        parts = file_relpath(image, SUFFIX).split("/")  # ValueError for an escaping path
        folder = output_dir(self._root, parts[:-1], create=bool(good))
        if folder is None:
            return  # nothing to write, and no folder that could hold a stale file
        final = folder / parts[-1]
        if good:
            atomic_write(final, [self._document(image, good)])
        else:
            final.unlink(missing_ok=True)  # a stale one must not say the pages were done

    def _document(self, image: str, records: list[Record]) -> bytes:
        source = self._context.path(image)
        with new_document() as doc:
            font = glyphless_font(doc, (line["text"] for record in records for line in record["lines"]))
            for record in records:
                turned = record.get("orientation", 0)
                dpi: float = self._context.dpi
                if is_pdf(source.name):
                    size = page_pixel_size(source, record["page"], self._context.dpi, self._context.max_pixels,
                                           self._context.max_pages)
                    if not turned:
                        page = import_page(doc, source, record["page"])
                        add_text_layer(doc, page, record["lines"], size.scale, font)
                        continue
                    dpi = size.scale * 72  # a turned page: its pixels as OCR'd, at the size it had
                pixels = self._context.pixels(image, record["page"], turned)
                page = add_image_page(doc, pixels, dpi)
                add_text_layer(doc, page, record["lines"], dpi / 72, font)
            return save_bytes(doc)

    def close(self) -> None:
        self._errors.close()  # files still missing pages (a stop) are not written: redone next time


def _page_count(path: Path) -> int:
    try:
        return count_pdf_pages(path)
    except ImageReadError as exc:
        raise ResumeError(f"{path} is not a readable PDF ({exc}); delete it or start afresh with --overwrite") from None


def read_pdf_folder(root: Path, retry_errors: bool) -> Completed:
    """The pages a pdf output folder holds: for every `<image>.pdf`, its pages and the image's error
    rows; error rows of an image without a PDF (all its pages failed). With `retry_errors`, every
    image with an error row is left out whole (its PDF is rewritten when it is done again)."""
    if not root.is_dir():
        raise ResumeError(f"{root} is a file; the pdf format writes into a folder")
    remove_temp_files(root)
    errors = read_errors_tsv(root, retry_errors=False)
    failed_images = {image for image, _ in errors}
    done: set[PageKey] = set(errors)
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if not name.endswith(SUFFIX):
                continue
            path = Path(folder, name)
            image = path.relative_to(root).as_posix()[: -len(SUFFIX)]
            failed = sum(1 for key in errors if key[0] == image)
            done |= {(image, page) for page in range(_page_count(path) + failed)}
    if retry_errors:
        read_errors_tsv(root, retry_errors=True)  # drops the error rows from errors.tsv
        return Completed(key for key in done if key[0] not in failed_images)
    return Completed(done, errors)


def forget_files(root: Path, images: set[str]) -> None:
    """Make `images` redone whole (an input whose page count changed): their error rows go; their
    PDFs are replaced when they are done again."""
    drop_error_rows(root, images)
