"""The runtimes behind `engine.runtime`: the same weights give the same text on each, a missing
runtime is a clear config error, and the embedded models are prepared in the format each reads."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.registry import EngineSettings
from pipeline.ocr.models import ResolvedModels, resolve_models
from pipeline.ocr.runtimes import RUNTIMES, runtime_named
from pipeline.run.runner import run
from pipeline.run.settings import run_config


def _openvino_installed() -> bool:
    try:
        metadata.version("onnxruntime-openvino")
    except metadata.PackageNotFoundError:
        return False
    return True


def test_onnx_is_the_default_runtime_and_every_runtime_is_a_config_choice() -> None:
    assert run_config(None).engine.runtime == "onnxruntime"
    for name in RUNTIMES:
        assert run_config(None, {"engine.runtime": name}).engine.runtime == name
    with pytest.raises(ConfigError, match="engine.runtime"):
        run_config(None, {"engine.runtime": "tensorrt"})


def test_embedded_models_are_prepared_in_the_format_of_the_runtime(v4_config: Config) -> None:
    config = v4_config  # PP-OCRv4 mobile: embedded in both formats
    onnx = resolve_models(config.models, "onnxruntime")
    paddle = resolve_models(config.models, "paddle")
    for model in (onnx.detection, onnx.recognition):
        assert model.format == "onnx" and (Path(str(model.dir)) / "inference.onnx").is_file()
        assert (Path(str(model.dir)) / "inference.yml").is_file()
    for model in (paddle.detection, paddle.recognition):
        assert model.format == "paddle" and (Path(str(model.dir)) / "inference.pdiparams").is_file()
    # Preparing again finds the cache: same folders.
    assert resolve_models(config.models, "onnxruntime") == onnx


def test_a_local_model_folder_without_the_runtime_format_is_refused(tmp_path: Path, v4_config: Config) -> None:
    paddle_det = resolve_models(v4_config.models, "paddle").detection
    overrides = {"models.detection.source": "local", "models.detection.dir": str(paddle_det.dir),
                 "models.detection.name": paddle_det.name, "models.recognition.name": "PP-OCRv4_mobile_rec"}
    local = run_config(None, overrides)
    assert resolve_models(local.models, "paddle").detection.dir == str(Path(str(paddle_det.dir)).resolve())
    with pytest.raises(ConfigError, match="inference.onnx"):
        resolve_models(local.models, "onnxruntime")


def test_official_models_need_the_paddle_runtime() -> None:
    official = run_config(None, {"models.detection.source": "official"})
    with pytest.raises(ConfigError, match="official"):
        resolve_models(official.models, "onnxruntime")


def test_openvino_runs_where_installed_and_is_a_clear_error_elsewhere(tmp_path: Path, config: Config,
                                                                    reference_texts: dict) -> None:
    openvino = replace(config, engine=replace(config.engine, runtime="openvino"), workers=1,
                       output=str(tmp_path / "ov.jsonl"))
    if not _openvino_installed():
        with pytest.raises(ConfigError, match="onnxruntime-openvino"):
            runtime_named("openvino").check_available()
        return
    run([SAMPLES / "screenshot_ui.png"], openvino, quiet=True)
    record = json.loads((tmp_path / "ov.jsonl").read_text(encoding="utf-8"))
    assert [line["text"] for line in record["lines"]] == reference_texts[("screenshot_ui.png", 0)]


def test_paddle_runtime_reads_the_same_text_as_the_onnx_default(tmp_path: Path, v4_config: Config,
                                                                v4_reference_texts: dict) -> None:
    """The default runtime changed the engine's numbers, not its text: the Paddle Inference run of
    the same weights equals plain PaddleOCR on ONNX Runtime line for line. The paddle runtime reads
    PP-OCRv4 mobile only, so both sides run it (the suite's own reference is on the default models)."""
    reference_texts = v4_reference_texts
    out = tmp_path / "paddle.jsonl"
    paddle = replace(v4_config, engine=replace(v4_config.engine, runtime="paddle"), workers=2, output=str(out))
    run([SAMPLES], paddle, quiet=True)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(reference_texts)
    for record in records:
        assert [line["text"] for line in record["lines"]] == reference_texts[(record["image"], record["page"])]


def test_the_wide_detector_is_built_only_when_used(config: Config, models: ResolvedModels) -> None:
    engine = OcrEngine(EngineSettings.of(replace(config, workers=2)), models)
    engine.warm_up()
    assert engine._det_wide is None  # start-up pays for one detector only
    page = np.full((120, 400, 3), 255, dtype=np.uint8)
    page[50:70, 20:380] = 0
    narrow = engine.detect(page)
    wide = engine.detect(page, wide=True)
    assert engine._det_wide is not None
    assert [box for box, _ in wide] == [box for box, _ in narrow]
