"""The keys of the configuration and their types, and the checks every value passes.

The dataclasses declare the keys but no values: every default lives in the packaged
`pipeline/config/default.yaml` (`pipeline.config.loading`). Names owned by another part (an output
format, an inference runtime) are checked by that part's registry where the run is set up
(`pipeline.run.settings`), so this module imports nothing of the pipeline but its errors.

The config crosses to worker processes as plain data (a frozen dataclass of str/int/float/bool),
so it is picklable by construction.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass
from typing import Any, Mapping

from pipeline.errors import ConfigError

__all__ = [
    "Config",
    "DetectionConfig",
    "EngineConfig",
    "LayoutConfig",
    "LimitsConfig",
    "PdfConfig",
    "WatchConfig",
    "ModelConfig",
    "ModelsConfig",
    "RecognitionConfig",
    "build_config",
    "default_workers",
    "usable_cores",
]

# What each key means, and its default value: pipeline/config/default.yaml.


@dataclass(frozen=True)
class ModelConfig:
    source: str
    name: str
    dir: str | None


@dataclass(frozen=True)
class ModelsConfig:
    detection: ModelConfig
    recognition: ModelConfig


@dataclass(frozen=True)
class DetectionConfig:
    limit_side_len: int
    limit_type: str
    max_side_limit: int
    thresh: float | None  # None: the model's own (its inference.yml)
    box_thresh: float | None
    unclip_ratio: float | None
    crop_unclip_ratio: float | None  # for images padded before detection (pad_below_side)
    pad_below_side: int
    large_input_pixels: int  # larger detector inputs: one at a time across the workers (pipeline.ocr.large_inputs)
    use_idle_cores: bool
    page_orientation: bool
    read_whole_crops: bool


@dataclass(frozen=True)
class RecognitionConfig:
    batch_size: int
    score_threshold: float
    max_regions_per_task: int
    width_bucket: int
    angle_classifier: bool
    fold_fullwidth: bool  # full-width Latin letters and digits (ＡＢＣ１２３) become ASCII in every output


@dataclass(frozen=True)
class LayoutConfig:
    reading_order: bool


@dataclass(frozen=True)
class EngineConfig:
    kind: str  # a registered engine or module:Class (pipeline.ocr.registry)
    runtime: str
    device: str
    enable_mkldnn: bool
    mkldnn_cache_capacity: int
    warmup: bool


@dataclass(frozen=True)
class PdfConfig:
    dpi: int
    text_layer: str


@dataclass(frozen=True)
class WatchConfig:
    settle_seconds: float
    poll_seconds: float


@dataclass(frozen=True)
class LimitsConfig:
    max_image_pixels: int
    task_timeout: float
    max_retries: int
    max_file_bytes: int
    max_pages: int
    max_worker_rss_mb: int
    max_tasks_per_worker: int


@dataclass(frozen=True)
class Config:
    workers: int
    threads_per_worker: int
    start_method: str  # how process workers start: auto | spawn | forkserver (pipeline.run.start_method)
    format: str
    output: str | None  # empty: the format's default name, filled in by `pipeline.run.settings`
    follow_symlinks: bool  # follow input symlinks wherever they point, not only inside an input
    models: ModelsConfig
    detection: DetectionConfig
    recognition: RecognitionConfig
    layout: LayoutConfig
    engine: EngineConfig
    pdf: PdfConfig
    watch: WatchConfig
    limits: LimitsConfig

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
    "start_method": ("auto", "spawn", "forkserver"),
    "detection.limit_type": ("min", "max"),
    "engine.device": ("cpu", "gpu"),
    "pdf.text_layer": ("ocr", "keep", "skip"),
    "models.detection.source": ("embedded", "local", "official"),
    "models.recognition.source": ("embedded", "local", "official"),
}
_NON_NEGATIVE = {
    "workers",
    "limits.max_retries",
    "limits.max_worker_rss_mb",
    "limits.max_tasks_per_worker",
    "detection.pad_below_side",
    "detection.large_input_pixels",
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
    for f in dataclasses.fields(cls):  # in declaration order, so errors come in a stable order
        if f.name not in data:
            raise ConfigError(f"config key '{prefix}{f.name}' is missing (the packaged default.yaml sets it)")
        values[f.name] = _convert(hints[f.name], data[f.name], f"{prefix}{f.name}")
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


# Upper bounds: a value past these is a typo, not a setting (100000 workers would fork-bomb the machine,
# a timeout of years is no timeout). Every other number is bounded by _MOST.
_MAXIMUM: dict[str, float] = {
    "workers": 256,
    "threads_per_worker": 256,
    "limits.task_timeout": 7 * 24 * 3600.0,
    "limits.max_retries": 100,
    "limits.max_pages": 1_000_000,
    "limits.max_worker_rss_mb": 1 << 24,
    "recognition.max_regions_per_task": 100_000,
    "recognition.batch_size": 4096,
    "watch.settle_seconds": 24 * 3600.0,  # a wait past what a timer can hold would overflow
    "watch.poll_seconds": 24 * 3600.0,
}
_MOST = 1 << 53  # numbers beyond this are not exact as floats, nor meaningful as a setting


def _check_range(key: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"config key '{key}' must be a finite number, got {value!r}")
    most = _MAXIMUM.get(key, _MOST)
    if value > most:
        raise ConfigError(f"config key '{key}' must be at most {most:g}, got {value!r}")
    if key.endswith(("thresh", "threshold")):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"config key '{key}' must be between 0 and 1, got {value!r}")
    elif key in _NON_NEGATIVE:
        if value < 0:
            raise ConfigError(f"config key '{key}' must be >= 0, got {value!r}")
    elif value <= 0:
        raise ConfigError(f"config key '{key}' must be > 0, got {value!r}")


def build_config(data: Mapping[str, Any]) -> Config:
    """The validated `Config` of a merged mapping of keys (raises ConfigError naming a bad key)."""
    return _build(Config, data, "")
