"""Shared fixtures: the real engine's models, the sample images, and a reference OCR of them made
by plain single-process `PaddleOCR.predict` with the same models and settings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.engine import cap_native_threads
from pipeline.models import ResolvedModels, resolve_models

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_images"
SHARED_DATA = REPO.parent / "shared" / "data" / "ocr-real-v1"


@pytest.fixture(scope="session", autouse=True)
def _offline_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Each test session prepares the model cache itself, as a new machine would.
    os.environ.setdefault("PIPELINE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    cap_native_threads(1)


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(None)


@pytest.fixture(scope="session")
def models(config: Config) -> ResolvedModels:
    return resolve_models(config.models, config.engine.runtime)


@pytest.fixture(scope="session")
def reference_texts(config: Config, models: ResolvedModels) -> dict[tuple[str, int], list[str]]:
    """(relative path, page) -> lines, from PaddleOCR's own pipeline in this process."""
    from pipeline.inputs import discover
    from pipeline.reader import read_image
    from pipeline.reference import reference_lines, reference_ocr

    ocr = reference_ocr(config, models, threads=1)
    return {
        (image.rel, image.page): reference_lines(ocr, read_image(Path(image.path), image.page))
        for image in discover([SAMPLES]).images
    }


@pytest.fixture()
def bad_folder(tmp_path: Path) -> Path:
    """Good sample images mixed with a corrupt PNG, a zero-byte JPG and a text file named .png."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SAMPLES / "screenshot_ui.png", folder / "good_ui.png")
    shutil.copy(SAMPLES / "通知_zh.png", folder / "good_通知.png")
    data = (SAMPLES / "screenshot_ui.png").read_bytes()
    (folder / "corrupt.png").write_bytes(data[:40] + bytes(len(data) - 40))
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("this is not an image\n", encoding="utf-8")
    return folder
