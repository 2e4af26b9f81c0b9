"""``txt``: `output` is a folder mirroring the input tree, one `.txt` per page (see `txt_relpath`),
and `errors.tsv` listing the pages that failed."""

from __future__ import annotations

from pipeline.core.types import Record
from pipeline.output.base import PageFileSink, page_relpath

__all__ = ["TxtSink", "txt_relpath"]


class TxtSink(PageFileSink):
    """One `.txt` per page: its text and a final newline."""

    suffix = ".txt"

    def render(self, record: Record) -> bytes:
        return (record["text"] + "\n").encode("utf-8")


def txt_relpath(image: str, page: int) -> str:
    """The .txt of one page, relative to the txt output folder (see `page_relpath`)."""
    return page_relpath(image, page, ".txt")

