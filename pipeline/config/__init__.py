"""The configuration: its keys and checks (`schema`) and how it is read (`loading`).

    >>> from pipeline.config import load_config
    >>> load_config(None, {"workers": 2}).workers
    2
"""

from pipeline.config.loading import default_config_source, default_config_text, load_config
from pipeline.config.schema import (
    Config,
    DetectionConfig,
    EngineConfig,
    LayoutConfig,
    LimitsConfig,
    ModelConfig,
    ModelsConfig,
    PdfConfig,
    RecognitionConfig,
    WatchConfig,
    default_workers,
    usable_cores,
)

__all__ = [
    "Config",
    "DetectionConfig",
    "EngineConfig",
    "LayoutConfig",
    "LimitsConfig",
    "ModelConfig",
    "ModelsConfig",
    "PdfConfig",
    "RecognitionConfig",
    "WatchConfig",
    "default_config_source",
    "default_config_text",
    "default_workers",
    "load_config",
    "usable_cores",
]
