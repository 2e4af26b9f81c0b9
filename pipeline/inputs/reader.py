"""Turn an image file into pixels for OCR: a C-contiguous uint8 BGR array of shape (H, W, 3).

This is the only place that decodes input files, so every oddity of real-world scans and
photos is handled here and nowhere else:

* bytes are read with ``open()`` and decoded with ``cv2.imdecode`` (never ``cv2.imread``,
  which cannot open non-ASCII paths on Windows);
* the format is detected from the content (Pillow reads the header lazily), never from the
  extension, and the pixel count is checked against ``max_pixels`` *before* decoding;
* grayscale, palette, 1-bit, 16-bit, CMYK and alpha images all come out as 8-bit BGR, with
  transparency composited onto white (transparent text backgrounds must not turn black);
* EXIF orientation is applied the same way for every format;
* multi-page TIFFs are read one page at a time with Pillow, because OpenCV silently returns
  black pixels for a TIFF page whose compressed data is corrupt;
* Pillow/OpenCV process-wide settings this relies on (no Pillow bomb limit of its own, no
  loading of truncated images, quiet OpenCV logging) are applied only while reading and
  restored afterwards, so importing this module changes nothing;
* anything that cannot be OCR'd raises :class:`ImageReadError` with a one-line reason;
  truncated files are reported as errors rather than returned as half-gray images.

numpy and OpenCV are imported by the functions that decode: the parent only counts pages and reads
bytes, and those two imports cost it 0.1 s while its workers wait for it (`pipeline.run.tasks`).
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from PIL import Image, ImageFile
# Registered now: Image.open otherwise imports all of Pillow's 45 plugins to find TIFF and WebP,
# which preinit leaves out (36 ms, on the first TIFF a run counts and each worker reads).
from PIL import TiffImagePlugin, WebPImagePlugin  # noqa: F401

from pipeline.errors import ImageReadError, one_line
from pipeline.inputs.filetypes import IMAGE_EXTENSIONS

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "count_pages",
    "decode_image",
    "read_bytes",
    "read_image",
]

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Decompression-bomb guard: width * height above this is refused before decoding."""

DEFAULT_MAX_FILE_BYTES: int = 1 << 30
"""Files are read whole into memory: larger ones are refused before reading."""

DEFAULT_MAX_PAGES: int = 1000
"""Pages are counted, and sought, one after another: a file with more is refused."""

# Samples converted at a time from 16-bit or float pages: the wider temporaries stay this small.
_BLOCK_SAMPLES = 1 << 20

# Pillow formats we accept, whatever the file is called. Restricting Image.open to these
# also stops Pillow's loosely-detected plugins (TGA, etc.) from "recognising" random bytes.
# A JPEG with multi-picture data is reported by Pillow as "MPO".
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
)

# OpenCV refuses (with cv2.error) images above these; defaults from imgcodecs/loadsave.cpp.
_CV2_DEFAULT_MAX_PIXELS = 1 << 30
_CV2_DEFAULT_MAX_SIDE = 1 << 20

# A JPEG marker: 0xFF followed by a code that is not a stuffed zero, a restart marker
# (both may occur inside entropy-coded data) or another 0xFF (fill byte).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_EXIF_ORIENTATION = 0x0112




def count_pages(path: Path, max_pages: int = DEFAULT_MAX_PAGES) -> int:
    """Number of pages (frames) in the file: >1 only for multi-page TIFF; 1 for every other image.

    Only the header (and, for TIFF, the chain of page directories) is read; no pixels are
    decoded. Raises ImageReadError for unreadable files (missing, permission denied, zero
    bytes, not an image, more than `max_pages` pages).
    """
    with _open_file(path) as f, _library_settings():
        if os.fstat(f.fileno()).st_size == 0:
            raise ImageReadError("empty file (0 bytes)")
        with _open_header(f) as img:
            return _page_count(img, max_pages)


def read_image(path: Path, page: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS, *,
               max_bytes: int = DEFAULT_MAX_FILE_BYTES, max_pages: int = DEFAULT_MAX_PAGES) -> np.ndarray:
    """Decode one page as a C-contiguous uint8 BGR array of shape (H, W, 3). Raises ImageReadError."""
    return decode_image(read_bytes(path, max_bytes), page, max_pixels, max_pages=max_pages)


def decode_image(data: bytes, page: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS, *,
                 max_pages: int = DEFAULT_MAX_PAGES) -> np.ndarray:
    """`read_image` of a file's bytes already in memory (shipped to a worker that cannot see the file)."""
    import cv2
    import numpy as np

    if not data:
        raise ImageReadError("empty file (0 bytes)")
    with _library_settings(), _open_header(io.BytesIO(data)) as img:
        _seek_page(img, page, max_pages)
        width, height = img.size
        _check_size(width, height, max_pixels)
        try:
            if img.format == "TIFF":
                pixels = _decode_with_pillow(img, page)
            else:
                pixels = _decode_with_cv2(data, img)
            # Contiguous copy: orientation returns views, and OCR models want plain arrays.
            return np.ascontiguousarray(_apply_orientation(pixels, _orientation(img)))
        except MemoryError:
            raise ImageReadError(f"not enough memory to decode a {width}x{height} image") from None
        except cv2.error as exc:  # colour conversion on a pathological layout
            raise ImageReadError(f"cannot convert the decoded pixels: {_describe(exc)}") from None


# --------------------------------------------------------------------------- file access


def _open_file(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading, turning OS errors into one-line reasons."""
    try:
        # stat first: opening a FIFO would block, and on Windows opening a directory
        # raises PermissionError rather than IsADirectoryError.
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ImageReadError("is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise ImageReadError("not a regular file")
        return open(path, "rb")
    except FileNotFoundError:
        raise ImageReadError("file not found") from None
    except NotADirectoryError:
        raise ImageReadError("file not found (a parent path is not a directory)") from None
    except IsADirectoryError:
        raise ImageReadError("is a directory") from None
    except PermissionError:
        raise ImageReadError("permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"cannot open file: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an embedded NUL character in the path
        raise ImageReadError(f"invalid path: {exc}") from None


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """A file's bytes; OS errors and files over `max_bytes` become an ImageReadError with a one-line reason."""
    with _open_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise ImageReadError(f"file too large: {size} bytes exceeds the limit of {max_bytes} (limits.max_file_bytes)")
        try:
            data = f.read(max_bytes + 1)  # + 1: a file that grew meanwhile is still caught
        except IsADirectoryError:
            raise ImageReadError("is a directory") from None
        except PermissionError:
            raise ImageReadError("permission denied") from None
        except OSError as exc:
            raise ImageReadError(f"cannot read file: {exc.strerror or exc}") from None
        except MemoryError:
            raise ImageReadError("not enough memory to read the file") from None
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    if len(data) > max_bytes:
        raise ImageReadError(f"file too large: over {max_bytes} bytes (limits.max_file_bytes)")
    return data


# --------------------------------------------------------------------------- header


def _open_header(fp: BinaryIO) -> Image.Image:
    """Identify the format from the content and parse the header; Pillow decodes lazily."""
    try:
        return Image.open(fp, formats=_PIL_FORMATS)
    except Image.UnidentifiedImageError:
        # Pillow also says "unidentified" when a plugin fails to parse a header it recognised
        # (e.g. a TIFF cut off before its page directory); the magic bytes tell them apart.
        fmt = _sniff_format(fp)
        if fmt:
            raise ImageReadError(f"truncated or corrupt {fmt} file (cannot parse the header)") from None
        raise ImageReadError(
            "not a recognised image format (expected PNG, JPEG, BMP, TIFF or WebP)"
        ) from None
    except MemoryError:
        raise ImageReadError("corrupt image header (not enough memory to parse it)") from None
    except Exception as exc:  # Pillow raises SyntaxError, struct.error, ValueError, ...
        fmt = _sniff_format(fp) or "image"
        if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
            raise ImageReadError(f"truncated {fmt} file (the header is incomplete)") from None
        raise ImageReadError(f"corrupt {fmt} header: {_describe(exc)}") from None


def _sniff_format(fp: BinaryIO) -> str | None:
    try:
        fp.seek(0)
        head = fp.read(16)
    except Exception:
        return None
    for signature, name in _MAGIC:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _page_count(img: Image.Image, max_pages: int = DEFAULT_MAX_PAGES) -> int:
    # Animated PNG/WebP and MPO (phone JPEGs with a preview) also have several frames, but
    # only TIFF pages are separate document pages; the others are OCR'd as their first frame.
    if img.format != "TIFF":
        return 1
    try:
        # Pages are found by walking the chain of page directories: stop at the limit. (Not
        # n_frames, which walks it all, and miscounts after a seek past the end.)
        count = 1
        while count <= max_pages:
            try:
                img.seek(count)
            except EOFError:
                break
            count += 1
        img.seek(0)
        if count > max_pages:
            raise ImageReadError(f"more than {max_pages} pages (limits.max_pages)")
        return count
    except ImageReadError:
        raise
    except Exception as exc:
        raise ImageReadError(f"corrupt TIFF page directory: {_describe(exc)}") from None


def _seek_page(img: Image.Image, page: int, max_pages: int = DEFAULT_MAX_PAGES) -> None:
    count = _page_count(img, max_pages)  # also refuses a file over the page limit when page is 0
    if page == 0:
        return
    if not 0 <= page < count:
        noun = "page" if count == 1 else "pages"
        raise ImageReadError(f"page {page} out of range (file has {count} {noun})")
    try:
        img.seek(page)
    except Exception as exc:
        raise ImageReadError(f"page {page} is unreadable: {_describe(exc)}") from None


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageReadError(f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise ImageReadError(
            f"image too large: {width}x{height} pixels exceeds the limit of {max_pixels}"
            " (limits.max_image_pixels)"
        )


# --------------------------------------------------------------------------- decoding


def _decode_with_cv2(data: bytes, img: Image.Image) -> np.ndarray:
    """Decode a single-image file with OpenCV, falling back to Pillow if OpenCV gives up."""
    import cv2
    import numpy as np

    width, height = img.size
    if img.format in _JPEG_FORMATS and not _jpeg_is_complete(data):
        # libjpeg pads a truncated JPEG with gray and only warns; OpenCV returns that image.
        raise ImageReadError("truncated or corrupt image data (JPEG ends before its end marker)")
    _check_cv2_limits(width, height)

    decoded: np.ndarray | None
    try:
        # UNCHANGED keeps alpha and 16-bit depth so we can convert them properly; it also
        # skips OpenCV's EXIF rotation (applied for JPEG/PNG/TIFF but not WebP), which
        # _apply_orientation then does uniformly for every format.
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        decoded = None
    except MemoryError:
        raise ImageReadError(f"not enough memory to decode a {width}x{height} image") from None

    if decoded is None:
        # OpenCV gives no reason and is stricter than needed in places (e.g. a PNG whose
        # pixel data is complete but whose IEND chunk is cut off). Pillow is still strict
        # about missing pixel data (see _library_settings) and says what is wrong.
        return _decode_with_pillow(img, 0)

    if decoded.shape[:2] != (height, width):
        raise ImageReadError(
            "truncated or corrupt image data (decoded size"
            f" {decoded.shape[1]}x{decoded.shape[0]} differs from header size {width}x{height})"
        )
    # Pillow's mode says whether a 4th channel is real alpha; OpenCV cannot always tell.
    return _to_bgr(decoded, rgb_order=False, alpha=_has_alpha(img))


def _decode_with_pillow(img: Image.Image, page: int) -> np.ndarray:
    import numpy as np

    where = f" on page {page}" if page else ""
    try:
        img.load()
        alpha = _has_alpha(img)
        mode = img.mode
        if mode == "1":
            img = img.convert("L")
        elif mode in ("RGBa", "La", "PA") or (alpha and mode in ("P", "L", "RGB")):
            img = img.convert("RGBA")
        elif mode not in ("L", "LA", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
            img = img.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX, ...
        array = np.asarray(img)
    except MemoryError:
        raise ImageReadError(f"not enough memory to decode page {page}") from None
    except Exception as exc:
        raise ImageReadError(f"truncated or corrupt image data{where}: {_describe(exc)}") from None
    return _to_bgr(array, rgb_order=True, alpha=alpha)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in _ALPHA_MODES or "transparency" in img.info


def _check_cv2_limits(width: int, height: int) -> None:
    # OpenCV raises for these (and only logs the reason); say so instead of a generic failure,
    # and do not fall back to Pillow for an image this large.
    max_pixels = _env_int("OPENCV_IO_MAX_IMAGE_PIXELS", _CV2_DEFAULT_MAX_PIXELS)
    max_width = _env_int("OPENCV_IO_MAX_IMAGE_WIDTH", _CV2_DEFAULT_MAX_SIDE)
    max_height = _env_int("OPENCV_IO_MAX_IMAGE_HEIGHT", _CV2_DEFAULT_MAX_SIDE)
    if width > max_width or height > max_height or width * height > max_pixels:
        raise ImageReadError(
            f"image too large for OpenCV: {width}x{height} pixels exceeds its limit of"
            f" {max_pixels} pixels ({max_width}x{max_height} at most)"
        )


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _jpeg_is_complete(data: bytes) -> bool:
    """True if walking the JPEG marker structure reaches an end-of-image (EOI) marker.

    Segment payloads are skipped by their length (an EXIF thumbnail contains its own EOI),
    and entropy-coded data is scanned for the next real marker. Data after the EOI (e.g. the
    video of a "motion photo") is fine. A JPEG without EOI is treated as truncated.
    """
    pos = 2  # after SOI
    size = len(data)
    while True:
        match = _JPEG_MARKER.search(data, pos)
        if match is None:
            return False
        code = data[match.start() + 1]
        pos = match.end()
        if code == 0xD9:  # EOI
            return True
        if code in (0x01, 0xD8):  # TEM / SOI: no length field
            continue
        if pos + 2 > size:
            return False
        pos += int.from_bytes(data[pos : pos + 2], "big")


# --------------------------------------------------------------------------- pixel layout


def _to_bgr(array: np.ndarray, *, rgb_order: bool, alpha: bool) -> np.ndarray:
    """Any decoded layout (gray, gray+alpha, colour, colour+alpha; any depth) -> uint8 BGR."""
    import cv2
    import numpy as np

    array = _to_uint8(array)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ImageReadError(f"unsupported pixel layout {array.shape}")
    if array.shape[2] in (2, 4):
        if alpha:
            array = _composite_on_white(array)
        else:
            array = array[:, :, :-1]  # padding byte, e.g. 32-bit BMP without alpha
    # cv2.cvtColor is several times faster than the equivalent numpy indexing on big pages.
    if array.shape[2] == 1:
        return cv2.cvtColor(np.ascontiguousarray(array[:, :, 0]), cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2BGR) if rgb_order else array


def _composite_on_white(array: np.ndarray) -> np.ndarray:
    import numpy as np

    # White, not black: transparent regions are usually the paper around dark text.
    color = array[:, :, :-1].astype(np.uint16)
    weight = array[:, :, -1:].astype(np.uint16)
    blended = (color * weight + 255 * (255 - weight) + 127) // 255
    return blended.astype(np.uint8)


def _row_blocks(array: np.ndarray) -> Iterator[slice]:
    """Slices of rows holding about _BLOCK_SAMPLES samples each."""
    rows = array.shape[0]
    per_row = max(1, array.size // max(1, rows))
    step = max(1, _BLOCK_SAMPLES // per_row)
    for start in range(0, rows, step):
        yield slice(start, start + step)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Bring any sample depth into 0..255 by scaling (16-bit is never clipped to 255).

    Wider pages are converted a block of rows at a time, so no full-size 32- or 64-bit copy of a
    large 16-bit or float page is ever made (it would be 2-4x the page's own memory).
    """
    import numpy as np

    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.ndim == 0:
        array = array.reshape(1)
    out = np.empty(array.shape, np.uint8)
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:
        # 16-bit: round(x / 257) maps 0..65535 exactly onto 0..255.
        for rows in _row_blocks(array):
            block = array[rows].astype(np.uint32)
            block += 128
            block //= 257
            out[rows] = block
        return out

    # Rare: 32-bit integer or floating-point TIFF samples, or signed integers.
    low, high = _finite_range(array)
    if low > high:  # nothing finite
        out.fill(0)
        return out
    if array.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        scale, offset = 255.0, 0.0  # normalised floats
    elif array.dtype.kind in "iu" and low >= 0 and high <= 255:
        scale, offset = 1.0, 0.0  # already 8-bit values in a wider type
    elif array.dtype.kind in "iu" and low >= 0 and high <= 65535:
        scale, offset = 1.0 / 257.0, 0.0  # 16-bit values in a wider type
    elif high > low:
        scale, offset = 255.0 / (high - low), low  # unknown range: stretch
    else:
        out.fill(0)
        return out
    for rows in _row_blocks(array):
        values = array[rows].astype(np.float64)
        values[~np.isfinite(values)] = low
        values -= offset
        values *= scale
        np.rint(values, out=values)
        np.clip(values, 0, 255, out=values)
        out[rows] = values
    return out


def _finite_range(array: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite samples, block by block; (inf, -inf) when there are none."""
    import numpy as np

    low, high = float("inf"), float("-inf")
    for rows in _row_blocks(array):
        block = array[rows]
        if block.dtype.kind == "f":
            block = block[np.isfinite(block)]
        if block.size:
            low, high = min(low, float(block.min())), max(high, float(block.max()))
    return low, high


# --------------------------------------------------------------------------- orientation


def _orientation(img: Image.Image) -> int:
    """EXIF orientation (1..8) of the current frame; 1 if absent or unreadable."""
    try:
        if img.format == "PNG" and "exif" not in img.info:
            # PngImageFile.getexif() would decode the whole image to look for a late eXIf.
            return 1
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:
        return 1  # broken EXIF should not make a readable image unreadable


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    import numpy as np

    # Same transforms as PIL.ImageOps.exif_transpose; numpy views, made contiguous later.
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(array, -1)
    if orientation == 7:
        return array[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(array, 1)
    return array


# --------------------------------------------------------------------------- helpers


def _describe(exc: BaseException) -> str:
    text = one_line(str(exc))
    # Pillow's messages often quote the BytesIO repr, which means nothing to a user.
    text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", " data", text)
    # "decoder error -2" -> "decoding error (decoder error -2)"
    match = re.fullmatch(r"decoder error (-?\d+)", text)
    meaning = getattr(ImageFile, "ERRORS", {}).get(int(match.group(1))) if match else None
    if meaning:
        text = f"{meaning} ({text})"
    return text or type(exc).__name__


_settings_lock = threading.Lock()
_settings_users = 0
_settings_saved: tuple[int | None, bool, int | None] = (None, False, None)


@contextmanager
def _library_settings() -> Iterator[None]:
    """Put Pillow and OpenCV into the state this module relies on, and restore it afterwards.

    * ``Image.MAX_IMAGE_PIXELS = None``: we enforce our own, configurable ``max_pixels`` from
      the header; Pillow's bomb check (a warning at ~89 MP, an error at ~179 MP) must not
      pre-empt it with a different limit and message.
    * ``ImageFile.LOAD_TRUNCATED_IMAGES = False``: some libraries (e.g. parts of modelscope)
      set it to True on import, which makes Pillow pad truncated images with gray silently.
    * OpenCV logging silenced: it prints "imdecode_(''): can't read data" for failures we
      report ourselves. (libpng/libjpeg messages printed by the C libraries are unaffected.)

    These are process-wide globals, so the change is reference-counted: concurrent readers in
    threads neither serialise on a lock nor restore the old values while another still decodes.
    """
    global _settings_users, _settings_saved
    # OpenCV's level only where OpenCV is loaded: every decode imports it first; counting pages
    # (the parent, which never decodes) needs Pillow alone.
    cv2 = sys.modules.get("cv2")
    get_level = getattr(cv2, "getLogLevel", None)
    set_level = getattr(cv2, "setLogLevel", None)
    with _settings_lock:
        if _settings_users == 0:
            level = get_level() if get_level and set_level else None
            _settings_saved = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, level)
            Image.MAX_IMAGE_PIXELS = None
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            if level is not None and set_level:
                set_level(0)  # LOG_LEVEL_SILENT
        _settings_users += 1
    try:
        yield
    finally:
        with _settings_lock:
            _settings_users -= 1
            if _settings_users == 0:
                max_pixels, load_truncated, level = _settings_saved
                Image.MAX_IMAGE_PIXELS = max_pixels
                ImageFile.LOAD_TRUNCATED_IMAGES = load_truncated
                if level is not None and set_level:
                    set_level(level)
