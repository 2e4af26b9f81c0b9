"""Finding the images to OCR: files and folders (recursive), one `ImageRef` per page, in a stable
order. Problems found here (a missing input, a symlink loop) are reported, never silently dropped."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterable, Sequence

from pipeline.core.types import ImageRef
from pipeline.errors import ConfigError, ImageReadError
from pipeline.inputs.filetypes import INPUT_EXTENSIONS, fold_case, is_multi_page, is_pdf
from pipeline.inputs.links import is_link, is_link_stat
from pipeline.inputs.pdf import check_file_size, count_pdf_pages
from pipeline.inputs.reader import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PAGES, count_pages

__all__ = ["Discovery", "canonical_case", "discover", "is_link", "is_link_stat", "key_base",
           "normalised", "page_count", "walk"]



@dataclass
class Discovery:
    images: list[ImageRef] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _under(real: str, roots: list[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def walk(folder: Path, roots: list[str], follow_symlinks: bool, warnings: list[str]) -> Iterable[Path]:
    """Image files under `folder`, never around a symlink loop. A symlink (to a folder or a file)
    is followed only when its target stays under one of the input `roots` (real paths), or with
    `follow_symlinks`: a `link -> /` must not pull in every image of the machine."""
    seen: set[str] = set()

    def on_error(err: OSError) -> None:
        warnings.append(f"cannot list {err.filename}: {err.strerror}")

    def allowed(path: Path) -> bool:
        if follow_symlinks or not is_link(path):
            return True
        real = os.path.realpath(path)
        if _under(real, roots):
            return True
        warnings.append(f"skipped {path}: a symlink to {real}, outside the inputs (--follow-symlinks follows it)")
        return False

    for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            warnings.append(f"skipped {dirpath}: symlink loop back to {real}")
            dirnames.clear()
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if allowed(Path(dirpath) / d))
        for name in sorted(filenames):
            if Path(name).suffix.lower() in INPUT_EXTENSIONS and allowed(Path(dirpath) / name):
                yield Path(dirpath) / name


def normalised(inputs: Iterable[str | Path]) -> list[Path]:
    """Inputs as absolute paths without `.` or `..` (`../scans/a.png` must not give a key with `..`),
    spelled as the file system stores them (`canonical_case`)."""
    listings: Listings = {}
    return [canonical_case(Path(os.path.abspath(p)), listings=listings) for p in inputs]


def _ignores_case(path: Path) -> bool:
    """Whether the file system holding `path` ignores case (Windows, macOS by default): the path with
    the case of one name swapped is the same file. False when `path` cannot be read."""
    for candidate in (path, *path.parents):
        swapped = candidate.name.swapcase()
        if swapped != candidate.name:
            try:
                return os.path.samestat(os.lstat(candidate), os.lstat(candidate.with_name(swapped)))
            except OSError:
                return False
    return False


# Folder -> its entries by `fold_case`: one listing per folder, however many inputs it holds
# (`run *.png` names thousands of files in one folder).
Listings = dict[Path, dict[str, list[str]]]


def _stored_name(folder: Path, name: str, listings: Listings) -> str:
    """The spelling of `name` in `folder`: the one entry equal to it ignoring case, else `name`."""
    if folder not in listings:
        entries: dict[str, list[str]] = {}
        try:
            with os.scandir(folder) as found:
                for entry in found:
                    entries.setdefault(fold_case(entry.name), []).append(entry.name)
        except OSError:
            pass
        listings[folder] = entries
    matches = listings[folder].get(fold_case(name), [])
    return name if name in matches or len(matches) != 1 else matches[0]


def canonical_case(path: Path, ignore_case: bool | None = None, listings: Listings | None = None) -> Path:
    """The absolute `path` with each name as the file system stores it, where names ignore case
    (`ignore_case`; None: probe). Keys are relative paths: without this, a run over `C:\\scans\\sub`
    after one over `C:\\scans\\Sub` would name every page anew, and a resume would redo them all.
    `listings`: folders listed so far, shared by the inputs of one run."""
    if not (_ignores_case(path) if ignore_case is None else ignore_case):
        return path
    listings = {} if listings is None else listings
    drive, root = path.drive, path.anchor
    if len(drive) == 2 and drive[1] == ":":
        root = drive.upper() + root[2:]  # "c:\\" -> "C:\\", as Windows shows it
    out = type(path)(root)
    for name in path.parts[1:]:
        out = out / _stored_name(out, name, listings)
    return out


def key_base(roots: Sequence[Path], paths: ModuleType = os.path) -> Path:
    """The folder record keys are relative to: the input folder, or the common parent of several.
    ConfigError (exit 2) for inputs with no common folder: on two drives or shares (`paths`: the
    OS's path module; tests pass `ntpath`)."""
    if len(roots) == 1:
        return roots[0] if _is_dir(roots[0]) else roots[0].parent
    try:
        return type(roots[0])(paths.commonpath([str(r.parent) for r in roots]))
    except ValueError:  # "Paths don't have the same drive"
        def drive(root: Path) -> str:
            return paths.normcase(paths.splitdrive(str(root))[0])
        other = next((r for r in roots if drive(r) != drive(roots[0])), roots[1])
        raise ConfigError(f"inputs {roots[0]} and {other} are on different drives, so their pages have no common "
                          f"folder to be named from; run each drive into its own output") from None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # ENAMETOOLONG and friends: not a folder we can walk
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return False


def page_count(path: Path, max_pages: int = DEFAULT_MAX_PAGES, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> int:
    """Pages to make tasks for; 1 for a file that cannot be counted (its worker's read reports why,
    as an error record: an unreadable PDF or TIFF, one with more than `max_pages`, a PDF over `max_bytes`)."""
    try:
        if is_pdf(path.name):
            check_file_size(path, max_bytes)
            return count_pdf_pages(path, max_pages)
        return count_pages(path, max_pages) if is_multi_page(path.name) else 1
    except ImageReadError:
        return 1


def discover(inputs: Iterable[str | Path], *, base: Path | None = None, follow_symlinks: bool = False,
             max_pages: int = DEFAULT_MAX_PAGES, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Discovery:
    """Every page of every image and PDF under `inputs`.

    Output paths are relative to `base`: by default `key_base` of the inputs (the input folder, or
    for several inputs their common parent).
    """
    found = Discovery()
    roots = normalised(inputs)
    base = key_base(roots) if base is None else base
    real_roots = [os.path.realpath(r) for r in roots]
    files: list[Path] = []
    for root in roots:
        if _is_dir(root):
            files.extend(walk(root, real_roots, follow_symlinks, found.warnings))
        elif _exists(root):
            files.append(root)  # named explicitly: OCR it whatever its extension; errors become records
        else:
            found.warnings.append(f"input not found: {root}")
    seen: set[str] = set()
    for path in files:
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        pages = page_count(path, max_pages, max_bytes)
        rel = _relative(path, base)
        for page in range(pages):
            found.images.append(ImageRef(len(found.images), str(path), rel, page))
    return found
