"""Upside-down text lines: PaddleOCR's line angle classifier (0 vs 180 degrees), checked by the recognizer.

The model is `ch_ppocr_mobile_v2.0_cls` as ONNX, shipped inside the rapidocr-onnxruntime wheel
(offline, 0.6 MB), run with onnxruntime. PaddleOCR squeezes a whole line into its 192x48 input;
measured on upright lines (16 generated pages, ocr-real-v1) that calls 6-12% of them upside
down, 4-8% with a score above PaddleOCR's 0.9 threshold. So the model sees an unsqueezed 192 px
window from the middle of the line (0 of 80 generated lines wrong), and is only a cheap filter: a
line it calls upside down is recognized both ways, and the reading with the higher recognition
score wins. Upright pages pay about 4 ms a line, plus a second recognition of the rare lines the
filter lets through.
"""

from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

from pipeline.core.timing import timed
from pipeline.core.types import Recognized
from pipeline.ocr.onnx import LazySession
from pipeline.ocr.wheels import bundled_model

__all__ = ["LineAngleClassifier"]

_HEIGHT, _WIDTH = 48, 192
_BATCH = 6  # PaddleOCR's cls_batch_num


def _normalise(crop: np.ndarray) -> np.ndarray:
    """The crop at the model's height, its middle 192 px (zero-padded when narrower), in [-1, 1]."""
    height, width = crop.shape[:2]
    resized_width = max(1, math.ceil(_HEIGHT * width / max(1, height)))
    resized = cv2.resize(crop, (resized_width, _HEIGHT))
    left = max(0, (resized_width - _WIDTH) // 2)
    window = resized[:, left : left + _WIDTH].astype(np.float32)
    out = np.zeros((3, _HEIGHT, _WIDTH), dtype=np.float32)
    out[:, :, : window.shape[1]] = window.transpose(2, 0, 1) / 127.5 - 1.0
    return out


class LineAngleClassifier:
    """Finds upside-down line crops. Not thread-safe: one per worker."""

    def __init__(self, threads: int = 1) -> None:
        model = bundled_model("rapidocr_onnxruntime", "models", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
        self._session = LazySession(model, threads)
        # The answers of the last `flipped` call by crop (the crop kept, so its id is not reused):
        # the page orientation pass asks about a page's longest lines, and recognition asks about
        # the same crop objects right after.
        self._known: dict[int, tuple[np.ndarray, bool]] = {}

    @timed("line angle")
    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """For each crop: does the model think it is upside down (180 more likely than 0)?"""
        known, self._known = self._known, {}
        asked = [crop for crop in crops if known.get(id(crop), (None,))[0] is not crop]
        answers = dict(zip(map(id, asked), self._classify(asked)))
        return [answers[id(crop)] if id(crop) in answers else known[id(crop)][1] for crop in crops]

    def flipped(self, crops: list[np.ndarray]) -> list[bool]:
        """`upside_down` without its stage timer, for a caller that times itself (page orientation);
        the answers are kept for the next `upside_down` call."""
        flags = self._classify(crops)
        self._known = {id(crop): (crop, flag) for crop, flag in zip(crops, flags)}
        return flags

    def _classify(self, crops: list[np.ndarray]) -> list[bool]:
        flags: list[bool] = []
        for start in range(0, len(crops), _BATCH):
            batch = np.stack([_normalise(crop) for crop in crops[start : start + _BATCH]])
            probs = self._session.run(batch)
            flags += [bool(p[1] > p[0]) for p in probs]
        return flags

    def recognize(self, crops: list[np.ndarray],
                  recognize: Callable[[list[np.ndarray]], list[Recognized]]) -> list[Recognized]:
        """`recognize(crops)`, except that a line the model calls upside down is recognized turned
        too, and the reading with the higher score is kept."""
        lines = recognize(crops)
        suspects = [i for i, flip in enumerate(self.upside_down(crops)) if flip]
        if suspects:
            turned = recognize([cv2.rotate(crops[i], cv2.ROTATE_180) for i in suspects])
            for i, other in zip(suspects, turned):
                if other.score > lines[i].score:
                    lines[i] = other
        return lines
