"""The layout test set's generator (`scripts/make_layout_pages.py`), imported for the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "scripts" / "make_layout_pages.py"
_spec = importlib.util.spec_from_file_location("make_layout_pages", _PATH)
assert _spec is not None and _spec.loader is not None
generator = importlib.util.module_from_spec(_spec)
sys.modules["make_layout_pages"] = generator  # dataclasses look their module up by name
_spec.loader.exec_module(generator)
