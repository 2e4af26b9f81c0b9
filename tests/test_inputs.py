"""Discovery: recursive, stable order, every TIFF page, odd names, and symlink loops reported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.inputs.discover import discover


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), 255, np.uint8)).save(path, format="PNG")


def test_folders_are_searched_recursively_in_a_stable_order(tmp_path: Path) -> None:
    for name in ["b.png", "a.JPG", "sub/c.png", "sub/deeper/d.webp", "notes.txt", "sub/e.tif"]:
        _png(tmp_path / name)
    pages = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (0, 128, 255)]
    pages[0].save(tmp_path / "sub" / "e.tif", save_all=True, append_images=pages[1:])
    found = discover([tmp_path])
    assert [(i.rel, i.page) for i in found.images] == [
        ("a.JPG", 0), ("b.png", 0), ("sub/c.png", 0), ("sub/e.tif", 0), ("sub/e.tif", 1), ("sub/e.tif", 2),
        ("sub/deeper/d.webp", 0),
    ]
    assert [i.index for i in found.images] == list(range(7))
    assert found.warnings == []


def test_names_with_spaces_quotes_and_non_ascii(tmp_path: Path) -> None:
    names = ["with space.png", "通知 图片.png", "it's.png"] + ([] if sys.platform == "win32" else ['say "hi".png'])
    for name in names:
        _png(tmp_path / "in" / name)
    found = discover([tmp_path / "in"])
    assert sorted(i.rel for i in found.images) == sorted(names)
    assert all(Path(i.path).is_file() for i in found.images)


def test_several_inputs_are_relative_to_their_common_parent(tmp_path: Path) -> None:
    _png(tmp_path / "a" / "x.png")
    _png(tmp_path / "b" / "y.png")
    _png(tmp_path / "c.png")
    found = discover([tmp_path / "a", tmp_path / "b", tmp_path / "c.png", tmp_path / "a"])
    assert [i.rel for i in found.images] == ["a/x.png", "b/y.png", "c.png"]  # the repeated input once


def test_missing_input_is_a_warning_not_a_silent_drop(tmp_path: Path) -> None:
    found = discover([tmp_path / "nope"])
    assert found.images == [] and "input not found" in found.warnings[0]


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs POSIX symlinks")
def test_symlink_loops_are_reported_and_do_not_hang(tmp_path: Path) -> None:
    _png(tmp_path / "in" / "sub" / "a.png")
    os.symlink(tmp_path / "in", tmp_path / "in" / "sub" / "loop")
    found = discover([tmp_path / "in"])
    assert [i.rel for i in found.images] == ["sub/a.png"]
    assert any("symlink loop" in w for w in found.warnings)
