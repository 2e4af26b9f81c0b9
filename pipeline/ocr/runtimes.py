"""The inference runtimes an engine can run its PaddleOCR models on, and what each needs.

PaddleOCR 3.x (through PaddleX) runs the same model on Paddle Inference or on ONNX Runtime
(`engine="onnxruntime"`); the OpenVINO execution provider of the `onnxruntime-openvino` wheel runs
the ONNX models too. Per core, ONNX Runtime is markedly faster than Paddle Inference with oneDNN on
the PP-OCRv4 mobile models (docs/design.md), and a worker that never imports paddle starts faster and
holds less memory. Paddle Inference stays as the reference runtime.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

__all__ = ["RUNTIMES", "Runtime", "SessionSettings", "runtime_named"]


@dataclass(frozen=True)
class SessionSettings:
    """How the ONNX Runtime session of one model is made (`Runtime.session_settings`)."""

    threads: int = 1
    provider: str = "CPUExecutionProvider"
    provider_options: dict[str, str] = field(default_factory=dict)

    def session(self, model: Path, *, varying_shapes: bool = False) -> Any:
        """A session of `model`. `varying_shapes` (pages: every input of another size): no memory
        pattern, which is planned and kept per input shape. Measured on v6 tiny detection, one
        thread, pages of 1248x992 and 1408x1984 in turns (onnxruntime 1.32): peak RSS 646 -> 385
        MiB at the same CPU. The arena stays: off, it cost 50-80% more detection CPU and peaked at
        660 MiB; given back after each run (arena shrinkage), it cost 35% more detection CPU and
        left the peak as it was (395 MiB), which the arena holds once reached: the detection cap
        (`detection.max_side_limit`) bounds it. Only a large input's run gives it back
        (`pipeline.ocr.large_inputs`), as two workers each holding one page's peak were the run's."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle pool threads would spin after each run: with 2 threads that doubled recognition CPU
        # (4.5 -> 8.2 s) and slowed the other workers; with one thread there is no pool to spin.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if varying_shapes:
            options.enable_mem_pattern = False
        return onnxruntime.InferenceSession(str(model), options, providers=[self.provider],
                                            provider_options=[self.provider_options])


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
            from importlib import metadata  # here: a worker never checks, and the import costs it 0.03 s

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
