"""Links in the file system: symlinks, and on Windows junctions (reparse points), told apart cheaply."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["is_link", "is_link_stat"]

# Windows: the "name surrogate" bit of a reparse tag marks a reparse point that stands for another
# path, as a symlink does: symlinks and junctions (`mklink /J`, no admin rights needed) have it;
# OneDrive placeholders and deduplicated files (ordinary files) do not.
_NAME_SURROGATE = 0x20000000


def is_link_stat(info: os.stat_result) -> bool:
    """Whether an `lstat` result is a link: a symlink, or on Windows a junction or any other
    name-surrogate reparse point (`stat.S_ISLNK` is false for a junction)."""
    return stat.S_ISLNK(info.st_mode) or bool(getattr(info, "st_reparse_tag", 0) & _NAME_SURROGATE)


def is_link(path: str | Path) -> bool:
    """`is_link_stat` of `path`; False when it cannot be read."""
    try:
        return is_link_stat(os.lstat(path))
    except OSError:
        return False
