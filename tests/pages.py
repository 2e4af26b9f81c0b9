"""Generated pages with known text for the accuracy tests: single column, two columns, turned."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

TITLE = "Annual report of the harbour office and of the city archive, spring"
LEFT = [
    "The committee approved the budget",
    "for the new bridge after a long",
    "discussion with the city council.",
    "Work starts in the spring.",
]
RIGHT = [
    "Forty boxes of letters were scanned",
    "by the night shift and filed under",
    "section twelve of the old archive.",
    "Nothing was lost on the way.",
]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # DejaVu (Debian fonts-dejavu-core) when present, else Pillow's own scalable font.
    return ImageFont.truetype(str(_FONT), size) if _FONT.is_file() else ImageFont.load_default(size)


def render(lines: list[tuple[int, int, str]], size: tuple[int, int], font_size: int = 24) -> np.ndarray:
    """A white BGR page of `size` (width, height) with each (x, y, text) drawn in black."""
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    font = _font(font_size)
    for x, y, text in lines:
        draw.text((x, y), text, fill="black", font=font)
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def two_columns() -> np.ndarray:
    """A title across the page over two columns whose lines sit at the same heights."""
    lines = [(40, 30, TITLE)]
    for k, (left, right) in enumerate(zip(LEFT, RIGHT)):
        y = 100 + 38 * k
        lines += [(40, y, left), (520, y, right)]
    return render(lines, (980, 300))


def one_column(texts: list[str]) -> np.ndarray:
    return render([(40, 30 + 38 * k, text) for k, text in enumerate(texts)], (760, 120 + 38 * len(texts)))


def turned(page: np.ndarray, degrees: int) -> np.ndarray:
    """The page turned clockwise by 90, 180 or 270 degrees."""
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(page, codes[degrees]) if degrees else page


def save(path: Path, page: np.ndarray) -> Path:
    cv2.imwrite(str(path), page)
    return path
