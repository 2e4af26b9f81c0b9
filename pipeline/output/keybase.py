"""What an output's keys are relative to, stored beside it so a resume cannot rename them.

A record's `image` is relative to a base folder (the input folder, or the common parent of several
inputs). Were the base recomputed on every run, adding an input would rename every key, and a resume
would redo every page and append duplicates. So the first run stores its base in a small JSON file
(`results.jsonl.keys.json`; for the txt format `.pipeline-keys.json` inside its folder), and a resumed
run uses that base again. An input outside it cannot get a key that fits, so that resume is refused
(exit 2), naming the input and the base.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from pipeline.errors import ResumeError
from pipeline.inputs.discover import canonical_case
from pipeline.output.formats import output_format
from pipeline.output.names import json_text
from pipeline.output.paths import open_no_follow, shown

__all__ = ["keys_path", "settle_base"]

def keys_path(output: Path, fmt: str) -> Path:
    return output_format(fmt).keys_path(output)


def _stored(path: Path) -> Path | None:
    try:
        with os.fdopen(open_no_follow(path, os.O_RDONLY), encoding="utf-8") as handle:
            base = json.load(handle).get("base")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError) as exc:
        raise ResumeError(f"{shown(path)} is damaged ({exc}); delete it, or start afresh with --overwrite") from None
    if not isinstance(base, str) or not os.path.isabs(base):
        raise ResumeError(f"{shown(path)} names no base folder; delete it, or start afresh with --overwrite")
    return canonical_case(Path(base))  # as the inputs are (`normalised`), whatever case an older run stored


def _inside(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def settle_base(output: Path, fmt: str, roots: Sequence[Path], default: Path, *, fresh: bool) -> Path:
    """The base for this run's keys: the stored one when resuming, else `default` (then stored).

    `roots` are the inputs as absolute, normalised paths. `fresh`: the output starts afresh.
    """
    path = keys_path(output, fmt)
    stored = None if fresh else _stored(path)
    if stored is not None:
        outside = [root for root in roots if not _inside(root, stored)]
        if outside:
            raise ResumeError(
                f"cannot resume {shown(output)}: its keys are relative to {shown(stored)}, and the input "
                f"{shown(outside[0])} lies outside it, so its pages would get keys that do not fit. "
                f"Use another output, or --overwrite to start afresh.")
        return stored
    fd = open_no_follow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json_text({"base": str(default)}) + "\n")  # a base that is not UTF-8: escaped
    return default
