"""Generate deterministic English document pages for `python -m pipeline bench`.

    python scripts/make_bench_pages.py                      # 16 pages of ~1240x1000, ~20 lines each
    python scripts/make_bench_pages.py --count 4 --out /tmp/pages
    python scripts/make_bench_pages.py --large --out bench_large   # one 3000x4000 page, 100+ lines
    python scripts/make_bench_pages.py --a4 --count 4 --out a4_pages  # 300-dpi A4 scans, 2480x3508, ~60 dense lines

The pages are generated, never committed: run this script to make them again. The same seed gives
the same pixels (given the same Pillow and DejaVu fonts).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = ("DejaVuSerif.ttf", "DejaVuSans.ttf")

_SUBJECTS = (
    "The committee", "Our small team", "The night shift", "Every reviewer", "The old archive",
    "A careful reader", "The city council", "The print shop", "The new scanner", "The library staff",
    "Each department", "The field office", "The museum guide", "A junior clerk", "The board of trustees",
)
_VERBS = (
    "approved", "reviewed", "scanned", "collected", "described", "returned", "compared",
    "measured", "published", "discussed", "corrected", "delivered", "catalogued", "signed",
)
_OBJECTS = (
    "the quarterly budget", "forty boxes of letters", "the revised schedule", "a map of the harbour",
    "the minutes of the meeting", "every invoice from March", "the annual weather report",
    "a list of missing volumes", "the contract for the bridge", "three hundred photographs",
    "the notes on river levels", "a draft of the school plan", "the inventory of spare parts",
)
_TAILS = (
    "before the end of the week.", "without any further delay.", "after a long discussion.",
    "with great care and patience.", "in the order they arrived.", "for the spring exhibition.",
    "on the second floor of the building.", "as requested by the director.", "during the quiet hours.",
    "and filed them under section 12.", "at a cost of 4,250 dollars.", "in less than two days.",
)


@dataclass(frozen=True)
class PageSpec:
    width: int
    height: int
    lines: int
    margin: int = 60
    font_px: tuple[int, int] = (26, 30)
    scanned: bool = False  # grey paper, sensor noise and a slight blur, as from a flatbed scanner


def sentence(rng: random.Random, max_chars: int) -> str:
    """One varied English sentence, shortened to at most `max_chars` characters at a word break."""
    text = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
    if rng.random() < 0.3:
        text = f"{rng.randint(1, 99)}. {text}"
    while len(text) > max_chars and " " in text:
        text = text.rsplit(" ", 1)[0]
    return text


def _font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / rng.choice(FONT_FILES)), size)


class _WordStream:
    """Words of an endless run of varied sentences."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._words: list[str] = []

    def next(self) -> str:
        if not self._words:
            self._words = sentence(self._rng, 200).split()
        return self._words.pop(0)

    def push_back(self, word: str) -> None:
        self._words.insert(0, word)


def render_page(spec: PageSpec, rng: random.Random) -> tuple[Image.Image, list[str]]:
    """A white page with `spec.lines` lines of dark text, 26-30 px, in DejaVu Serif or Sans,
    each line filled with running sentences to 55-100% of the text width. Returns the page and its lines."""
    page = Image.new("RGB", (spec.width, spec.height), "white")
    draw = ImageDraw.Draw(page)
    words = _WordStream(rng)
    usable = spec.width - 2 * spec.margin - 20
    pitch = (spec.height - 2 * spec.margin) / spec.lines
    lines: list[str] = []
    for row in range(spec.lines):
        size = rng.randint(*spec.font_px)
        font = _font(rng, size)
        target = usable * rng.uniform(0.55, 1.0)
        text = words.next()
        while True:
            word = words.next()
            if draw.textlength(f"{text} {word}", font=font) > target:
                words.push_back(word)
                break
            text = f"{text} {word}"
        ink = rng.randint(0, 60)
        y = spec.margin + row * pitch + (pitch - size) / 2
        draw.text((spec.margin + rng.randint(0, 20), y), text, fill=(ink, ink, ink), font=font)
        lines.append(text)
    return (_scan_look(page, rng) if spec.scanned else page), lines


def _scan_look(page: Image.Image, rng: random.Random) -> Image.Image:
    import numpy as np
    from PIL import ImageFilter

    noisy = np.asarray(page.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.int16) - 14
    noisy += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, noisy.shape[:2]).astype(np.int16)[..., None]
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def make_pages(out: Path, count: int, seed: int, large: bool, a4: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    if large:
        specs = [("large_page_00.png", PageSpec(3000, 4000, lines=104, margin=80))]
    elif a4:  # 10-11 pt text at 300 dpi
        a4_page = PageSpec(2480, 3508, lines=60, margin=220, font_px=(40, 46), scanned=True)
        specs = [(f"a4_page_{i:02d}.png", a4_page) for i in range(count)]
    else:
        specs = [(f"page_{i:02d}.png", PageSpec(1240, 1000, lines=20)) for i in range(count)]
    paths = []
    labels = []
    for name, spec in specs:
        path = out / name
        page, lines = render_page(spec, rng)
        page.save(path)
        paths.append(path)
        labels.append(json.dumps({"image": name, "text": "\n".join(lines)}, ensure_ascii=False))
    # Ground truth beside the pages, in the format `pipeline eval` reads.
    (out / "labels.jsonl").write_text("\n".join(labels) + "\n", encoding="utf-8")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_pages", help="output folder (default: bench_pages/)")
    parser.add_argument("--count", type=int, default=16, help="number of pages (default: 16)")
    parser.add_argument("--seed", type=int, default=1234, help="random seed (default: 1234)")
    parser.add_argument("--large", action="store_true", help="one 3000x4000 page with 104 lines instead")
    parser.add_argument("--a4", action="store_true", help="300-dpi A4 pages (2480x3508) of dense text, scan-like")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    paths = make_pages(Path(args.out), args.count, args.seed, args.large, args.a4)
    print(f"wrote {len(paths)} page(s) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
