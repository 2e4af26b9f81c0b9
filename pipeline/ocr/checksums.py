"""SHA-256 manifests for prepared model folders: a cache folder is trusted only while its files match
the digests recorded when it was prepared (a truncated copy, a disk error or a swapped weight file is
noticed, and the folder prepared again).

Example::

    write_manifest(folder, ["inference.pdmodel", "inference.pdiparams", "inference.yml"])
    problem = verify_manifest(folder)  # None when every file matches
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

__all__ = ["MANIFEST", "file_digest", "verify_manifest", "write_manifest"]

MANIFEST = "sha256.json"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path, names: Iterable[str]) -> None:
    """Record the SHA-256 of `names` (files in `folder`) in `folder/sha256.json`."""
    digests = {name: file_digest(folder / name) for name in names}
    temp = folder / (MANIFEST + ".tmp")
    temp.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, folder / MANIFEST)


def verify_manifest(folder: Path) -> str | None:
    """None when every file in `folder`'s manifest has its recorded digest; else what is wrong."""
    try:
        digests = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {MANIFEST} (not prepared by this version, or preparation was cut short)"
    except (OSError, ValueError) as exc:
        return f"unreadable {MANIFEST}: {exc}"
    if not isinstance(digests, dict) or not digests:
        return f"{MANIFEST} lists no files"
    for name, expected in sorted(digests.items()):
        try:
            actual = file_digest(Path(folder) / name)
        except OSError as exc:
            return f"{name}: {exc.strerror or exc}"
        if actual != expected:
            return f"{name} does not match its recorded SHA-256"
    return None
