"""The inference runtimes an engine can run its PaddleOCR models on, and what each needs.

PaddleOCR 3.x (through PaddleX) runs the same model on Paddle Inference or on ONNX Runtime
(`engine="onnxruntime"`); the OpenVINO execution provider of the `onnxruntime-openvino` wheel runs
the ONNX models too. Per core, ONNX Runtime is markedly faster than Paddle Inference with oneDNN on
the PP-OCRv4 mobile models (docs/design.md), and a worker that never imports paddle starts faster and
holds less memory. Paddle Inference stays as the reference runtime.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pipeline.errors import ConfigError
from pipeline.ocr.predictors import SessionSettings

__all__ = ["RUNTIMES", "Runtime", "runtime_named"]


@dataclass(frozen=True)
class Runtime:
    name: str
    model_format: str  # "paddle" (inference.pdmodel + .pdiparams) or "onnx" (inference.onnx)
    provider: str | None = None  # the ONNX Runtime execution provider
    distribution: str | None = None  # the wheel that brings it, for the error message

    def check_available(self) -> None:
        """Raise ConfigError (in the parent, before any worker starts) when the runtime is missing."""
        if self.name == "paddle":
            if importlib.util.find_spec("paddle") is None:
                raise ConfigError("engine.runtime 'paddle' needs paddlepaddle: pip install paddlepaddle==3.2.2")
            return
        if importlib.util.find_spec("onnxruntime") is None:
            raise ConfigError(f"engine.runtime '{self.name}' needs the onnxruntime module: pip install {self.distribution}")
        if self.distribution != "onnxruntime":
            # onnxruntime and onnxruntime-openvino both install the `onnxruntime` module.
            try:
                metadata.version(str(self.distribution))
            except metadata.PackageNotFoundError:
                raise ConfigError(
                    f"engine.runtime '{self.name}' needs {self.distribution} in place of onnxruntime "
                    f"(both install the onnxruntime module): pip uninstall onnxruntime && pip install {self.distribution}"
                ) from None

    def predictor_kwargs(self, threads: int, device: str, enable_mkldnn: bool, mkldnn_cache_capacity: int) -> dict[str, Any]:
        """Keyword arguments for `paddleocr.TextDetection` / `TextRecognition` on this runtime with
        `threads` intra-op threads."""
        if self.model_format == "paddle":
            return {
                "device": device,
                "enable_mkldnn": enable_mkldnn,
                "mkldnn_cache_capacity": mkldnn_cache_capacity,
                "cpu_threads": threads,
            }
        engine_config: dict[str, Any] = {
            "intra_op_num_threads": threads,
            "inter_op_num_threads": 1,
            "providers": [self.provider],
        }
        if self.provider == "OpenVINOExecutionProvider":
            engine_config["provider_options"] = {"device_type": "CPU", "num_of_threads": str(threads)}
        # device="cpu" given explicitly: otherwise PaddleX imports paddle just to ask for a default device.
        return {"engine": "onnxruntime", "engine_config": engine_config, "device": "cpu"}


    def session_settings(self, threads: int) -> SessionSettings:
        """How our own ONNX Runtime predictors (`pipeline.ocr.predictors`) make their sessions."""
        if self.provider is None:
            raise ValueError(f"engine.runtime '{self.name}' does not run ONNX models")
        options = {"device_type": "CPU", "num_of_threads": str(threads)} if self.provider == "OpenVINOExecutionProvider" else {}
        return SessionSettings(threads, self.provider, options)


RUNTIMES: dict[str, Runtime] = {
    runtime.name: runtime
    for runtime in (
        Runtime("paddle", "paddle", distribution="paddlepaddle"),
        Runtime("onnxruntime", "onnx", "CPUExecutionProvider", "onnxruntime"),
        Runtime("openvino", "onnx", "OpenVINOExecutionProvider", "onnxruntime-openvino"),
    )
}


def runtime_named(name: str) -> Runtime:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise ConfigError(f"config key 'engine.runtime' must be one of {', '.join(RUNTIMES)}, got {name!r}") from None
