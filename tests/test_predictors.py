"""The model menu and the lean worker: every embedded model is prepared offline in the folder
PaddleOCR loads, our ONNX Runtime predictors (`pipeline.ocr.predictors`) give exactly what
`paddleocr.TextDetection` / `TextRecognition` give on `engine="onnxruntime"` with the same folder,
and a worker on the ONNX runtimes never imports paddleocr, paddlex's package code or pandas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.inputs.reader import read_image
from pipeline.ocr.engine import _bucket_recognition_widths
from pipeline.ocr.paddlex_parts import paddlex_part
from pipeline.ocr.models import ResolvedModels, resolve_models
from pipeline.ocr.predictors import TextDetector, TextRecognizer, box_tools, detection_thresholds, whole_pixel_shift
from pipeline.ocr.runtimes import SessionSettings, runtime_named
from pipeline.run.settings import run_config

from conftest import REPO, SAMPLES

MENU = ("PP-OCRv4_mobile", "PP-OCRv5_mobile", "PP-OCRv6_small", "PP-OCRv6_tiny")
# Dictionary sizes the README states (characters, the space class not counted).
DICTIONARY = {"PP-OCRv4_mobile": 6623, "PP-OCRv5_mobile": 18383, "PP-OCRv6_small": 18708, "PP-OCRv6_tiny": 6904}
# Small images: a page of Latin text and a Chinese notice.
IMAGES = ("letter_en.png", "通知_zh.png")


def _pair(family: str) -> ResolvedModels:
    config = run_config(None, {"models.detection.name": f"{family}_det", "models.recognition.name": f"{family}_rec"})
    return resolve_models(config.models, "onnxruntime")


def test_the_default_models_are_pp_ocrv6_tiny_at_the_detectors_own_thresholds() -> None:
    # The fastest pair, and as accurate as PP-OCRv4 mobile on the shared real set (README, model
    # menu), once its detector runs at its own thresholds (null in default.yaml) and, in crops, its
    # own box growth: at PP-OCRv4's it found nothing in tight word and line crops, and with 2.0 there
    # short words read the padding (test_evaluate's test_run_then_eval_on_real_lines).
    config = run_config(None)
    assert (config.models.detection.source, config.models.detection.name) == ("embedded", "PP-OCRv6_tiny_det")
    assert (config.models.recognition.source, config.models.recognition.name) == ("embedded", "PP-OCRv6_tiny_rec")
    det = config.detection
    assert (det.thresh, det.box_thresh, det.unclip_ratio, det.crop_unclip_ratio) == (None, None, 2.0, None)
    folder = resolve_models(config.models, "onnxruntime").detection.dir
    assert detection_thresholds(str(folder), None, None, None) == {"thresh": 0.2, "box_thresh": 0.4, "unclip_ratio": 1.4}
    assert detection_thresholds(str(folder), 0.3, None, 2.0) == {"thresh": 0.3, "box_thresh": 0.4, "unclip_ratio": 2.0}
    v4 = resolve_models(run_config(None, {"models.detection.name": "PP-OCRv4_mobile_det"}).models, "onnxruntime")
    assert detection_thresholds(str(v4.detection.dir), None, None, None) == {"thresh": 0.3, "box_thresh": 0.6,
                                                                             "unclip_ratio": 2.0}


@pytest.mark.parametrize("family", MENU)
def test_every_embedded_model_is_prepared_as_a_paddleocr_folder(family: str) -> None:
    models = _pair(family)
    for model, kind in ((models.detection, "det"), (models.recognition, "rec")):
        folder = Path(str(model.dir))
        assert model.name == f"{family}_{kind}" and model.format == "onnx"
        assert (folder / "inference.onnx").stat().st_size > 100_000
        spec = yaml.safe_load((folder / "inference.yml").read_text(encoding="utf-8"))
        assert spec["Global"]["model_name"] == model.name
        assert spec["PostProcess"]["name"] == ("CTCLabelDecode" if kind == "rec" else "DBPostProcess")
        # The same settings as JSON, which workers read (60x faster than the recognizer's YAML).
        assert json.loads((folder / "inference.yml.json").read_text(encoding="utf-8")) == spec
        assert not (folder / "inference.json").exists()  # Paddle 3's model program, which PaddleX would load
    rec_spec = yaml.safe_load((Path(str(models.recognition.dir)) / "inference.yml").read_text(encoding="utf-8"))
    assert len(rec_spec["PostProcess"]["character_dict"]) == DICTIONARY[family]
    assert _pair(family) == models  # prepared once: the cache is found again


def test_a_folder_without_the_json_settings_is_read_from_its_yaml(tmp_path: Path) -> None:
    """A local model folder (the user's) holds inference.yml alone: the predictors read the same."""
    prepared = Path(str(_pair("PP-OCRv6_tiny").recognition.dir))
    (tmp_path / "inference.yml").write_bytes((prepared / "inference.yml").read_bytes())
    (tmp_path / "inference.onnx").symlink_to(prepared / "inference.onnx")
    ours, theirs = TextRecognizer(str(tmp_path), SessionSettings()), TextRecognizer(str(prepared), SessionSettings())
    crop = read_image(SAMPLES / "letter_en.png")[40:110, 40:600]
    assert ours.recognize([crop]) == theirs.recognize([crop]) and ours.recognize([crop])[0][0]


def test_the_v5_dictionary_we_write_is_the_one_inside_its_model() -> None:
    import onnxruntime

    rec = Path(str(_pair("PP-OCRv5_mobile").recognition.dir))
    inside = onnxruntime.InferenceSession(str(rec / "inference.onnx"), providers=["CPUExecutionProvider"])
    characters = inside.get_modelmeta().custom_metadata_map["character"].splitlines()
    spec = yaml.safe_load((rec / "inference.yml").read_text(encoding="utf-8"))
    assert [str(c) for c in spec["PostProcess"]["character_dict"]] == characters


def test_the_paddle_runtime_refuses_the_onnx_only_models_and_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match=r"models\.detection\.name.*ONNX only.*engine\.runtime: onnxruntime"):
        resolve_models(run_config(None, {"models.detection.name": "PP-OCRv6_tiny_det",
                                         "models.recognition.name": "PP-OCRv6_tiny_rec"}).models, "paddle")
    v4 = run_config(None, {"models.detection.name": "PP-OCRv4_mobile_det", "models.recognition.name": "PP-OCRv4_mobile_rec"})
    assert resolve_models(v4.models, "paddle").recognition.format == "paddle"


def test_a_model_under_the_wrong_key_or_unknown_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"models\.detection\.name.*not a detection model"):
        resolve_models(run_config(None, {"models.detection.name": "PP-OCRv6_tiny_rec"}).models, "onnxruntime")
    with pytest.raises(ConfigError, match=r"models\.recognition\.name.*no embedded model 'PP-OCRv9_rec'"):
        resolve_models(run_config(None, {"models.recognition.name": "PP-OCRv9_rec"}).models, "onnxruntime")


@pytest.mark.parametrize("family", MENU)
def test_our_predictors_give_what_paddleocr_gives_on_onnxruntime(family: str) -> None:
    """Boxes, texts and scores equal: the lean worker changed what it imports, not what it reads."""
    from paddleocr import TextDetection, TextRecognition

    models = _pair(family)
    runtime = runtime_named("onnxruntime")
    settings = {"limit_side_len": 64, "limit_type": "min", "thresh": 0.3, "box_thresh": 0.6, "unclip_ratio": 2.0}
    ours_det = TextDetector(str(models.detection.dir), runtime.session_settings(1), max_side_limit=2000, **settings)
    # Every input "large": each run gives its arena back (pipeline.ocr.large_inputs), same boxes.
    shrinking_det = TextDetector(str(models.detection.dir), runtime.session_settings(1), max_side_limit=2000,
                                 large_input_pixels=1, **settings)
    ours_rec = TextRecognizer(str(models.recognition.dir), SessionSettings())
    kwargs = runtime.predictor_kwargs(1, "cpu", True, 10)
    theirs_det = TextDetection(model_name=models.detection.name, model_dir=models.detection.dir, **settings, **kwargs)
    theirs_rec = TextRecognition(model_name=models.recognition.name, model_dir=models.recognition.dir, **kwargs)
    # Inputs padded to a width bucket (recognition.width_bucket): ours pads as PaddleX's wrapped resize.
    ours_bucketed = TextRecognizer(str(models.recognition.dir), SessionSettings(), width_bucket=96)
    theirs_bucketed = TextRecognition(model_name=models.recognition.name, model_dir=models.recognition.dir, **kwargs)
    _bucket_recognition_widths(theirs_bucketed, 96)
    sort, crop = box_tools()
    lines = 0
    for name in IMAGES:
        image = read_image(SAMPLES / name)
        ours = ours_det.detect(image, 2000)
        theirs = theirs_det.predict(image, max_side_limit=2000)[0]["dt_polys"]
        assert len(ours) == len(theirs) > 0, name
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs)), name
        assert all(np.array_equal(a, b) for a, b in zip(shrinking_det.detect(image, 2000), ours)), name
        crops = crop(image, sort(ours))
        for batch in (1, 6):
            want = [(r["rec_text"], r["rec_score"]) for r in theirs_rec.predict(crops, batch_size=batch)]
            assert ours_rec.recognize(crops, batch) == want, (name, batch)
            want = [(r["rec_text"], r["rec_score"]) for r in theirs_bucketed.predict(crops, batch_size=batch)]
            assert ours_bucketed.recognize(crops, batch) == want, (name, batch, "bucketed")
        lines += len(crops)
    assert lines > 5


def test_the_detectors_input_has_the_bits_of_paddlexs_normalisation() -> None:
    """The page is normalised straight into the model's input: the same float32 values as PaddleX's
    NormalizeImage, ToCHWImage and ToBatch (boxes alone would not show a small difference)."""
    detector = TextDetector(str(_pair("PP-OCRv6_tiny").detection.dir), SessionSettings())
    pages = [read_image(SAMPLES / name) for name in IMAGES]
    pages.append(np.random.default_rng(7).integers(0, 256, (37, 53, 3), dtype=np.uint8))  # every byte value
    for page in pages:
        theirs = detector._to_batch(imgs=detector._to_chw(imgs=detector._normalize(imgs=[page])))[0]
        ours = detector._batch(page)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs)


_LEAN_PROBE = """
import json, sys
from pipeline.run.settings import run_config
from pipeline.ocr.models import resolve_models
from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.registry import EngineSettings
from pipeline.inputs.reader import read_image
from pipeline.ocr.engine import _bucket_recognition_widths
from pipeline.ocr.paddlex_parts import paddlex_part
config = run_config(None, {"workers": 1})
engine = OcrEngine(EngineSettings.of(config), resolve_models(config.models, config.engine.runtime))
engine.warm_up()
lines = engine.recognize([crop for _, crop in engine.detect(read_image(__import__("pathlib").Path(sys.argv[1])))])
heavy = sorted(m for m in ("paddleocr", "paddle", "pandas", "matplotlib", "modelscope", "paddlex.inference.models.predictors")
               if m in sys.modules)
import cv2
opencv_threads = cv2.getNumThreads()
import paddleocr  # a later import of the real package still works in the same process
print(json.dumps({"heavy": heavy, "lines": [line.text for line in lines], "opencv_threads": opencv_threads}))
"""


def test_a_worker_on_onnxruntime_imports_neither_paddleocr_nor_pandas() -> None:
    """...and holds OpenCV to its one thread (OpenCV's own pool would start a thread per core, spinning)."""
    done = subprocess.run([sys.executable, "-c", _LEAN_PROBE, str(SAMPLES / "screenshot_ui.png")], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=True)
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["heavy"] == [] and len(probe["lines"]) > 2
    assert probe["opencv_threads"] == 1


def _bench_pages_script() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_bench_pages", REPO / "scripts" / "make_bench_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_generated_chinese_page_reads_within_the_stated_cer(tmp_path: Path, config: Config) -> None:
    """The default models read Chinese prose as PP-OCRv4 did (0 errors in 3,565 characters on six
    pages, both): CER at most 0.002 here, whitespace ignored."""
    from rapidfuzz.distance import Levenshtein

    from pipeline.ocr.engine import OcrEngine
    from pipeline.ocr.registry import EngineSettings

    pages = _bench_pages_script()
    if not pages.CHINESE_FONT.is_file():  # type: ignore[attr-defined]
        pytest.skip("needs fonts-wqy-microhei (Debian)")
    [path] = pages.make_pages(tmp_path, 1, 1234, large=False, chinese=True)  # type: ignore[attr-defined]
    want = "".join(json.loads((tmp_path / "labels.jsonl").read_text(encoding="utf-8"))["text"].split())
    engine = OcrEngine(EngineSettings.of(config), resolve_models(config.models, config.engine.runtime))
    regions = engine.detect(read_image(path))
    got = "".join("".join(line.text.split()) for line in engine.recognize([crop for _, crop in regions]))
    assert len(regions) == 20 and Levenshtein.distance(got, want) / len(want) <= 0.002, got


def test_the_line_angle_and_orientation_models_load_on_first_use() -> None:
    from pipeline.ocr.line_angle import LineAngleClassifier
    from pipeline.ocr.orientation import PageOrientation

    angle, page = LineAngleClassifier(1), PageOrientation(1)
    assert angle._session._session is None and page._session._session is None  # nothing loaded yet
    assert angle.upside_down([np.full((32, 128, 3), 255, dtype=np.uint8)]) in ([False], [True])
    assert len(page.scores(np.full((300, 300, 3), 255, dtype=np.uint8))) == 4  # one per turn: 0, 90, 180, 270
    assert angle._session._session is not None and page._session._session is not None


def test_our_crop_copies_the_bytes_paddlexs_warp_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where PaddleX's crop only shifts the image by whole pixels, ours copies the pixels instead of
    warping: the same bytes, for upright boxes inside the image, across its border (replicated),
    tall ones (turned), and turned boxes (warped as PaddleX does)."""
    from pipeline.ocr import predictors

    theirs = paddlex_part(predictors._CROP).CropByPolys(det_box_type="quad")
    shifts: list[bool] = []

    def counted(points: np.ndarray) -> tuple[int, int, int, int] | None:
        area = whole_pixel_shift(points)
        shifts.append(area is not None)
        return area

    monkeypatch.setattr(predictors, "whole_pixel_shift", counted)
    _, ours = box_tools()
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    boxes = []
    for _ in range(200):
        x, y = int(rng.integers(-30, 490)), int(rng.integers(-30, 290))
        width, height = int(rng.integers(2, 220)), int(rng.integers(2, 120))
        boxes.append(np.array([[x, y], [x + width, y], [x + width, y + height], [x, y + height]]))
    for _ in range(50):  # turned a little: a real warp
        centre, size, angle = (float(rng.uniform(50, 450)), float(rng.uniform(50, 250))), (80.0, 20.0), float(rng.uniform(1, 20))
        boxes.append(np.round(cv2.boxPoints((centre, size, angle))).astype(int))
    page = read_image(SAMPLES / IMAGES[0])
    sort, _ = box_tools()
    detector = TextDetector(str(_pair(MENU[0]).detection.dir), SessionSettings(), max_side_limit=2000)
    page_boxes = list(sort(detector.detect(page, 2000)))
    for source, polys in ((image, boxes), (page, page_boxes)):
        for poly, a, b in zip(polys, theirs(source, polys), ours(source, polys)):
            assert a.shape == b.shape and np.array_equal(a, b), poly.tolist()
    assert sum(shifts) > 150 and shifts.count(False) >= 50  # both ways taken
