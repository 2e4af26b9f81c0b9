"""What every sink shares: the `Sink` interface, one file per page (`PageFileSink`), the errors.tsv
of the folder formats, the names of per-page and per-file outputs, and atomic writes.

Pages' files appear atomically (a temporary name, fsync, rename), so an existing one is always
complete; names come from the records' relative paths and can never leave the output folder.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import IO, Callable, Iterable, Protocol, TypeVar

from pipeline.core.types import Record
from pipeline.errors import ImageReadError, RunFailed, one_line
from pipeline.inputs.filetypes import fold_case, is_multi_page
from pipeline.output.cells import neutralise_cell
from pipeline.output.names import escape_tsv, unescape_tsv
from pipeline.output.paths import UnsafePath, open_no_follow, output_dir

__all__ = [
    "ERRORS_TSV",
    "ERRORS_TSV_COLUMNS",
    "ErrorList",
    "PageFileSink",
    "Sink",
    "atomic_write",
    "escape_tsv",
    "file_relpath",
    "is_temp_name",
    "open_text",
    "page_relpath",
    "unescape_tsv",
]

ERRORS_TSV = "errors.tsv"


ERRORS_TSV_COLUMNS = ("image", "page", "error")


_PAGE_SUFFIX = re.compile(r"\.page[0-9]+\Z")


# Temporary files are hidden, short (a long input name must not push them over NAME_MAX) and never
# end in ".txt", so they cannot be mistaken for, or collide with, an output.
_TEMP_NAME = re.compile(r"\.pipeline-[0-9a-f]{12}\.tmp\Z")


def open_text(path: Path, append: bool, newline: str) -> IO[str]:
    """A results file opened for writing, never through a symlink (see `pipeline.output.paths`)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    try:
        fd = retry_busy(lambda: open_no_follow(path, flags), path)
    except FileBusy as exc:
        raise RunFailed(f"cannot write {path}: {exc}") from None
    return open(fd, "a" if append else "w", encoding="utf-8", newline=newline)


# Errors that one page's output name can cause, where other pages still write fine.
_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.EINVAL, errno.EILSEQ,
                errno.ELOOP}
# The same on Windows, where they come as ENOENT or EINVAL and only `winerror` tells: a path past
# MAX_PATH (260 characters) is ERROR_PATH_NOT_FOUND (3) or ERROR_FILENAME_EXCED_RANGE (206); a name
# NTFS refuses is ERROR_INVALID_NAME (123).
_NAME_WINERRORS = {3, 123, 206}
# ERROR_ACCESS_DENIED (5) and ERROR_SHARING_VIOLATION (32): another program holds the file open (a PDF
# viewer, Excel, an antivirus scan), or the file is read-only. A scan lets go within a second or so.
_BUSY_WINERRORS = {5, 32}
_BUSY_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8)
_WINDOWS = sys.platform == "win32"
T = TypeVar("T")


class FileBusy(OSError):
    """A results file that another program still holds open (or that is read-only) after retries."""


def is_name_error(exc: OSError) -> bool:
    """Whether `exc` is the fault of one output file's name or of that file alone (too long, a folder
    in the way, held open elsewhere), so other pages still write fine. Reads `winerror` where Windows
    sets it: the errno alone (ENOENT, EACCES) would also be a missing or read-only output folder."""
    return (isinstance(exc, FileBusy) or exc.errno in _NAME_ERRNOS
            or getattr(exc, "winerror", None) in _NAME_WINERRORS)


def retry_busy(action: Callable[[], T], path: Path) -> T:
    """`action()`, tried again for about 1.5 s while Windows says `path` is in use (winerror 5 or
    32, which no other OS sets), then FileBusy naming the file."""
    for wait in _BUSY_WAITS:
        try:
            return action()
        except OSError as exc:
            if getattr(exc, "winerror", None) not in _BUSY_WINERRORS:
                raise
            time.sleep(wait)
    try:
        return action()
    except OSError as exc:
        code = getattr(exc, "winerror", None)
        if code not in _BUSY_WINERRORS:
            raise
        raise FileBusy(f"{path} is open in another program, or read-only (WinError {code}, still after "
                       f"{sum(_BUSY_WAITS):.1f} s); close it and run again") from None


def _replace(temp: Path, final: Path) -> None:
    try:
        os.replace(temp, final)
    except PermissionError:
        if os.path.isdir(final):  # Windows says "access denied" (WinError 5) where POSIX says EISDIR
            raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(final)) from None
        raise


class Sink(Protocol):
    def write(self, record: Record) -> None: ...

    def close(self) -> None: ...


class PageFileSink:
    """One file per page under the folder `root`, mirroring the input tree (names: `page_relpath`
    with the subclass's `suffix`; contents: its `render`).

    An ok page's file appears atomically (written under a temporary name, fsynced, then renamed),
    so an existing one is always complete. A failed page gets no file (a stale one from an earlier
    run is removed, so it cannot mask the failure) and a row in `root/errors.tsv`: image, page,
    error, tab-separated, escaped by `escape_tsv`.
    """

    suffix = ".txt"

    def __init__(self, root: Path, append: bool = False) -> None:
        if root.exists() and not root.is_dir():
            raise NotADirectoryError(f"the {self.suffix.lstrip('.')} format writes into a folder, but {root} is a file")
        root.mkdir(parents=True, exist_ok=True)
        self._root = root
        self._errors = ErrorList(root, append)
        # On a case-insensitive file system `A.png.txt` and `a.png.txt` are one file: names written
        # this run are remembered there (`fold_case`), so the second page is refused, not lost.
        self._casefolded: dict[str, str] | None = {} if _case_insensitive(root) else None
        self.failed_writes = 0  # ok pages whose file could not be written (listed in errors.tsv)

    @property
    def root(self) -> Path:
        return self._root

    def path_for(self, image: str, page: int) -> Path:
        return self._root.joinpath(*page_relpath(image, page, self.suffix).split("/"))

    def render(self, record: Record) -> bytes:
        raise NotImplementedError

    def write(self, record: Record) -> None:
        error = record["error"] or ""
        try:
            self._write_page(record)
        except (OSError, ValueError, ImageReadError) as exc:  # one bad name (too long, a folder in the way,
            # ...) or an input that cannot be read again (hocr: its page size) never ends the run
            if isinstance(exc, OSError) and not is_name_error(exc):
                raise  # a full disk or a read-only folder is no single page's fault
            if not error:
                self.failed_writes += 1
            error = f"cannot write this page's {self.suffix}: {one_line(exc)}" + (f" (and: {error})" if error else "")
        if error:
            self._errors.add(record, error)

    def _write_page(self, record: Record) -> None:
        """Write an ok page's file, or remove a failed page's stale one; never outside the root."""
        parts = page_relpath(record["image"], record["page"], self.suffix).split("/")  # ValueError if it escapes
        folder = output_dir(self._root, parts[:-1], create=record["status"] == "ok")
        if folder is None:
            return  # a failed page whose folder does not exist has no stale file either
        final = folder / parts[-1]
        if record["status"] != "ok":
            final.unlink(missing_ok=True)
            return
        if self._casefolded is not None:
            relpath, key = "/".join(parts), fold_case("/".join(parts))
            other = self._casefolded.setdefault(key, relpath)
            if other != relpath:
                raise UnsafePath(f"{relpath} and {other} differ only in case: one file on this file system")
        atomic_write(final, [self.render(record)])

    def remove_pages_from(self, image: str, first: int) -> None:
        """Remove the files of `image`'s pages `first` (>= 1) and up: watch mode rewrites a file
        replaced by one with fewer pages, whose old pages' files must not stay behind."""
        try:
            parts = page_relpath(image, first, self.suffix).split("/")
            folder = output_dir(self._root, parts[:-1], create=False)
        except (OSError, ValueError):
            return  # no page of it could have been written there
        if folder is None:
            return
        for name in os.listdir(folder):  # names are one-to-one (page_relpath): only its pages match
            number = name[: -len(self.suffix)].rpartition(".page")[2] if name.endswith(self.suffix) else ""
            if number.isascii() and number.isdigit() and int(number) >= first \
                    and page_relpath(image, int(number), self.suffix) == "/".join(parts[:-1] + [name]):
                (folder / name).unlink(missing_ok=True)

    def close(self) -> None:
        self._errors.close()


class ErrorList:
    """`errors.tsv` in a folder output: a header, then image, page, error of each failed page,
    tab-separated and escaped by `escape_tsv`; each row flushed and fsynced."""

    def __init__(self, root: Path, append: bool) -> None:
        self._file: IO[str] = open_text(root / ERRORS_TSV, append, "")
        if self._file.tell() == 0:
            self._row(ERRORS_TSV_COLUMNS)

    def add(self, record: Record, error: str | None = None) -> None:
        """A row for `record`, with `error` in place of its own when given."""
        self._row((record["image"], str(record["page"]), error if error is not None else record["error"] or ""))

    def _row(self, fields: Iterable[str]) -> None:
        # Escaped first (so tab and CR are gone), then neutralised for spreadsheets (pipeline.output.cells).
        self._file.write("\t".join(neutralise_cell(escape_tsv(f)) for f in fields) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())  # failures are rare and must not be lost

    def close(self) -> None:
        self._file.close()


def _safe_parts(image: str) -> list[str]:
    """The components of a record's relative path; ValueError if it could leave the output folder."""
    # "/" always separates (the contract's paths use it); "\\" only where the OS reads it as a
    # separator: on POSIX it is an ordinary character of a file name.
    separators = "".join(sorted({s for s in ("/", os.sep, os.altsep) if s}))
    if not isinstance(image, str) or not image or "\0" in image:
        raise ValueError(f"unusable image path for a txt output: {image!r}")
    if image[0] in separators or os.path.isabs(image) or os.path.splitdrive(image)[0]:
        raise ValueError(f"image path {image!r} is absolute; the txt output needs a path relative to the input root")
    raw = re.split(f"[{re.escape(separators)}]", image)
    if ".." in raw:
        raise ValueError(f"image path {image!r} has a '..' component and would escape the output folder")
    if raw[-1] in ("", "."):  # names a folder, not a file
        raise ValueError(f"unusable image path for a txt output: {image!r}")
    return [p for p in raw if p not in ("", ".")]


def file_relpath(image: str, suffix: str) -> str:
    """The output of a whole input file (`suffix`: ".pdf"), relative to the output folder, with
    forward slashes: `sub/a.png` -> `sub/a.png.pdf`. ValueError for a path that would escape."""
    return "/".join(_safe_parts(image)) + suffix


def page_relpath(image: str, page: int, suffix: str) -> str:
    """The file of one page (`suffix`: ".txt", ".hocr"), relative to the output folder, with forward
    slashes.

    `sub/a.png` -> `sub/a.png.txt` (the extension stays, so `a.png` and `a.jpg` don't collide).
    A `.pageNNNN` suffix (the record's 0-based page index, 4 digits or more) is added when the source
    is a multi-page format (`pipeline.inputs.filetypes`; so a one-page TIFF and a later multi-page version
    of it name their pages alike), when page > 0, or when the source name itself
    already ends in `.page<digits>`: `scan.tif` page 0 -> `scan.tif.page0000.txt`. That last rule
    makes the mapping one-to-one, so `pipeline.output.resume` can read (image, page) back from a name.
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        raise ValueError(f"page must be a non-negative integer, got {page!r}")
    parts = _safe_parts(image)
    name = parts[-1]
    if page > 0 or is_multi_page(name) or _PAGE_SUFFIX.search(name):
        name += f".page{page:04d}"
    parts[-1] = name + suffix
    return "/".join(parts)


def _case_insensitive(folder: Path) -> bool:
    """Whether names in `folder` ignore case (macOS and Windows by default): probed with a temporary file."""
    probe = folder / f".pipeline-{secrets.token_hex(6)}.tmp"
    with open(probe, "xb"):
        pass
    try:
        return os.path.lexists(folder / probe.name.upper())
    finally:
        probe.unlink()


def is_temp_name(name: str) -> bool:
    """True for the temporary file names `atomic_write` uses (left behind only by a killed run)."""
    return _TEMP_NAME.fullmatch(name) is not None


def atomic_write(final: Path, chunks: Iterable[bytes]) -> None:
    """Replace `final` with `chunks` all at once: a reader or a crash sees the old file or the new one."""
    while True:
        temp = final.parent / f".pipeline-{secrets.token_hex(6)}.tmp"
        try:
            handle = open(temp, "xb")  # exclusive: never clobber another writer's temporary file
        except FileExistsError:
            continue
        break
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        # A rewrite keeps the file's permissions. Not on Windows: there chmod sets only the read-only
        # attribute, which would make the temporary file undeletable; permissions come from the folder.
        if not _WINDOWS and final.is_file() and not final.is_symlink():
            os.chmod(temp, final.stat().st_mode & 0o7777)
        retry_busy(lambda: _replace(temp, final), final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


