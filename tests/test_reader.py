"""Tests for pipeline.inputs.reader: every input becomes uint8 BGR (H, W, 3) or a one-line ImageReadError.

All images are generated in tmp_path; nothing is read from fixtures on disk.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, ImageOps

from pipeline.errors import ImageReadError
from pipeline.inputs import reader
from pipeline.inputs.reader import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    count_pages,
    read_image,
)

# --------------------------------------------------------------------------- helpers


def pil_bytes(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def cv2_bytes(array: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    ok, encoded = cv2.imencode(ext, array, params or [])
    assert ok
    return encoded.tobytes()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming width x height, with almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + png_chunk(b"IEND", b"")
    )


def text_image(width: int = 120, height: int = 60) -> np.ndarray:
    """White page with black text: realistic content with sharp edges (BGR)."""
    page = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(page, "OCR 42", (5, height - 15), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    return page


def assert_bgr(array: object, height: int | None = None, width: int | None = None) -> np.ndarray:
    assert isinstance(array, np.ndarray)
    assert array.dtype == np.uint8
    assert array.ndim == 3 and array.shape[2] == 3
    assert array.flags["C_CONTIGUOUS"]
    if height is not None:
        assert array.shape[:2] == (height, width)
    return array


def read_error(path: Path, **kwargs: object) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path, **kwargs)  # type: ignore[arg-type]
    return assert_one_line(info.value)


def pages_error(path: Path) -> str:
    with pytest.raises(ImageReadError) as info:
        count_pages(path)
    return assert_one_line(info.value)


def assert_one_line(err: BaseException) -> str:
    message = str(err)
    assert message and message == message.strip()
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message and "BytesIO" not in message
    return message


def multipage_tiff(compression: str | None = "tiff_deflate") -> tuple[bytes, list[Image.Image]]:
    pages = [Image.new("RGB", (30 + 10 * i, 20 + 5 * i), (40 * i, 100, 200 - 40 * i)) for i in range(3)]
    data = pil_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:], compression=compression)
    return data, pages


# --------------------------------------------------------------------------- public API


def test_public_api() -> None:
    assert set(reader.__all__) == {
        "DEFAULT_MAX_FILE_BYTES",
        "DEFAULT_MAX_PAGES",
        "DEFAULT_MAX_PIXELS",
        "IMAGE_EXTENSIONS",
        "count_pages",
        "decode_image",
        "read_bytes",
        "read_image",
    }
    assert DEFAULT_MAX_PIXELS == 100_000_000
    assert IMAGE_EXTENSIONS == frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
    assert issubclass(ImageReadError, Exception)


def test_import_does_not_change_library_globals() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS is not None


def test_strict_even_if_another_library_enabled_truncated_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some libraries set this on import; Pillow would then pad truncated images with gray.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    png = cv2_bytes(np.random.default_rng(3).integers(0, 256, (200, 200, 3), dtype=np.uint8), ".png")
    assert "truncated" in read_error(write(tmp_path, "cut.png", png[: len(png) // 2]))
    data, _ = multipage_tiff()
    tiff = Image.open(io.BytesIO(data))
    tiff.seek(1)
    corrupt = bytearray(data)
    offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    corrupt[offset : offset + length // 2] = b"\xab" * (length // 2)
    read_error(write(tmp_path, "doc.tif", bytes(corrupt)), page=1)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored afterwards


def test_pillow_bomb_limit_and_cv2_log_level_are_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow alone would refuse 10000 px
    path = write(tmp_path, "p.png", cv2_bytes(text_image(100, 100), ".png"))
    level = cv2.getLogLevel()
    assert_bgr(read_image(path), 100, 100)
    assert count_pages(path) == 1
    assert Image.MAX_IMAGE_PIXELS == 1000
    assert cv2.getLogLevel() == level


def test_error_message_is_normalised_to_one_line() -> None:
    assert str(ImageReadError("bad\nthing\r\n  here ")) == "bad thing here"


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    "name",
    [
        "通知 图片.png",
        "通知 图片.jpg",
        "scan with spaces.png",
        "it's a 'quoted' name.png",
        pytest.param(
            'double "quoted" name.png',
            marks=pytest.mark.skipif(os.name == "nt", reason='" is not allowed in Windows file names'),
        ),
        "Ünïcödé – ñame.tiff",
    ],
)
def test_unusual_file_names(tmp_path: Path, name: str) -> None:
    page = text_image()
    ext = Path(name).suffix
    path = write(tmp_path, name, cv2_bytes(page, ext))
    result = assert_bgr(read_image(path), *page.shape[:2])
    if ext != ".jpg":
        assert np.array_equal(result, page)
    assert count_pages(path) == 1


def test_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, "a.png", cv2_bytes(text_image(), ".png"))
    assert_bgr(read_image(str(path)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- formats and layouts


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tiff", ".webp"])
def test_lossless_round_trip(tmp_path: Path, ext: str) -> None:
    page = text_image()
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else None  # >100 = lossless
    path = write(tmp_path, "page" + ext, cv2_bytes(page, ext, params))
    assert np.array_equal(read_image(path), page)


def test_jpeg_round_trip(tmp_path: Path) -> None:
    page = text_image()
    path = write(tmp_path, "page.jpg", cv2_bytes(page, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]))
    result = assert_bgr(read_image(path), *page.shape[:2])
    assert np.abs(result.astype(int) - page).mean() < 5


@pytest.mark.parametrize(
    ("real", "name"),
    [(".png", "really_png.jpg"), (".jpg", "really_jpeg.png"), (".tiff", "really_tiff.bmp"), (".bmp", "no_extension")],
)
def test_format_detected_by_content_not_extension(tmp_path: Path, real: str, name: str) -> None:
    page = text_image()
    path = write(tmp_path, name, cv2_bytes(page, real))
    result = assert_bgr(read_image(path), *page.shape[:2])
    if real != ".jpg":
        assert np.array_equal(result, page)
    assert count_pages(path) == 1


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP"])
def test_grayscale(tmp_path: Path, fmt: str) -> None:
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (8, 1))
    path = write(tmp_path, "gray.img", pil_bytes(Image.fromarray(gray, "L"), fmt))
    result = assert_bgr(read_image(path), *gray.shape)
    assert np.array_equal(result[:, :, 0], result[:, :, 1])
    assert np.array_equal(result[:, :, 0], result[:, :, 2])
    tolerance = 3 if fmt == "JPEG" else 0
    assert np.abs(result[:, :, 0].astype(int) - gray).max() <= tolerance


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF"])
def test_palette(tmp_path: Path, fmt: str) -> None:
    img = Image.new("P", (6, 4), 0)
    img.putpalette([255, 255, 255, 200, 100, 50] + [0, 0, 0] * 254)
    img.putpixel((2, 1), 1)
    path = write(tmp_path, "palette.img", pil_bytes(img, fmt))
    result = assert_bgr(read_image(path), 4, 6)
    assert result[0, 0].tolist() == [255, 255, 255]
    assert result[1, 2].tolist() == [50, 100, 200]  # BGR of RGB (200, 100, 50)


@pytest.mark.parametrize(("fmt", "kwargs"), [("PNG", {}), ("TIFF", {"compression": "group4"}), ("BMP", {})])
def test_one_bit(tmp_path: Path, fmt: str, kwargs: dict[str, object]) -> None:
    img = Image.new("1", (16, 8), 1)
    for x in range(4, 12):
        img.putpixel((x, 3), 0)
    path = write(tmp_path, "bits.img", pil_bytes(img, fmt, **kwargs))
    result = assert_bgr(read_image(path), 8, 16)
    assert set(np.unique(result).tolist()) == {0, 255}
    assert result[3, 5].tolist() == [0, 0, 0]
    assert result[0, 0].tolist() == [255, 255, 255]


def _rgba_text_on_transparent() -> Image.Image:
    # Black, opaque text on a fully transparent *black* background: compositing onto black
    # (what OpenCV's IMREAD_COLOR effectively does) would make the whole image black.
    img = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    for x in range(5, 15):
        img.putpixel((x, 5), (0, 0, 0, 255))
    img.putpixel((1, 1), (0, 0, 0, 128))  # half-transparent black
    img.putpixel((2, 1), (255, 0, 0, 255))  # opaque red
    return img


@pytest.mark.parametrize(("fmt", "kwargs"), [("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})])
def test_rgba_composited_onto_white(tmp_path: Path, fmt: str, kwargs: dict[str, object]) -> None:
    path = write(tmp_path, "alpha.img", pil_bytes(_rgba_text_on_transparent(), fmt, **kwargs))
    result = assert_bgr(read_image(path), 10, 20)
    assert result[0, 0].tolist() == [255, 255, 255]
    assert result[5, 7].tolist() == [0, 0, 0]
    assert result[1, 2].tolist() == [0, 0, 255]
    assert all(abs(v - 127) <= 1 for v in result[1, 1].tolist())


def test_gray_alpha_composited_onto_white(tmp_path: Path) -> None:
    img = Image.new("LA", (8, 4), (0, 0))
    img.putpixel((3, 2), (0, 255))
    path = write(tmp_path, "la.png", pil_bytes(img, "PNG"))
    result = assert_bgr(read_image(path), 4, 8)
    assert result[0, 0].tolist() == [255, 255, 255]
    assert result[2, 3].tolist() == [0, 0, 0]


def test_palette_with_transparency_composited_onto_white(tmp_path: Path) -> None:
    img = Image.new("P", (8, 4), 0)
    img.putpalette([0, 0, 0, 10, 20, 30] + [0, 0, 0] * 254)
    img.putpixel((1, 1), 1)
    path = write(tmp_path, "trns.png", pil_bytes(img, "PNG", transparency=0))
    result = assert_bgr(read_image(path), 4, 8)
    assert result[0, 0].tolist() == [255, 255, 255]
    assert result[1, 1].tolist() == [30, 20, 10]


def test_32bit_bmp_padding_byte_is_not_alpha(tmp_path: Path) -> None:
    # 32 bpp BI_RGB BMP: the 4th byte is padding (zero here), not transparency.
    width, height = 4, 2
    pixels = bytes([10, 20, 30, 0]) * (width * height)
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    header += struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 0, len(pixels), 0, 0, 0, 0)
    result = assert_bgr(read_image(write(tmp_path, "pad.bmp", header + pixels)), height, width)
    assert result[0, 0].tolist() == [10, 20, 30]


def test_16bit_gray_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 100, 40000, 65535]], np.uint16)
    path = write(tmp_path, "g16.png", cv2_bytes(values, ".png"))
    result = assert_bgr(read_image(path), 1, 4)
    assert result[0, :, 0].tolist() == [0, 100, 156, 255]


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_16bit_color_is_scaled_not_clipped(tmp_path: Path, ext: str) -> None:
    bgr16 = np.full((3, 5, 3), (65535, 32768, 12850), np.uint16)  # expect ~ (255, 128, 50)
    path = write(tmp_path, "c16" + ext, cv2_bytes(bgr16, ext))
    result = assert_bgr(read_image(path), 3, 5)
    assert np.abs(result[0, 0].astype(int) - [255, 128, 50]).max() <= 1


def test_16bit_gray_tiff(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[0, 25700, 40000, 65535]], np.uint16))
    result = assert_bgr(read_image(write(tmp_path, "g16.tif", pil_bytes(img, "TIFF"))), 1, 4)
    assert result[0, :, 0].tolist() == [0, 100, 156, 255]


def test_16bit_rgba_png(tmp_path: Path) -> None:
    bgra16 = np.zeros((2, 3, 4), np.uint16)  # fully transparent black
    bgra16[0, 0] = (0, 0, 65535, 65535)  # opaque red
    result = assert_bgr(read_image(write(tmp_path, "a16.png", cv2_bytes(bgra16, ".png"))), 2, 3)
    assert result[0, 0].tolist() == [0, 0, 255]
    assert result[1, 1].tolist() == [255, 255, 255]


def test_float_tiff(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.5, 1.0]], np.float32)
    result = assert_bgr(read_image(write(tmp_path, "f.tif", pil_bytes(Image.fromarray(values), "TIFF"))), 1, 3)
    assert result[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk(tmp_path: Path, fmt: str) -> None:
    img = Image.new("CMYK", (16, 8), (0, 255, 255, 0))  # pure red
    path = write(tmp_path, "cmyk.img", pil_bytes(img, fmt, **({"quality": 95} if fmt == "JPEG" else {})))
    result = assert_bgr(read_image(path), 8, 16)
    assert np.abs(result[4, 8].astype(int) - [0, 0, 255]).max() <= 8


@pytest.mark.parametrize(("width", "height"), [(1, 1), (20000, 10), (10, 20000)])
@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_extreme_shapes(tmp_path: Path, ext: str, width: int, height: int) -> None:
    page = np.full((height, width, 3), 200, np.uint8)
    page[0, 0] = (0, 0, 0)
    result = assert_bgr(read_image(write(tmp_path, "shape" + ext, cv2_bytes(page, ext))), height, width)
    if ext == ".png":
        assert np.array_equal(result, page)


# --------------------------------------------------------------------------- EXIF orientation


def _orientation_exif(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def test_jpeg_exif_orientation_6_is_rotated(tmp_path: Path) -> None:
    # 40 wide x 20 high, left half red, right half blue, tagged "rotate 90 CW to display".
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))
    data = pil_bytes(img, "JPEG", exif=_orientation_exif(6), quality=95)
    path = write(tmp_path, "photo.jpg", data)

    result = assert_bgr(read_image(path), 40, 20)  # width and height swapped
    # After a clockwise quarter turn the left (red) half is on top.
    assert np.abs(result[5, 10].astype(int) - [0, 0, 255]).max() < 40
    assert np.abs(result[35, 10].astype(int) - [255, 0, 0]).max() < 40
    # Same result as OpenCV's own EXIF handling for JPEG (IMREAD_COLOR).
    reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert reference.shape == result.shape
    assert np.abs(reference.astype(int) - result).max() <= 2


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF"])
def test_all_exif_orientations_match_pillow(tmp_path: Path, fmt: str, orientation: int) -> None:
    rng = np.random.default_rng(orientation)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    if fmt == "JPEG":
        rgb = np.kron(rng.integers(0, 2, (5, 7, 1), dtype=np.uint8) * 255, np.ones((8, 8, 1), np.uint8))
        rgb = np.repeat(rgb, 3, axis=2)
    kwargs: dict[str, object] = {"exif": _orientation_exif(orientation)}
    if fmt == "WEBP":
        kwargs["lossless"] = True
    if fmt == "TIFF":
        kwargs = {"tiffinfo": {0x0112: orientation}}
    data = pil_bytes(Image.fromarray(rgb), fmt, **kwargs)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))[:, :, ::-1]
    result = assert_bgr(read_image(write(tmp_path, "o.img", data)))
    assert result.shape == expected.shape
    assert np.abs(result.astype(int) - expected).max() <= (20 if fmt == "JPEG" else 0)


def test_broken_exif_does_not_block_reading(tmp_path: Path) -> None:
    page = text_image()
    data = pil_bytes(Image.fromarray(page[:, :, ::-1]), "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")
    assert_bgr(read_image(write(tmp_path, "bad_exif.jpg", data)), *page.shape[:2])


# --------------------------------------------------------------------------- multi-page TIFF


def test_multipage_tiff(tmp_path: Path) -> None:
    data, pages = multipage_tiff()
    path = write(tmp_path, "doc.tif", data)
    assert count_pages(path) == 3
    for index, page in enumerate(pages):
        result = assert_bgr(read_image(path, page=index), page.height, page.width)
        assert np.array_equal(result, np.asarray(page)[:, :, ::-1])


@pytest.mark.parametrize("page", [3, 7, -1])
def test_multipage_tiff_page_out_of_range(tmp_path: Path, page: int) -> None:
    path = write(tmp_path, "doc.tif", multipage_tiff()[0])
    assert read_error(path, page=page) == f"page {page} out of range (file has 3 pages)"


def test_single_image_has_one_page(tmp_path: Path) -> None:
    path = write(tmp_path, "one.png", cv2_bytes(text_image(), ".png"))
    assert count_pages(path) == 1
    assert read_error(path, page=1) == "page 1 out of range (file has 1 page)"


def test_phone_jpeg_with_multi_picture_data_is_one_page(tmp_path: Path) -> None:
    # Pillow reports such JPEGs as "MPO" with 2 frames; for OCR it is one page.
    first = Image.fromarray(text_image()[:, :, ::-1])
    data = pil_bytes(first, "MPO", save_all=True, append_images=[Image.new("RGB", (8, 8))])
    path = write(tmp_path, "phone.jpg", data)
    assert count_pages(path) == 1
    assert_bgr(read_image(path), first.height, first.width)


@pytest.mark.parametrize("compression", ["tiff_deflate", "tiff_lzw"])
def test_multipage_tiff_with_one_corrupt_page(tmp_path: Path, compression: str) -> None:
    data, pages = multipage_tiff(compression)
    tiff = Image.open(io.BytesIO(data))
    tiff.seek(1)
    corrupt = bytearray(data)
    for offset, length in zip(tiff.tag_v2[273], tiff.tag_v2[279]):
        corrupt[offset : offset + length] = b"\xab" * length
    path = write(tmp_path, "doc.tif", bytes(corrupt))

    assert count_pages(path) == 3
    message = read_error(path, page=1)
    assert "corrupt" in message and "page 1" in message
    for index in (0, 2):
        result = read_image(path, page=index)
        assert np.array_equal(result, np.asarray(pages[index])[:, :, ::-1])


def test_multipage_tiff_page_size_limit_is_per_page(tmp_path: Path) -> None:
    small, large = Image.new("L", (10, 10), 255), Image.new("L", (100, 100), 255)
    path = write(tmp_path, "mixed.tif", pil_bytes(small, "TIFF", save_all=True, append_images=[large]))
    assert_bgr(read_image(path, page=0, max_pixels=1000), 10, 10)
    assert read_error(path, page=1, max_pixels=1000).startswith("image too large: 100x100 pixels")


# --------------------------------------------------------------------------- pixel limits


def test_max_pixels_checked_before_decoding(tmp_path: Path) -> None:
    # The header claims 20000x20000 but there is almost no pixel data: a decode attempt would
    # fail differently (or allocate 400 MB); the header check must fire first.
    path = write(tmp_path, "bomb.png", png_header_only(20000, 20000))
    assert read_error(path) == (
        "image too large: 20000x20000 pixels exceeds the limit of 100000000 (limits.max_image_pixels)"
    )


def test_max_pixels_custom_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "p.png", cv2_bytes(np.zeros((50, 100, 3), np.uint8), ".png"))
    assert read_error(path, max_pixels=4999) == (
        "image too large: 100x50 pixels exceeds the limit of 4999 (limits.max_image_pixels)"
    )
    assert_bgr(read_image(path, max_pixels=5000), 50, 100)  # the limit itself is allowed


def test_pillow_bomb_limit_does_not_interfere(tmp_path: Path) -> None:
    # 15000x15000 = 225 MP is above Pillow's own DecompressionBombError threshold (~179 MP).
    path = write(tmp_path, "big.png", png_header_only(15000, 15000))
    assert count_pages(path) == 1
    assert read_error(path).startswith("image too large: 15000x15000 pixels")


def test_opencv_pixel_limit_is_an_image_read_error(tmp_path: Path) -> None:
    # 40000x40000 is above OpenCV's CV_IO_MAX_IMAGE_PIXELS (2**30), where cv2 raises cv2.error.
    path = write(tmp_path, "huge.png", png_header_only(40000, 40000))
    assert "too large for OpenCV" in read_error(path, max_pixels=10**10)


def test_count_pages_reads_only_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "header_only.png", png_header_only(3000, 3000))
    assert count_pages(path) == 1  # no decode: the pixel data is missing
    assert "corrupt" in read_error(path)


# --------------------------------------------------------------------------- unreadable inputs


def test_zero_byte_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.png", b"")
    assert read_error(path) == "empty file (0 bytes)"
    assert pages_error(path) == "empty file (0 bytes)"


def test_text_file_renamed_png(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.png", "这不是图片\nnot an image\n".encode())
    assert read_error(path).startswith("not a recognised image format")
    assert pages_error(path).startswith("not a recognised image format")


def test_missing_file(tmp_path: Path) -> None:
    assert read_error(tmp_path / "missing.png") == "file not found"
    assert pages_error(tmp_path / "missing.png") == "file not found"


def test_parent_is_a_file(tmp_path: Path) -> None:
    parent = write(tmp_path, "file.png", b"x")
    assert read_error(parent / "child.png").startswith("file not found")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.png"
    folder.mkdir()
    assert read_error(folder) == "is a directory"
    assert pages_error(folder) == "is a directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_named_pipe_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert read_error(fifo) == "not a regular file"


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="root (and Windows ACLs) ignore chmod 000",
)
def test_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.png", cv2_bytes(text_image(), ".png"))
    path.chmod(0)
    try:
        assert read_error(path) == "permission denied"
        assert pages_error(path) == "permission denied"
    finally:
        path.chmod(0o600)


def test_permission_denied_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs even as root: the reader's open() raising PermissionError maps to the same reason.
    path = write(tmp_path, "secret.png", cv2_bytes(text_image(), ".png"))

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reader, "open", denied, raising=False)
    assert read_error(path) == "permission denied"
    assert pages_error(path) == "permission denied"


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tiff"])
def test_truncated_to_half_is_an_error(tmp_path: Path, ext: str) -> None:
    rng = np.random.default_rng(1)
    noisy = text_image(400, 300)
    noisy[150:] = rng.integers(0, 256, noisy[150:].shape, dtype=np.uint8)  # enough data to cut
    data = cv2_bytes(noisy, ext)
    message = read_error(write(tmp_path, "cut" + ext, data[: len(data) // 2]))
    assert "truncated" in message or "corrupt" in message


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.9, 0.99])
def test_truncated_jpeg_is_not_returned_half_gray(tmp_path: Path, fraction: float) -> None:
    data = cv2_bytes(text_image(400, 300), ".jpg")
    # OpenCV itself happily returns the gray-padded image for this input ...
    partial = cv2.imdecode(np.frombuffer(data[: int(len(data) * fraction)], np.uint8), cv2.IMREAD_COLOR)
    assert partial is None or partial.shape == (300, 400, 3)
    # ... the reader must not.
    message = read_error(write(tmp_path, "cut.jpg", data[: int(len(data) * fraction)]))
    assert "truncated" in message


def test_jpeg_missing_only_its_end_marker_is_treated_as_truncated(tmp_path: Path) -> None:
    data = cv2_bytes(text_image(), ".jpg")
    assert data.endswith(b"\xff\xd9")
    assert "truncated" in read_error(write(tmp_path, "no_eoi.jpg", data[:-2]))


def test_truncated_jpeg_with_end_marker_inside_a_segment(tmp_path: Path) -> None:
    # An EOI byte pair inside a COM segment (as in an embedded EXIF thumbnail) must not be
    # mistaken for the end of the image.
    img = Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = pil_bytes(img, "JPEG", comment=b"thumbnail \xff\xd9 end")
    assert data.count(b"\xff\xd9") >= 2
    assert_bgr(read_image(write(tmp_path, "ok.jpg", data)), 64, 64)
    assert "truncated" in read_error(write(tmp_path, "cut.jpg", data[: len(data) * 3 // 4]))


def test_progressive_jpeg(tmp_path: Path) -> None:
    page = text_image(200, 100)
    data = cv2_bytes(page, ".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert_bgr(read_image(write(tmp_path, "prog.jpg", data)), 100, 200)
    assert "truncated" in read_error(write(tmp_path, "prog_cut.jpg", data[: len(data) * 2 // 3]))


def test_jpeg_with_trailing_data_after_end_marker(tmp_path: Path) -> None:
    # e.g. "motion photos" append a video after the JPEG's EOI marker.
    page = text_image()
    data = cv2_bytes(page, ".jpg") + b"\x00\x00\x00\x18ftypmp42" + bytes(1000)
    assert_bgr(read_image(write(tmp_path, "motion.jpg", data)), *page.shape[:2])


def test_png_missing_only_its_end_chunk_still_reads_completely(tmp_path: Path) -> None:
    # OpenCV rejects a PNG whose IEND chunk is cut off even though every pixel is present;
    # the Pillow fallback (still strict about missing pixel data) decodes it exactly.
    page = text_image()
    data = cv2_bytes(page, ".png")
    assert data.endswith(png_chunk(b"IEND", b""))
    cut = data[:-12]
    assert cv2.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_UNCHANGED) is None
    assert np.array_equal(read_image(write(tmp_path, "no_iend.png", cut)), page)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, id="png-signature-then-zeros"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", b"\x00" * 13), id="png-zero-size-ihdr"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"garbage" * 10, id="jpeg-soi-then-garbage"),
        pytest.param(b"BM" + b"\xff" * 60, id="bmp-garbage-header"),
        pytest.param(b"II*\x00" + b"\xff\xff\xff\x7f" + b"\x00" * 40, id="tiff-bad-ifd-offset"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8, id="webp-empty-chunk"),
    ],
)
def test_corrupt_headers(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "corrupt.img", data)
    read_error(path)
    try:  # header-only: may or may not notice, but only ever with ImageReadError
        pages = count_pages(path)
    except ImageReadError as err:
        assert_one_line(err)
    else:
        assert pages == 1, pages  # a header it accepts is one page: none of these is a multi-page TIFF


def test_png_with_broken_ihdr_crc(tmp_path: Path) -> None:
    data = bytearray(cv2_bytes(text_image(), ".png"))
    data[29] ^= 0xFF  # last byte of the IHDR CRC
    read_error(write(tmp_path, "crc.png", bytes(data)))


def test_gif_is_rejected_with_a_clear_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "anim.png", pil_bytes(Image.new("P", (4, 4)), "GIF"))
    assert read_error(path).startswith("not a recognised image format")


# --------------------------------------------------------------------------- properties

_SIGNATURES = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
]


def _check_outcome(path: Path) -> None:
    try:
        result = read_image(path, max_pixels=4_000_000)
    except ImageReadError as err:
        assert_one_line(err)
    else:
        assert_bgr(result)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(_SIGNATURES), body=st.binary(max_size=512))
def test_random_bytes_never_escape_as_other_exceptions(tmp_path: Path, prefix: bytes, body: bytes) -> None:
    _check_outcome(write(tmp_path, "random.png", prefix + body))


@st.composite
def encoded_images(draw: st.DrawFn) -> tuple[np.ndarray, str, bytes]:
    ext = draw(st.sampled_from([".png", ".jpg", ".bmp", ".tiff", ".webp"]))
    dtypes = [np.uint8, np.uint16] if ext in (".png", ".tiff") else [np.uint8]
    dtype = draw(st.sampled_from(dtypes))
    channels = draw(
        st.sampled_from({".png": [1, 3, 4], ".jpg": [1, 3], ".bmp": [1, 3], ".tiff": [1, 3, 4], ".webp": [3, 4]}[ext])
    )
    height = draw(st.integers(1, 40))
    width = draw(st.integers(1, 40))
    top = int(np.iinfo(dtype).max)
    seed = draw(st.integers(0, 2**32 - 1))
    shape = (height, width) if channels == 1 else (height, width, channels)
    array = np.random.default_rng(seed).integers(0, top + 1, shape, dtype=dtype)
    return array, ext, cv2_bytes(array, ext)


def _expected_bgr(array: np.ndarray) -> np.ndarray:
    values = np.rint(array.astype(np.float64) * (255.0 / np.iinfo(array.dtype).max))
    if values.ndim == 2:
        values = np.repeat(values[:, :, None], 3, axis=2)
    if values.shape[2] == 4:
        alpha = values[:, :, 3:] / 255.0
        values = values[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    return values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=encoded_images())
def test_random_encoded_images_decode_to_bgr(tmp_path: Path, sample: tuple[np.ndarray, str, bytes]) -> None:
    array, ext, data = sample
    result = assert_bgr(read_image(write(tmp_path, "image" + ext, data)), *array.shape[:2])
    if ext in (".png", ".bmp", ".tiff"):  # lossless: check the conversion itself
        # Pillow truncates 16-bit colour TIFF samples to their high byte before we composite.
        tolerance = 3 if ext == ".tiff" and array.dtype == np.uint16 else 1
        assert np.abs(result.astype(np.float64) - _expected_bgr(array)).max() <= tolerance


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sample=encoded_images(),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)), max_size=4),
)
def test_damaged_images_fail_cleanly(
    tmp_path: Path,
    sample: tuple[np.ndarray, str, bytes],
    cut: float,
    flips: list[tuple[float, int]],
) -> None:
    _, ext, data = sample
    damaged = bytearray(data[: max(1, int(len(data) * cut))])
    for where, mask in flips:
        damaged[int(where * len(damaged))] ^= mask
    _check_outcome(write(tmp_path, "damaged" + ext, bytes(damaged)))


def test_reading_each_format_loads_only_its_own_pillow_plugins(tmp_path: Path) -> None:
    """Image.open finds TIFF and WebP among the plugins registered up front: it never falls back to
    importing all of Pillow's plugins (36 ms in the parent and in each worker)."""
    import json
    import subprocess

    page = np.full((40, 60, 3), 200, dtype=np.uint8)
    for suffix in (".png", ".jpg", ".bmp", ".tif", ".webp"):
        assert cv2.imwrite(str(tmp_path / f"page{suffix}"), page)
    code = f"""
import json, sys
from pathlib import Path
from pipeline.inputs.reader import count_pages, read_image
for path in sorted(Path({str(tmp_path)!r}).iterdir()):
    assert count_pages(path) == 1 and read_image(path).shape == (40, 60, 3), path
print(json.dumps(sorted(m for m in sys.modules if m.startswith("PIL.") and m.endswith("ImagePlugin"))))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    plugins = json.loads(done.stdout.splitlines()[-1])
    assert "PIL.TiffImagePlugin" in plugins and "PIL.WebPImagePlugin" in plugins
    assert len(plugins) <= 10, plugins  # Pillow has 45
