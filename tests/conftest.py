"""Shared fixtures: the real engine's models, the sample images, and a reference OCR of them made
by plain single-process `PaddleOCR.predict` with the same models and settings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.inputs.filetypes import IMAGE_EXTENSIONS
from pipeline.ocr.engine import cap_native_threads
from pipeline.ocr.models import ResolvedModels, resolve_models
from pipeline.ocr.records import Record
from pipeline.run.settings import run_config

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
    return run_config(None)


@pytest.fixture(scope="session")
def models(config: Config) -> ResolvedModels:
    return resolve_models(config.models, config.engine.runtime)


@pytest.fixture(scope="session")
def reference_records(config: Config, models: ResolvedModels) -> dict[tuple[str, int], Record]:
    """(relative path, page) -> the record a run must write, made from PaddleOCR's own pipeline in
    this process, which reads the files itself (its own image and TIFF loaders, not the pipeline's
    reader): its lines and boxes verbatim, put in reading order as a run puts them."""
    from pipeline.tools.reference import reference_ocr, reference_records

    ocr = reference_ocr(config, models, threads=1)
    records = {}
    for path in sorted(p for p in SAMPLES.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS):
        rel = path.relative_to(SAMPLES).as_posix()
        for page, record in enumerate(reference_records(ocr, str(path), rel, config)):
            records[(rel, page)] = record
    return records


@pytest.fixture(scope="session")
def reference_texts(reference_records: dict[tuple[str, int], Record]) -> dict[tuple[str, int], list[str]]:
    """(relative path, page) -> the reference's lines, in the order a run writes them."""
    return {key: [line["text"] for line in record["lines"]] for key, record in reference_records.items()}


@pytest.fixture(scope="session")
def v4_config() -> Config:
    """The default config on PP-OCRv4 mobile, the models the paddle runtime reads."""
    return run_config(None, {"models.detection.name": "PP-OCRv4_mobile_det",
                             "models.recognition.name": "PP-OCRv4_mobile_rec"})


@pytest.fixture(scope="session")
def v4_reference_texts(v4_config: Config) -> dict[tuple[str, int], list[str]]:
    """`reference_texts` for `v4_config`: plain PaddleOCR on ONNX Runtime with PP-OCRv4 mobile."""
    from pipeline.tools.reference import reference_ocr, reference_records

    models = resolve_models(v4_config.models, v4_config.engine.runtime)
    ocr = reference_ocr(v4_config, models, threads=1)
    texts = {}
    for path in sorted(p for p in SAMPLES.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS):
        rel = path.relative_to(SAMPLES).as_posix()
        for page, record in enumerate(reference_records(ocr, str(path), rel, v4_config)):
            texts[(rel, page)] = [line["text"] for line in record["lines"]]
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


@pytest.fixture()
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> str:
    """Workers of this test build `tests/fake_engine.FakeEngine` instead of PaddleOCR."""
    from fake_engine import ENGINE
    from pipeline.ocr.registry import DEFAULT_ENGINE, ENGINES

    monkeypatch.setitem(ENGINES, DEFAULT_ENGINE, ENGINE)
    return ENGINE
