"""The recognizer head rewritten as one Gemm (`pipeline.ocr.head_fusion`) gives the probabilities
of the wheel's own model, in its shape, for one crop and for a padded batch of several."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from pipeline.inputs.reader import read_image
from pipeline.ocr.head_fusion import fuse_ctc_head
from pipeline.ocr.models import _EMBEDDED, resolve_models
from pipeline.ocr.predictors import TextDetector, TextRecognizer, box_tools
from pipeline.ocr.runtimes import SessionSettings, runtime_named
from pipeline.ocr.wheels import package_root
from pipeline.run.settings import run_config

from conftest import SAMPLES

FUSED = ("PP-OCRv5_mobile_rec", "PP-OCRv6_small_rec", "PP-OCRv6_tiny_rec")


def _wheel_model(name: str) -> Path:
    embedded = _EMBEDDED["onnx"][name]
    (_, inside), = embedded.files
    return package_root(embedded.package) / inside


def _prepared(name: str) -> Path:
    config = run_config(None, {"models.recognition.name": name})
    return Path(str(resolve_models(config.models, "onnxruntime").recognition.dir))


def _inputs(folder: Path) -> list[np.ndarray]:
    """Model inputs made of the sample pages' lines: each line alone, and three lines as one
    batch padded to the widest (as the recognizer feeds them)."""
    detector = TextDetector(_prepared_detector(), runtime_named("onnxruntime").session_settings(1))
    recognizer = TextRecognizer(str(folder), SessionSettings())
    sort, crop = box_tools()
    crops = []
    for name in ("letter_en.png", "通知_zh.png"):
        image = read_image(SAMPLES / name)
        crops += crop(image, sort(detector.detect(image)))
    assert len(crops) > 5
    return [recognizer._batch([c]) for c in crops[:4]] + [recognizer._batch(crops[4:7])]


def _prepared_detector() -> str:
    return str(resolve_models(run_config(None).models, "onnxruntime").detection.dir)


def _gemm_heads(model_file: Path) -> list[onnx.NodeProto]:
    return [node for node in onnx.load(str(model_file)).graph.node if node.op_type == "Gemm"]


@pytest.mark.parametrize("name", FUSED)
def test_a_prepared_recognizer_gives_the_wheels_probabilities_through_one_gemm(name: str) -> None:
    folder = _prepared(name)
    assert len(_gemm_heads(folder / "inference.onnx")) == 1
    assert not _gemm_heads(_wheel_model(name))
    fused = onnxruntime.InferenceSession(str(folder / "inference.onnx"), providers=["CPUExecutionProvider"])
    wheel = onnxruntime.InferenceSession(str(_wheel_model(name)), providers=["CPUExecutionProvider"])
    feed = fused.get_inputs()[0].name
    for batch in _inputs(folder):
        ours, theirs = fused.run(None, {feed: batch})[0], wheel.run(None, {feed: batch})[0]
        assert ours.shape == theirs.shape and ours.shape[0] == batch.shape[0]
        assert np.array_equal(ours.argmax(axis=-1), theirs.argmax(axis=-1))
        # Bit for bit on this machine's kernels; rounding is allowed, a changed head is not.
        assert float(np.abs(ours - theirs).max()) <= 1e-6


def test_a_model_that_does_not_end_in_that_head_is_left_as_it_is(tmp_path: Path) -> None:
    detector = Path(_prepared_detector()) / "inference.onnx"
    classifier = package_root("rapidocr_onnxruntime") / "models" / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    for source in (detector, classifier):  # a detector; a classifier's Softmax over a 2-D output
        copy = tmp_path / source.name
        shutil.copyfile(source, copy)
        assert fuse_ctc_head(copy) is False
        assert copy.read_bytes() == source.read_bytes()


def test_a_head_whose_product_is_read_elsewhere_is_left_as_it_is(tmp_path: Path) -> None:
    model = onnx.load(str(_wheel_model("PP-OCRv6_tiny_rec")))
    matmul = next(node for node in reversed(model.graph.node) if node.op_type == "MatMul")
    model.graph.node.append(onnx.helper.make_node("Identity", [matmul.output[0]], ["logits_too"]))
    copy = tmp_path / "logits_read_twice.onnx"
    onnx.save(model, str(copy))
    before = copy.read_bytes()
    assert fuse_ctc_head(copy) is False and copy.read_bytes() == before
