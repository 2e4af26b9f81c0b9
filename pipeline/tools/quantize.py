"""An int8 copy of an embedded recognizer, calibrated on the user's own pages: a `local` model folder.

ONNX Runtime's static quantization (QDQ, int8 weights per channel, uint8 activations) of the
recognizer's convolutions, which are two thirds of its time. The first `keep_float` convolutions,
which see the crop at full resolution and tell a space after a period from none, stay float (they
are cheap: the later ones have more channels); with all of them quantized, 16 of 280 bench lines
read otherwise than the float model, most of them losing such a space. The activation ranges come
from the text lines our detector finds on the calibration images, so those should be pages of the
kind the folder will read. Not the default: the text changes (README, "int8 recognition").

`onnx` (the `quantize` extra) is imported here only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import ImageReadError
from pipeline.inputs.discover import discover
from pipeline.inputs.pages import page_pixels
from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.models import ResolvedModels, resolve_models
from pipeline.ocr.predictors import TextRecognizer
from pipeline.ocr.registry import EngineSettings
from pipeline.ocr.runtimes import SessionSettings
from pipeline.run.settings import run_config

__all__ = ["KEEP_FLOAT", "MAX_LINES", "MODEL", "Quantized", "quantize_recognizer"]

MODEL = "PP-OCRv6_tiny_rec"
MAX_LINES = 400  # text lines the ranges are taken from, at most

# PP-OCRv6 tiny's first 16 of 37 convolutions. With 8, 4 of 280 bench lines read otherwise than
# the float model (2 of them right where it was wrong; 4 kept float: 7 lines, none: 16), and the
# real set lost 4 more characters than with 16, at the same speed (README, "int8 recognition").
KEEP_FLOAT = 16
_OPSET = 13  # per-channel DequantizeLinear needs its axis attribute (PP-OCRv6 ships opset 11)


@dataclass(frozen=True)
class Quantized:
    folder: Path
    lines: int  # line crops the ranges were taken from
    convolutions: int  # quantized
    kept_float: int
    skipped: tuple[str, ...] = ()  # calibration files left out (unreadable, a symlink out of the inputs), and why


def _line_inputs(inputs: Sequence[str | Path], max_lines: int, models: ResolvedModels,
                 config: Any) -> tuple[list[np.ndarray], list[str]]:
    """The recognizer's inputs for the text lines our detector finds on `inputs`, one line each,
    and the files that could not be read (a bad file is skipped, as in a run)."""
    engine = OcrEngine(EngineSettings.of(config), models)
    recognizer = TextRecognizer(str(models.recognition.dir), SessionSettings())
    found, lines = discover(inputs), []
    skipped = list(found.warnings)
    for image in found.images:
        try:
            pixels = page_pixels(Path(image.path), image.page, config.pdf.dpi, config.limits.max_image_pixels,
                                 config.limits.max_pages)
        except ImageReadError as exc:
            skipped.append(f"skipped {image.rel}: {exc}")
            continue
        lines += [recognizer.model_input([crop]) for _box, crop in engine.detect(pixels)]
        if len(lines) >= max_lines:
            break
    if not lines:
        unread = "".join(f"; {problem}" for problem in skipped)
        raise ValueError(f"no text lines found on the calibration images: give pages with text{unread}")
    return lines[:max_lines], skipped


class _Lines:
    """The line inputs as ONNX Runtime's calibration reads them (its CalibrationDataReader's get_next)."""

    def __init__(self, name: str, lines: list[np.ndarray]) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = iter([{name: line} for line in lines])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize_recognizer(inputs: Sequence[str | Path], out: Path, *, model: str = MODEL,
                        keep_float: int = KEEP_FLOAT, max_lines: int = MAX_LINES) -> Quantized:
    """Write to `out` a model folder (inference.onnx, inference.yml) with an int8 copy of the embedded
    recognizer `model`, its ranges taken from at most `max_lines` lines found on `inputs`."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    config = run_config(None, {"models.recognition.name": model})
    models = resolve_models(config.models, config.engine.runtime)  # checks the cache's checksums: once
    source = Path(str(models.recognition.dir))
    lines, skipped = _line_inputs(inputs, max_lines, models, config)
    graph = onnx.load(str(source / "inference.onnx"))
    with tempfile.TemporaryDirectory(prefix="pipeline-quantize-") as scratch:
        converted, prepared = Path(scratch) / "opset.onnx", Path(scratch) / "prepared.onnx"
        opset = max([_OPSET] + [entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx")])
        onnx.save(version_converter.convert_version(graph, opset), str(converted))
        quant_pre_process(str(converted), str(prepared), skip_symbolic_shape=True)
        convolutions = [node.name for node in onnx.load(str(prepared)).graph.node if node.op_type == "Conv"]
        out.mkdir(parents=True, exist_ok=True)
        reader = _Lines(graph.graph.input[0].name, lines)
        quantize_static(str(prepared), str(out / "inference.onnx"), reader,  # type: ignore[arg-type]
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"],
                        nodes_to_exclude=convolutions[:keep_float])
    shutil.copyfile(source / "inference.yml", out / "inference.yml")
    return Quantized(out, len(lines), max(0, len(convolutions) - keep_float), min(keep_float, len(convolutions)),
                     tuple(skipped))
