"""scripts/quantize_recognizer.py (`pipeline.tools.quantize`): an int8 recognizer calibrated on
pages, written as a `local` model folder that a run reads with nearly the text of the float one."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from pipeline.ocr.models import resolve_models
from pipeline.run.runner import run
from pipeline.run.settings import run_config
from pipeline.tools.evaluate import score_image
from pipeline.tools.quantize import KEEP_FLOAT, quantize_recognizer

from conftest import REPO, SAMPLES

PAGES = [SAMPLES / "letter_en.png", SAMPLES / "receipt.png", SAMPLES / "通知_zh.png"]


@pytest.fixture(scope="module")
def int8_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quantize_recognizer(PAGES, tmp_path_factory.mktemp("int8") / "rec", max_lines=60).folder


def _texts(tmp: Path, name: str, overrides: dict[str, object]) -> dict[str, str]:
    out = tmp / f"{name}.jsonl"
    run([SAMPLES], run_config(None, {"workers": 1, "output": str(out), **overrides}), quiet=True)
    return {r["image"]: r["text"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


def test_the_folder_holds_int8_convolutions_after_the_first_ones_kept_float(int8_folder: Path) -> None:
    graph = onnx.load(str(int8_folder / "inference.onnx")).graph
    made_by = {output: node.op_type for node in graph.node for output in node.output}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    int8 = [made_by.get(conv.input[1]) == "DequantizeLinear" for conv in convs]
    assert int8[:KEEP_FLOAT] == [False] * KEEP_FLOAT and all(int8[KEEP_FLOAT:]) and len(convs) > KEEP_FLOAT
    prepared = Path(str(resolve_models(run_config(None).models, "onnxruntime").recognition.dir))
    assert (int8_folder / "inference.yml").read_bytes() == (prepared / "inference.yml").read_bytes()


def test_a_run_on_the_int8_folder_reads_nearly_the_float_text(int8_folder: Path, tmp_path: Path) -> None:
    float_texts = _texts(tmp_path, "float", {})
    local = {"models.recognition.source": "local", "models.recognition.name": "PP-OCRv6_tiny_rec",
             "models.recognition.dir": str(int8_folder)}
    int8_texts = _texts(tmp_path, "int8", local)
    assert int8_texts.keys() == float_texts.keys()
    scores = [score_image(image, 0, int8_texts[image], want) for image, want in float_texts.items()]
    errors, chars = sum(s.char_errors for s in scores), sum(s.chars for s in scores)
    assert chars > 500 and errors / chars <= 0.02, (errors, chars)
    assert sum(int8_texts[image] == want for image, want in float_texts.items()) >= len(float_texts) // 2


def test_pages_without_text_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 255, np.uint8))
    with pytest.raises(ValueError, match="no text lines found on the calibration images"):
        quantize_recognizer([blank], tmp_path / "rec")


def test_the_script_writes_the_config_that_reads_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("quantize_recognizer", REPO / "scripts" / "quantize_recognizer.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    folder = tmp_path / "a folder: with 'quotes'" / "rec"  # the config quotes its path
    config = tmp_path / "int8.yaml"
    assert script.main([str(PAGES[0]), "--out", str(folder), "--max-lines", "5", "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    loaded = run_config(config)
    assert (loaded.models.recognition.source, loaded.models.recognition.dir) == ("local", str(folder.resolve()))
    assert "ranges from 5 text lines" in printed and config.read_text(encoding="utf-8") in printed
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")  # no page to read: skipped with a warning, and then no line is left
    assert script.main([str(empty), "--out", str(tmp_path / "none")]) == 2
    printed = capsys.readouterr().err
    assert "no text lines found" in printed and "skipped empty.png" in printed
