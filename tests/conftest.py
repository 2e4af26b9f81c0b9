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
    return resolve_models(config.models)


@pytest.fixture(scope="session")
def reference_texts(config: Config, models: ResolvedModels) -> dict[tuple[str, int], list[str]]:
    """(relative path, page) -> lines, from PaddleOCR's own pipeline in this process."""
    from paddleocr import PaddleOCR

    from pipeline.inputs import discover
    from pipeline.reader import read_image

    det = config.detection
    ocr = PaddleOCR(
        text_detection_model_dir=models.detection.dir,
        text_detection_model_name=models.detection.name,
        text_recognition_model_dir=models.recognition.dir,
        text_recognition_model_name=models.recognition.name,
        use_doc_orientation_classify=False,
        use_doc_unwarping=False,
        use_textline_orientation=False,
        text_det_limit_side_len=det.limit_side_len,
        text_det_limit_type=det.limit_type,
        text_det_thresh=det.thresh,
        text_det_box_thresh=det.box_thresh,
        text_det_unclip_ratio=det.unclip_ratio,
        text_rec_score_thresh=config.recognition.score_threshold,
        text_recognition_batch_size=config.recognition.batch_size,
        device="cpu",
        enable_mkldnn=True,
        cpu_threads=1,
    )
    texts = {}
    for image in discover([SAMPLES]).images:
        result = ocr.predict(read_image(Path(image.path), image.page))[0]
        texts[(image.rel, image.page)] = list(result["rec_texts"])
    return texts


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
