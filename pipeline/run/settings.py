"""The config a run uses: read by `pipeline.config`, then settled by the parts that own its names.

The output format and the inference runtime are checked by their own registries here, where a run
is set up, rather than inside the config schema (which knows nothing of formats or runtimes); an
empty `output` becomes the format's default name.

    >>> run_config(None, {"format": "txt"}).output
    'results'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from pipeline.config import Config, load_config
from pipeline.errors import ConfigError
from pipeline.ocr.runtimes import runtime_named
from pipeline.output.formats import FORMATS

__all__ = ["run_config", "settle"]


def settle(config: Config) -> Config:
    """`config` with its format and runtime names checked and its output named."""
    if config.format not in FORMATS:
        raise ConfigError(f"config key 'format' must be one of {', '.join(FORMATS)}, got {config.format!r}")
    runtime_named(config.engine.runtime)  # raises ConfigError naming engine.runtime
    if config.output is None:
        config = dataclasses.replace(config, output=FORMATS[config.format].default_output)
    return config


def run_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """`pipeline.config.load_config(path, overrides)`, settled for a run."""
    return settle(load_config(path, overrides))
