"""Generate a small, deterministic set of synthetic test images that contain text.

The images imitate what the OCR pipeline sees in practice -- a scanned letter, a
receipt photo, a Chinese notice (with a non-ASCII file name), a street sign mixing
Chinese and English, a UI screenshot and a two-page TIFF scan -- while staying
small, so that OCR tests remain fast (about 34 text lines in total).

Usage::

    python scripts/make_sample_images.py            # writes <repo>/sample_images/
    python scripts/make_sample_images.py --out DIR  # writes DIR/

Besides the images the script writes ``README.md`` and ``expected.json`` (the
exact lines drawn into each image, keyed by relative path; the TIFF pages use
the keys ``scans/multipage.tif#0`` and ``scans/multipage.tif#1``).

Every random choice comes from a fixed seed, and text is laid out with Pillow's
BASIC layout engine (independent of whether libraqm is installed), so reruns
with the same fonts and libraries produce byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "sample_images"

# Base seed; each image derives its own generator from it (see `_rng`), so that
# changing one image never shifts the random numbers used by another.
SEED = 20240601

JPEG_QUALITY = 85

# Type aliases for readability.
RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont


# --------------------------------------------------------------------------- fonts


@dataclass(frozen=True)
class FontSpec:
    """A font file to look for, where it usually lives, and which Debian package ships it."""

    name: str
    candidates: tuple[str, ...]
    debian_package: str


_DEJAVU_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian / Ubuntu
    "/usr/share/fonts/dejavu",  # Fedora
    "/usr/share/fonts/TTF",  # Arch
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora (split packages)
    "/usr/share/fonts/dejavu-serif-fonts",
    "/usr/share/fonts/dejavu-sans-mono-fonts",
)


def _dejavu(file_name: str) -> FontSpec:
    return FontSpec(
        name=file_name,
        candidates=tuple(f"{d}/{file_name}" for d in _DEJAVU_DIRS),
        debian_package="fonts-dejavu-core",
    )


FONT_SPECS: dict[str, FontSpec] = {
    "sans": _dejavu("DejaVuSans.ttf"),
    "sans_bold": _dejavu("DejaVuSans-Bold.ttf"),
    "serif": _dejavu("DejaVuSerif.ttf"),
    "mono": _dejavu("DejaVuSansMono.ttf"),
    # WenQuanYi Micro Hei also covers Latin, so it draws the mixed Chinese/English sign too.
    "cjk": FontSpec(
        name="wqy-microhei.ttc",
        candidates=(
            "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian / Ubuntu
            "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",  # Fedora
            "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",  # Arch
        ),
        debian_package="fonts-wqy-microhei",
    ),
}


def find_fonts() -> dict[str, Path]:
    """Resolve every font in FONT_SPECS to a file, or exit naming the packages to install."""
    found: dict[str, Path] = {}
    missing: list[FontSpec] = []
    for key, spec in FONT_SPECS.items():
        path = next((Path(c) for c in spec.candidates if Path(c).is_file()), None)
        if path is None:
            missing.append(spec)
        else:
            found[key] = path
    if missing:
        packages = sorted({spec.debian_package for spec in missing})
        names = ", ".join(spec.name for spec in missing)
        sys.exit(
            f"error: font(s) not found: {names}\n"
            f"Install them with: sudo apt-get install {' '.join(packages)}"
        )
    return found


class Fonts:
    """Loads fonts at a given pixel size (cached), always with the BASIC layout engine."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self._paths = paths
        self._cache: dict[tuple[str, int], Font] = {}

    def get(self, key: str, size: int) -> Font:
        if (key, size) not in self._cache:
            self._cache[key, size] = ImageFont.truetype(
                str(self._paths[key]), size, layout_engine=ImageFont.Layout.BASIC
            )
        return self._cache[key, size]


# ------------------------------------------------------------------ drawing helpers


def draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: Sequence[str],
    font: Font,
    *,
    x: int,
    first_baseline: int,
    line_height: int,
    fill: int | RGB,
    max_width: int,
) -> None:
    """Draw left-aligned lines on successive baselines; fail loudly if one would not fit."""
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        if x + width > max_width:
            raise ValueError(f"line too wide ({x + width:.0f} > {max_width} px): {line!r}")
        draw.text((x, first_baseline + i * line_height), line, font=font, fill=fill, anchor="ls")


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre by a small angle, replicating the border (paper stays paper)."""
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(
        img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Slight Gaussian blur, as from a scanner or a camera lens slightly out of focus."""
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma)


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add light Gaussian sensor noise (same noise on all channels, i.e. luminance noise)."""
    noise = rng.normal(0.0, sigma, img.shape[:2]).astype(np.float32)
    if img.ndim == 3:
        noise = noise[:, :, None]
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def uneven_light(img: np.ndarray, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply by a smooth linear brightness ramp in a random direction (uneven lighting)."""
    h, w = img.shape[:2]
    angle = rng.uniform(0.0, 2.0 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.cos(angle) * xx / w + np.sin(angle) * yy / h
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    gain = low + (high - low) * ramp
    if img.ndim == 3:
        gain = gain[:, :, None]
    return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _rng(index: int) -> np.random.Generator:
    """A per-image random generator derived from the fixed base seed."""
    return np.random.default_rng([SEED, index])


# ------------------------------------------------------------------------ images
#
# Each `make_*` function returns the image(s) plus the exact lines drawn, in
# reading order, for expected.json.


LETTER_TITLE = "Notice to Harbor Residents"
LETTER_LINES = [
    "Dear neighbors, the harbor office will repaint the",
    "old lighthouse during the first two weeks of June.",
    "The walking path along the north pier will be closed",
    "while the work is in progress, so please use the park",
    "road instead. Boats may still use the east dock as",
    "usual. We thank everyone for their patience and hope",
    "to reopen the path before the summer festival begins.",
    "Kind regards, Margaret Ellis, Harbor Office",
]


def make_letter(fonts: Fonts) -> tuple[Image.Image, list[str]]:
    """A scanned English letter: off-white page, serif body text, slight tilt, blur, noise."""
    rng = _rng(1)
    width, height = 1000, 700
    page = Image.new("L", (width, height), 246)  # scanner "white" is rarely pure 255
    draw = ImageDraw.Draw(page)
    margin = 70
    draw.text(
        (margin, 100), LETTER_TITLE, font=fonts.get("sans_bold", 32), fill=20, anchor="ls"
    )
    body_size = 27
    draw_lines(
        draw,
        LETTER_LINES,
        fonts.get("serif", body_size),
        x=margin,
        first_baseline=175,
        line_height=int(body_size * 1.65),
        fill=25,
        max_width=width - margin + 20,
    )
    arr = np.asarray(page)
    arr = rotate(arr, rng.uniform(0.4, 0.8) * rng.choice([-1, 1]))
    arr = add_noise(arr, 2.0, rng)  # paper grain / sensor noise, softened by the blur below
    arr = blur(arr, 0.6)
    return Image.fromarray(arr), [LETTER_TITLE, *LETTER_LINES]


RECEIPT_LINES = [
    "CORNER CAFE",
    "Coffee 3.50",
    "Bagel 2.25",
    "Orange juice 4.50",
    "Muffin 2.50",
    "TOTAL 12.75",
    "Thank you!",
]


def make_receipt(fonts: Fonts) -> tuple[Image.Image, list[str]]:
    """A receipt photo: narrow greyish paper, monospaced text, uneven light, JPEG."""
    rng = _rng(2)
    width, height = 500, 700
    paper: RGB = (236, 234, 226)
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    size = 28
    font = fonts.get("mono", size)
    line_height = int(size * 2.0)
    top = 110
    for i, line in enumerate(RECEIPT_LINES):
        baseline = top + i * line_height
        if i == 0:  # shop name, centred like on a real receipt
            x = int((width - draw.textlength(line, font=font)) / 2)
        elif line == "Thank you!":
            x = int((width - draw.textlength(line, font=font)) / 2)
            baseline += line_height // 2
        else:
            x = 60
        if line.startswith("TOTAL"):
            # A dashed rule above the total, drawn as a line (not text) so OCR ignores it.
            rule_y = baseline - size - 12
            for dash_x in range(60, width - 60, 16):
                draw.line([(dash_x, rule_y), (dash_x + 8, rule_y)], fill=(90, 90, 90), width=2)
        draw.text((x, baseline), line, font=font, fill=(35, 35, 40), anchor="ls")
    arr = np.asarray(img)
    arr = rotate(arr, rng.uniform(-0.9, 0.9))
    arr = uneven_light(arr, 0.88, 1.03, rng)
    arr = blur(arr, 0.7)  # lens slightly out of focus ...
    arr = add_noise(arr, 3.0, rng)  # ... then camera sensor noise
    return Image.fromarray(arr), list(RECEIPT_LINES)


NOTICE_ZH_LINES = [
    "会议通知",
    "今天天气很好",
    "会议在下午三点开始",
    "请大家准时参加",
]


def make_notice_zh(fonts: Fonts) -> tuple[Image.Image, list[str]]:
    """A scanned Chinese notice: centred title, three short sentences, 32 px CJK font."""
    rng = _rng(3)
    width, height = 900, 500
    page = Image.new("L", (width, height), 247)
    draw = ImageDraw.Draw(page)
    title, *body = NOTICE_ZH_LINES
    title_font = fonts.get("cjk", 40)
    draw.text(
        (int((width - draw.textlength(title, font=title_font)) / 2), 110),
        title,
        font=title_font,
        fill=15,
        anchor="ls",
    )
    size = 32
    draw_lines(
        draw,
        body,
        fonts.get("cjk", size),
        x=120,
        first_baseline=210,
        line_height=int(size * 2.0),
        fill=20,
        max_width=width - 80,
    )
    arr = np.asarray(page)
    arr = rotate(arr, rng.uniform(0.3, 0.7) * rng.choice([-1, 1]))
    arr = add_noise(arr, 2.0, rng)  # paper grain / sensor noise, softened by the blur below
    arr = blur(arr, 0.5)
    return Image.fromarray(arr), list(NOTICE_ZH_LINES)


SIGN_LINES = [
    "出口 EXIT",
    "北京路 Beijing Rd.",
    "地铁站 Metro",
]


def make_sign(fonts: Fonts) -> tuple[Image.Image, list[str]]:
    """A photo of a blue street sign: white frame, big light text, uneven light, JPEG."""
    rng = _rng(4)
    width, height = 800, 450
    blue: RGB = (22, 58, 128)
    img = Image.new("RGB", (width, height), blue)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle(
        [18, 18, width - 19, height - 19], radius=22, outline=(235, 238, 242), width=6
    )
    size = 60
    font = fonts.get("cjk", size)
    for i, line in enumerate(SIGN_LINES):
        x = int((width - draw.textlength(line, font=font)) / 2)
        draw.text((x, 135 + i * 115), line, font=font, fill=(245, 247, 250), anchor="ls")
    arr = np.asarray(img)
    arr = rotate(arr, rng.uniform(-1.0, 1.0))
    arr = uneven_light(arr, 0.8, 1.05, rng)
    arr = blur(arr, 0.8)  # lens slightly out of focus ...
    arr = add_noise(arr, 3.0, rng)  # ... then camera sensor noise
    return Image.fromarray(arr), list(SIGN_LINES)


SCREENSHOT_TITLE = "Settings"
SCREENSHOT_BODY = ["File saved successfully", "Auto-save every 5 minutes"]
SCREENSHOT_BUTTONS = ["Cancel", "OK"]


def make_screenshot(fonts: Fonts) -> tuple[Image.Image, list[str]]:
    """A clean UI screenshot: grey title bar, two messages, two buttons. No degradation."""
    width, height = 800, 400
    img = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    font = fonts.get("sans", 24)

    # Title bar with window "traffic lights" and the window title.
    draw.rectangle([0, 0, width, 52], fill=(214, 216, 220))
    draw.line([(0, 52), (width, 52)], fill=(170, 172, 176), width=1)
    for i, color in enumerate([(236, 95, 90), (245, 190, 80), (98, 196, 85)]):
        cx = 28 + i * 26
        draw.ellipse([cx - 8, 18, cx + 8, 34], fill=color)
    title_x = int((width - draw.textlength(SCREENSHOT_TITLE, font=font)) / 2)
    draw.text((title_x, 35), SCREENSHOT_TITLE, font=font, fill=(30, 30, 30), anchor="ls")

    # Body: a status message with a green check box, then a plain setting line.
    draw.rectangle([60, 110, 84, 134], fill=(52, 168, 83))
    draw.line([(65, 122), (71, 129), (80, 115)], fill=(255, 255, 255), width=3)
    draw.text((100, 131), SCREENSHOT_BODY[0], font=font, fill=(25, 25, 25), anchor="ls")
    draw.text((100, 196), SCREENSHOT_BODY[1], font=font, fill=(60, 60, 60), anchor="ls")

    # Buttons, bottom right: "Cancel" (outlined) and "OK" (filled blue).
    buttons = [
        (SCREENSHOT_BUTTONS[0], (470, 310, 610, 360), (255, 255, 255), (30, 30, 30)),
        (SCREENSHOT_BUTTONS[1], (630, 310, 750, 360), (38, 110, 220), (255, 255, 255)),
    ]
    for label, box, bg, fg in buttons:
        draw.rounded_rectangle(box, radius=8, fill=bg, outline=(150, 150, 155), width=1)
        cx = (box[0] + box[2]) / 2
        cy = (box[1] + box[3]) / 2
        draw.text((cx, cy), label, font=font, fill=fg, anchor="mm")
    return img, [SCREENSHOT_TITLE, *SCREENSHOT_BODY, *SCREENSHOT_BUTTONS]


TIFF_PAGES = [
    [
        "Page 1 of 2",
        "Invoice number 2024-0117",
        "Please pay within thirty days.",
    ],
    [
        "Page 2 of 2",
        "Thank you for your business.",
        "Questions? Call 555-0199.",
    ],
]


def make_tiff_pages(fonts: Fonts) -> list[tuple[Image.Image, list[str]]]:
    """Two grayscale scanned pages for a multi-page TIFF."""
    pages: list[tuple[Image.Image, list[str]]] = []
    for index, lines in enumerate(TIFF_PAGES):
        rng = _rng(10 + index)
        width, height = 800, 500
        page = Image.new("L", (width, height), 244)
        draw = ImageDraw.Draw(page)
        size = 30
        draw_lines(
            draw,
            lines,
            fonts.get("serif", size),
            x=80,
            first_baseline=150,
            line_height=int(size * 2.2),
            fill=25,
            max_width=width - 60,
        )
        arr = np.asarray(page)
        arr = rotate(arr, rng.uniform(0.3, 0.8) * rng.choice([-1, 1]))
        arr = add_noise(arr, 2.0, rng)
        arr = blur(arr, 0.6)
        pages.append((Image.fromarray(arr), list(lines)))
    return pages


# ------------------------------------------------------------------------ output

README_TEXT = """\
# Sample images

Small **synthetic** test images with known text, for the OCR pipeline's tests
and demos. They are generated (deterministically, fixed random seed) by

    python scripts/make_sample_images.py [--out DIR]

Do not edit them by hand; change the script and rerun it instead.

| File | Size (px) | Lines | What it imitates |
|------|-----------|-------|------------------|
| `letter_en.png` | 1000x700 | 9 | scanned English letter, serif text, slight tilt |
| `receipt_en.jpg` | 500x700 | 7 | receipt photo, monospaced text, JPEG q85 |
| `通知_zh.png` | 900x500 | 4 | Chinese notice (non-ASCII file name on purpose) |
| `sign_mixed.jpg` | 800x450 | 3 | blue street sign, Chinese + English, JPEG q85 |
| `screenshot_ui.png` | 800x400 | 5 | UI screenshot: title bar, messages, buttons |
| `scans/multipage.tif` | 2 x 800x500 | 3 + 3 | two-page grayscale TIFF scan (deflate) |

`expected.json` maps each image's relative path to the exact lines drawn, in
reading order; the TIFF pages use the keys `scans/multipage.tif#0` and
`scans/multipage.tif#1`. OCR output should match it closely but not
necessarily exactly, so compare loosely.

## Fonts and licenses

The images contain text rendered with these fonts:

- **DejaVu Sans / Sans Mono / Serif** (Debian package `fonts-dejavu-core`):
  DejaVu fonts license (Bitstream Vera license plus public-domain changes by
  the DejaVu authors), a permissive free license.
- **WenQuanYi Micro Hei** (Debian package `fonts-wqy-microhei`):
  dual-licensed Apache-2.0 / GPLv3 (with font embedding exception).

The images themselves are synthetic and contain no third-party content.
"""


def save_outputs(out_dir: Path, fonts: Fonts) -> dict[str, list[str]]:
    """Render every image into out_dir; return the expected-text mapping."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected: dict[str, list[str]] = {}

    png_images = [
        ("letter_en.png", make_letter),
        ("通知_zh.png", make_notice_zh),
        ("screenshot_ui.png", make_screenshot),
    ]
    for name, maker in png_images:
        img, lines = maker(fonts)
        img.save(out_dir / name, optimize=True)
        expected[name] = lines

    jpeg_images = [
        ("receipt_en.jpg", make_receipt),
        ("sign_mixed.jpg", make_sign),
    ]
    for name, maker in jpeg_images:
        img, lines = maker(fonts)
        img.save(out_dir / name, quality=JPEG_QUALITY, optimize=True)
        expected[name] = lines

    tiff_rel = "scans/multipage.tif"
    (out_dir / "scans").mkdir(exist_ok=True)
    pages = make_tiff_pages(fonts)
    first, *rest = (page for page, _ in pages)
    first.save(
        out_dir / tiff_rel,
        save_all=True,
        append_images=rest,
        compression="tiff_deflate",
    )
    for index, (_, lines) in enumerate(pages):
        expected[f"{tiff_rel}#{index}"] = lines

    # Key order is stable (insertion order above); keep CJK readable in the file.
    with open(out_dir / "expected.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(expected, f, ensure_ascii=False, indent=2)
        f.write("\n")
    (out_dir / "README.md").write_text(README_TEXT, encoding="utf-8", newline="\n")
    return expected


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate deterministic synthetic OCR sample images with known text."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)

    fonts = Fonts(find_fonts())
    expected = save_outputs(args.out, fonts)
    total = sum(len(lines) for lines in expected.values())
    print(f"wrote {len(expected)} images/pages with {total} text lines to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
