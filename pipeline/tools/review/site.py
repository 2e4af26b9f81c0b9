"""Writing the review folder: the static page (package data) and its data as `<script>` files.

A browser opening `index.html` from disk refuses `fetch` and XHR of `file://` URLs (Chromium does),
but runs `<script src>` from beside the page. So every data file is a script that hands its JSON
to the page: `REVIEW.put("list", 3, {...});`, loaded when it is needed. Names and recognized text
are data: inside those scripts they are JSON strings in which `<`, `>` and `&` are escaped (so a
`</script>` in a page's text cannot end the script), and the page only ever sets them as text
(`textContent`), never as markup; its Content-Security-Policy runs no inline script at all.

Layout of the folder::

    index.html review.js review.css   the page (copied from this package)
    data/summary.js data/scores.js    counts, histogram; every page's tier and scores (for filters)
    data/list-NNNN.js                 LIST_CHUNK pages of the list each, in review order
    data/page-NNNN.js                 PAGE_CHUNK pages' lines and boxes each, in review order
    thumbs/<hash>.jpg                 downscaled copies of the scans
    .pipeline-review                  marks the folder as ours, so a rebuild may clean it
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from pipeline.errors import ConfigError
from pipeline.output.paths import open_no_follow, refuse_symlink, shown

__all__ = ["ASSETS", "LIST_CHUNK", "PAGE_CHUNK", "ReviewFolder", "safe_json", "script_text"]

LIST_CHUNK = 500
PAGE_CHUNK = 100
ASSETS = ("index.html", "review.js", "review.css")
MARKER = ".pipeline-review"
_DATA_NAME = re.compile(r"(summary|scores|(list|page)-[0-9]{4,})\.js\Z")
_THUMB_NAME = re.compile(r"[0-9a-f]{32}\.jpg\Z")


def safe_json(data: Any) -> bytes:
    """`data` as UTF-8 JSON that is safe inside a script whatever its strings hold."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Only strings can hold these, and there a \u escape means the same: no `</script>`, no `<!--`.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if "\u2028" in text or "\u2029" in text:  # line breaks to older JavaScript
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    # A lone surrogate (an undecodable file name, kept as \udcXX by the run) becomes that escape
    # again: the JSON stays valid, and the page shows a replacement character.
    return text.encode("utf-8", "backslashreplace")


def script_text(kind: str, number: int, body: bytes) -> bytes:
    """A data file: `REVIEW.put(kind, number, body);`, `body` being `safe_json` output."""
    return b"REVIEW.put(" + json.dumps(kind).encode("ascii") + b"," + str(number).encode("ascii") + b"," + body + b");\n"


class ReviewFolder:
    """The output folder: refused unless it is new, empty, or an earlier review folder."""

    def __init__(self, root: Path) -> None:
        refuse_symlink(root)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"output {shown(root)} is a file; the review page is written into a folder")
        if root.is_dir() and any(root.iterdir()) and not (root / MARKER).is_file():
            raise ConfigError(f"output {shown(root)} is a folder with other things in it; choose a new or empty "
                              f"folder (an earlier review folder is reused)")
        self.root = root
        self.data = root / "data"
        self.thumbs = root / "thumbs"
        for folder in (root, self.data, self.thumbs):
            refuse_symlink(folder)
            folder.mkdir(parents=True, exist_ok=True)
        self.write(MARKER, b'{"pipeline": "review"}\n')

    def write(self, name: str, content: bytes) -> None:
        path = self.root / name
        refuse_symlink(path)
        with os.fdopen(open_no_follow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "wb") as handle:
            handle.write(content)

    def write_data(self, kind: str, number: int, data: Any) -> str:
        """Write `data/<kind>[-NNNN].js` holding `data`; its file name."""
        return self.write_script(kind, number, safe_json(data))

    def write_script(self, kind: str, number: int, body: bytes) -> str:
        """Write `data/<kind>[-NNNN].js` holding `body` (JSON from `safe_json`); its file name."""
        name = (kind if kind in ("summary", "scores") else f"{kind}-{number:04d}") + ".js"
        self.write(f"data/{name}", script_text(kind, number, body))
        return name

    def copy_assets(self) -> None:
        package = resources.files("pipeline.tools.review") / "assets"
        for name in ASSETS:
            self.write(name, (package / name).read_bytes())

    def clean(self, keep_thumbs: Iterable[str], data_written: Iterable[str]) -> None:
        """Remove data files and thumbnails of an earlier build that this one did not write."""
        keep = set(keep_thumbs)
        for entry in os.scandir(self.thumbs):
            if _THUMB_NAME.match(entry.name) and entry.name not in keep:
                os.unlink(entry.path)
        written = set(data_written)
        for entry in os.scandir(self.data):
            if _DATA_NAME.match(entry.name) and entry.name not in written:
                os.unlink(entry.path)
