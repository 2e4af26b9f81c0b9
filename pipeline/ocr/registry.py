"""Which OCR engine a worker builds: the engine interface, and a small registry of engines by name.

`engine.kind` in the config names a registered engine (`paddleocr`, the default) or an importable
`module:Class`. The parent settles the name to a `module:Class` before its workers start (with
`engine_spec`), so a spawned worker or a Dask worker imports the same class. Tests register their
fake engine and their fault-injecting engines through this same door.

    >>> engine_spec("paddleocr")
    'pipeline.ocr.engine:OcrEngine'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

from pipeline.config import Config, DetectionConfig, EngineConfig, RecognitionConfig
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from pipeline.core.types import Box, Recognized
    from pipeline.ocr.models import ResolvedModels

__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "EngineSettings", "engine_spec", "load_engine", "register_engine"]

DEFAULT_ENGINE = "paddleocr"
ENGINES: dict[str, str] = {DEFAULT_ENGINE: "pipeline.ocr.engine:OcrEngine"}  # name -> module:Class


@dataclass(frozen=True)
class EngineSettings:
    """What an engine is built from: its own sections of the config and its thread counts."""

    detection: DetectionConfig
    recognition: RecognitionConfig
    engine: EngineConfig
    threads: int  # engine threads of this worker
    all_threads: int  # threads of all the workers together (a page alone may use them all)

    @classmethod
    def of(cls, config: Config) -> EngineSettings:
        return cls(config.detection, config.recognition, config.engine, config.threads_per_worker,
                   config.resolved_workers() * config.threads_per_worker)


class Engine(Protocol):
    """What a worker needs from an OCR engine (`pipeline.ocr.engine.OcrEngine`, or a test's fake),
    built as `Class(settings, models)` from `EngineSettings` and the resolved models."""

    def warm_up(self) -> None: ...

    def detect(self, image: np.ndarray, wide: bool = False) -> list[tuple[Box, np.ndarray]]:
        """Text regions in reading order, each as (box, BGR crop)."""
        ...

    def recognize(self, crops: list[np.ndarray]) -> list[Recognized]:
        """Text and confidence of each crop, in the order given."""
        ...


def register_engine(name: str, spec: str) -> None:
    """Make `engine.kind: name` build `spec` (`module:Class`)."""
    if ":" not in spec:
        raise ValueError(f"an engine is registered as module:Class, got {spec!r}")
    ENGINES[name] = spec


def engine_spec(kind: str) -> str:
    """The `module:Class` that `engine.kind: kind` builds (ConfigError for an unknown name)."""
    if kind in ENGINES:
        return ENGINES[kind]
    if ":" in kind:
        return kind
    raise ConfigError(f"config key 'engine.kind' must be one of {', '.join(ENGINES)} or module:Class, got {kind!r}")


def load_engine(spec: str) -> Callable[[EngineSettings, ResolvedModels], Engine]:
    """The engine class named by `spec` (a registered name or `module:Class`), imported."""
    module, _, name = engine_spec(spec).partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
