"""A fake OCR engine behind the same interface as `pipeline.ocr.engine.OcrEngine` (the
`pipeline.ocr.registry.Engine` protocol), so the scheduler, the pools and the writer can be tested in
seconds. Select it with the `fake_engine` fixture (it registers this class as the default engine in
`pipeline.ocr.registry`; workers import this module by name, as the test's sys.path goes to them),
or from another process with the config key `engine.kind: fake_engine:FakeEngine`.

It reads a page the simplest way that still depends on the pixels: every horizontal band of dark
rows is a line, boxed around its dark pixels, and "recognized" as its size, `WxH`. `draw_page`
makes pages whose lines it reads back exactly.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.types import Box, Recognized
from pipeline.ocr.models import ResolvedModels
from pipeline.ocr.registry import EngineSettings

ENGINE = f"{__name__}:FakeEngine"
_DARK = 128


class FakeEngine:
    def __init__(self, settings: EngineSettings, models: ResolvedModels) -> None:
        self.settings = settings

    def warm_up(self) -> None:
        pass

    def detect(self, image: np.ndarray, wide: bool = False) -> list[tuple[Box, np.ndarray]]:
        dark = image.min(axis=2) < _DARK
        rows = np.flatnonzero(dark.any(axis=1))
        regions: list[tuple[Box, np.ndarray]] = []
        if rows.size == 0:
            return regions
        bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
        for band in bands:
            top, bottom = int(band[0]), int(band[-1])
            cols = np.flatnonzero(dark[top : bottom + 1].any(axis=0))
            left, right = int(cols[0]), int(cols[-1])
            box = [[left, top], [right, top], [right, bottom], [left, bottom]]
            regions.append((box, np.ascontiguousarray(image[top : bottom + 1, left : right + 1])))
        return regions

    def recognize(self, crops: list[np.ndarray]) -> list[Recognized]:
        return [Recognized(f"{crop.shape[1]}x{crop.shape[0]}", 0.9) for crop in crops]


def draw_page(widths: list[int], height: int = 8, page_width: int = 400) -> np.ndarray:
    """A white BGR page with one black bar per width, top to bottom: the fake reads it as lines
    `"{width}x{height}"`, in that order."""
    page = np.full((20 + len(widths) * (height + 6), page_width, 3), 255, dtype=np.uint8)
    for i, width in enumerate(widths):
        top = 10 + i * (height + 6)
        page[top : top + height, 10 : 10 + width] = 0
    return page
