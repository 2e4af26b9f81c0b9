"""Writing only where the user said: checks on the output path and a way to open files that never
follows a symlink.

* `check_output_apart`: the output must not be an input, lie inside one, or hold one (a run would
  truncate an image, or take a user's own `photo.jpg.txt` for a finished page). Per run.
* `refuse_symlink`: a results file (or `errors.tsv`) that is a symlink is refused, not written
  through. Per run.
* `open_no_follow`: opens a file with `O_NOFOLLOW` where the OS has it; elsewhere (Windows) it
  checks with `lstat` first and compares the opened file with it afterwards.
* `output_dir`: the folder of one page's `.txt` under the txt output root, made as needed; every
  existing component must be a real folder (not a symlink), so the result stays inside the root.
  Per record: a few `lstat` calls.

These checks guard against a hostile *tree*, not against someone swapping folders during a run.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path
from typing import Iterable

from pipeline.errors import ConfigError
from pipeline.inputs.links import is_link_stat

__all__ = ["UnsafePath", "check_output_apart", "open_no_follow", "output_dir", "refuse_symlink", "shown"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation at the fd level


class UnsafePath(ValueError):
    """A page's output path that would leave the output root or go through a symlink."""


def shown(text: object) -> str:
    """`text` safe to print on a terminal: control characters (and bidi overrides, which reorder
    what follows) become escapes, so a file name cannot move the cursor or recolour the screen."""
    out = []
    for char in str(text):
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\u200c\u200d":
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def check_output_apart(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """ConfigError (exit 2) naming both paths when the output is, lies inside, or holds an input."""
    out = _real(output)
    for given in inputs:
        source = _real(given)
        if out == source:
            how = "is the input"
        elif source in out.parents:
            how = "lies inside the input"
        elif out in source.parents:
            how = "holds the input"
        else:
            continue
        raise ConfigError(f"output {shown(output)} {how} {shown(given)}; a run must not write among its inputs "
                          f"(choose an output outside them)")


def refuse_symlink(path: str | Path, what: str = "output") -> None:
    """ConfigError when `path` is a symlink: results are never written through one."""
    if os.path.islink(path):
        raise ConfigError(f"{what} {shown(path)} is a symlink (to {shown(os.readlink(path))}); "
                          f"refusing to write through it: remove it or choose another output")


def open_no_follow(path: str | Path, flags: int, mode: int = 0o666) -> int:
    """`os.open(path, flags)`, but never through a symlink at `path` (OSError ELOOP-like then).

    `O_TRUNC` is applied only after the file is known not to be a symlink, so a symlink's target is
    never truncated, even where the OS has no `O_NOFOLLOW`.
    """
    flags |= _BINARY
    if _NOFOLLOW:
        try:
            return os.open(path, flags | _NOFOLLOW, mode)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
                refuse_symlink(path)
            raise
    refuse_symlink(path)
    fd = os.open(path, flags & ~os.O_TRUNC, mode)
    try:
        opened, named = os.fstat(fd), os.lstat(path)
        if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
            raise ConfigError(f"{shown(path)} changed while it was opened; refusing to write to it")
        if flags & os.O_TRUNC:
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def output_dir(root: Path, parts: list[str], create: bool = True) -> Path | None:
    """The folder `root/parts...`, made where missing (or None where missing, unless `create`);
    UnsafePath for a symlink or a file on the way, or a part that could climb out of `root`.

    Every component below `root` is checked with `lstat` to be a real folder, and none is `..`, so
    the result resolves inside `root` without a `realpath` per record.
    """
    folder = root
    for part in parts:
        if part in ("", ".", "..") or os.sep in part or (os.altsep and os.altsep in part):
            raise UnsafePath(f"{part!r} in a page's path would leave the output folder {root}")
        folder = folder / part
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            if not create:
                return None
            os.mkdir(folder)
            continue
        if is_link_stat(info):  # a junction too (Windows): not S_ISLNK, but it leads elsewhere all the same
            raise UnsafePath(f"{folder} is a symlink or junction; not writing through it")
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafePath(f"{folder} is a file, so it cannot hold this page's .txt")
    return folder
