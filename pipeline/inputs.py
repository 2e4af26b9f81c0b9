"""Finding the images to OCR: files and folders (recursive), one `ImageRef` per page, in a stable
order. Problems found here (a missing input, a symlink loop) are reported, never silently dropped."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pipeline.errors import ImageReadError
from pipeline.filetypes import IMAGE_EXTENSIONS, is_multi_page
from pipeline.reader import count_pages
from pipeline.tasks import ImageRef

__all__ = ["Discovery", "discover"]


@dataclass
class Discovery:
    images: list[ImageRef] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _walk(folder: Path, warnings: list[str]) -> Iterable[Path]:
    """Image files under `folder`, following symlinks but never around a loop."""
    seen: set[str] = set()

    def on_error(err: OSError) -> None:
        warnings.append(f"cannot list {err.filename}: {err.strerror}")

    for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            warnings.append(f"skipped {dirpath}: symlink loop back to {real}")
            dirnames.clear()
            continue
        seen.add(real)
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                yield Path(dirpath) / name


def discover(inputs: Iterable[str | Path]) -> Discovery:
    """Every page of every image under `inputs`.

    Output paths are relative to the input folder (or, for several inputs, to their common parent).
    """
    found = Discovery()
    roots = [Path(p).absolute() for p in inputs]
    if len(roots) == 1:
        base = roots[0] if roots[0].is_dir() else roots[0].parent
    else:
        base = Path(os.path.commonpath([str(r.parent) for r in roots]))
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files.extend(_walk(root, found.warnings))
        elif root.exists() or root.is_symlink():
            files.append(root)  # named explicitly: OCR it whatever its extension; errors become records
        else:
            found.warnings.append(f"input not found: {root}")
    seen: set[str] = set()
    for path in files:
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        pages = 1
        if is_multi_page(path.name):
            try:
                pages = count_pages(path)
            except ImageReadError:
                pages = 1  # the worker's read reports the reason in the record
        rel = _relative(path, base)
        for page in range(pages):
            found.images.append(ImageRef(len(found.images), str(path), rel, page))
    return found
