"""Generate deterministic English document pages for `python -m pipeline bench`.

    python scripts/make_bench_pages.py                      # 16 pages of ~1240x1000, ~20 lines each
    python scripts/make_bench_pages.py --count 4 --out /tmp/pages
    python scripts/make_bench_pages.py --large --out bench_large   # one 3000x4000 page, 100+ lines
    python scripts/make_bench_pages.py --a4 --count 4 --out a4_pages  # 300-dpi A4 scans, 2480x3508, ~60 dense lines
    python scripts/make_bench_pages.py --chinese --count 6 --out zh_pages  # Chinese prose, WenQuanYi Micro Hei

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
# Debian's fonts-wqy-microhei; every character of the Chinese pages is in each model's dictionary.
CHINESE_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

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


_ZH_SUBJECTS = (
    "图书馆的工作人员", "市政府办公室", "我们的小组", "夜班的同事", "每一位审稿人", "新来的职员", "博物馆的讲解员",
    "学校的老师们", "档案室的管理员", "董事会", "技术部门", "一位细心的读者", "印刷厂的师傅", "城市规划委员会",
)
_ZH_VERBS = ("认真审阅了", "整理好了", "扫描了", "收集了", "重新核对了", "发布了", "讨论了", "修改了", "送回了", "登记了",
             "比较了", "测量了")
_ZH_OBJECTS = (
    "本季度的预算报告", "四十箱旧信件", "新的工作安排", "一张港口地图", "会议的全部记录", "三月份的所有发票",
    "全年的天气报告", "丢失书籍的清单", "大桥的施工合同", "三百张老照片", "河流水位的观测笔记", "学校的发展计划",
    "备用零件的库存表",
)
_ZH_TAILS = (
    "并在周末之前完成了归档。", "没有任何拖延。", "经过了长时间的讨论。", "非常仔细而且耐心。", "按照到达的先后顺序。",
    "为春季展览做准备。", "在大楼的二层进行。", "这是主任提出的要求。", "利用了安静的夜间时间。", "费用约为四千二百元。",
    "只用了不到两天。",
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


def render_chinese_page(spec: PageSpec, rng: random.Random) -> tuple[Image.Image, list[str]]:
    """A white page of `spec.lines` lines of running Chinese prose, 26-30 px, in WenQuanYi Micro
    Hei, each line filled to 55-100% of the text width (a sentence runs on to the next line)."""
    page = Image.new("RGB", (spec.width, spec.height), "white")
    draw = ImageDraw.Draw(page)
    usable = spec.width - 2 * spec.margin - 20
    pitch = (spec.height - 2 * spec.margin) / spec.lines
    stream = ""
    lines: list[str] = []
    for row in range(spec.lines):
        size = rng.randint(*spec.font_px)
        font = ImageFont.truetype(str(CHINESE_FONT), size)
        target = usable * rng.uniform(0.55, 1.0)
        text = ""
        while True:
            if not stream:
                stream = (f"{rng.choice(_ZH_SUBJECTS)}{rng.choice(_ZH_VERBS)}{rng.choice(_ZH_OBJECTS)}，"
                          f"{rng.choice(_ZH_TAILS)}")
            if text and draw.textlength(text + stream[0], font=font) > target:
                break
            text, stream = text + stream[0], stream[1:]
        ink = rng.randint(0, 60)
        y = spec.margin + row * pitch + (pitch - size) / 2
        draw.text((spec.margin + rng.randint(0, 20), y), text, fill=(ink, ink, ink), font=font)
        lines.append(text)
    return page, lines


def _scan_look(page: Image.Image, rng: random.Random) -> Image.Image:
    import numpy as np
    from PIL import ImageFilter

    noisy = np.asarray(page.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.int16) - 14
    noisy += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, noisy.shape[:2]).astype(np.int16)[..., None]
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def make_pages(out: Path, count: int, seed: int, large: bool, a4: bool = False, chinese: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    render = render_page
    if chinese:
        if not CHINESE_FONT.is_file():
            raise SystemExit(f"--chinese needs {CHINESE_FONT} (Debian: apt-get install fonts-wqy-microhei)")
        render = render_chinese_page
        specs = [(f"zh_page_{i:02d}.png", PageSpec(1240, 1000, lines=20)) for i in range(count)]
    elif large:
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
        page, lines = render(spec, rng)
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
    parser.add_argument("--chinese", action="store_true", help="20-line pages of Chinese prose (fonts-wqy-microhei)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    paths = make_pages(Path(args.out), args.count, args.seed, args.large, args.a4, args.chinese)
    print(f"wrote {len(paths)} page(s) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
