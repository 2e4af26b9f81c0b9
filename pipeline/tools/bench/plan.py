"""What to measure: the flags parsed, one config file per variant, and the list of cells.

A *variant* is our config with some dotted keys changed (`--set` for all of ours, `--variant` for
another set beside it), e.g. `--variant ort:engine.runtime=onnxruntime`. The bench does not know
the keys: `run_config` checks them, and each variant's whole config is written to a file that the
cells and the whole-process runs both read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.tools.bench.data import (
    DEFAULT_VARIANT,
    FASTER_PADDLE,
    PADDLEOCR,
    PADDLEOCR_OURS,
    PEERS,
    RAPIDOCR,
    TESSERACT,
    CellSpec,
)

__all__ = [
    "DEFAULT_MODES",
    "PEER_SHAPES",
    "Plan",
    "Variant",
    "parse_modes",
    "parse_overrides",
    "parse_positive_list",
    "parse_variant",
    "parse_yardsticks",
    "plan_cells",
    "write_variant_configs",
]

DEFAULT_MODES = ("serial", "thread", "process")
# (workers, threads) of each peer besides plain PaddleOCR (whose threads are --ref-threads): 2 threads,
# or 2 pages at a time for Tesseract (one single-threaded process per page, as OCRmyPDF runs it).
PEER_SHAPES = {RAPIDOCR: (1, 2), TESSERACT: (2, 1), FASTER_PADDLE: (1, 2)}


def parse_positive_list(text: str, flag: str) -> list[int]:
    """"1,2,4" -> [1, 2, 4]; duplicates dropped, order kept."""
    values: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise ConfigError(f"{flag}: '{part}' is not a whole number") from None
        if value < 1:
            raise ConfigError(f"{flag}: values must be at least 1, got {value}")
        if value not in values:
            values.append(value)
    if not values:
        raise ConfigError(f"{flag}: give at least one value, like 1,2")
    return values


def _known_backends() -> list[str]:
    from pipeline.run.backends import backend_names  # the one registry, as `run --backend`

    return backend_names()


def parse_modes(text: str) -> list[str]:
    """Backends to measure; any registered backend is accepted."""
    known = _known_backends()
    modes: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part not in known:
            raise ConfigError(f"--modes: unknown mode '{part}' (known: {', '.join(known)})")
        if part not in modes:
            modes.append(part)
    if not modes:
        raise ConfigError("--modes: give at least one of " + ", ".join(known))
    return modes


def parse_yardsticks(text: str) -> list[str]:
    """The peers to time ours against ("none" for no peer); PaddleOCR with our settings always runs:
    its text is what ours must equal."""
    if text.strip() == "none":
        return []
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part not in PEERS:
            raise ConfigError(f"--yardsticks: unknown yardstick '{part}' (known: {', '.join(PEERS)}, or none)")
        if part not in chosen:
            chosen.append(part)
    return chosen


def parse_overrides(items: Sequence[str], flag: str = "--set") -> dict[str, Any]:
    """["engine.runtime=onnxruntime", "detection.max_side_limit=2000"] -> {key: value}; values are
    read as YAML scalars (2000 is a number, true a boolean), as in a config file."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{flag}: expected KEY=VALUE, got '{item}'")
        try:
            overrides[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"{flag}: cannot read the value of '{key}': '{raw}'") from None
    return overrides


@dataclass(frozen=True)
class Variant:
    label: str
    overrides: Mapping[str, Any]

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "the config as given"


def parse_variant(text: str) -> Variant:
    """"ort:engine.runtime=onnxruntime,detection.max_side_limit=2000" -> Variant("ort", {...})."""
    label, sep, rest = text.partition(":")
    label = label.strip()
    if not sep or not label or "=" in label:
        raise ConfigError(f"--variant: expected LABEL:KEY=VALUE[,KEY=VALUE...], got '{text}'")
    if label == DEFAULT_VARIANT:
        raise ConfigError(f"--variant: '{DEFAULT_VARIANT}' names the config as given; pick another label")
    return Variant(label, parse_overrides([p for p in rest.split(",") if p.strip()], "--variant"))


def write_variant_configs(config_path: str | None, common: Mapping[str, Any], variants: Sequence[Variant],
                          folder: Path) -> dict[str, Path]:
    """One checked, complete config file per variant (the default one first); a bad key fails here,
    before anything runs."""
    from pipeline.run.settings import run_config

    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for variant in [Variant(DEFAULT_VARIANT, {}), *variants]:
        if variant.label in paths:
            raise ConfigError(f"--variant: the label '{variant.label}' is used twice")
        config = run_config(config_path, {**common, **variant.overrides})
        path = folder / f"{variant.label}.yaml"
        path.write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False), encoding="utf-8")
        paths[variant.label] = path
    return paths


@dataclass(frozen=True)
class Plan:
    workers: Sequence[int]
    threads: Sequence[int]
    modes: Sequence[str]
    reference_threads: Sequence[int]
    repeat: int
    inputs: Sequence[str]
    configs: Mapping[str, Path]  # variant label -> its config file, the default variant first
    reference_engine: str = "paddle"
    yardsticks: Sequence[str] = PEERS  # the peers to time ours against


def plan_cells(plan: Plan) -> list[CellSpec]:
    """Yardsticks first (their text is what ours is compared with), then ours, variant by variant."""
    default_config = str(plan.configs[DEFAULT_VARIANT])

    def cell(mode: str, workers: int, threads: int, config: str, variant: str = DEFAULT_VARIANT) -> CellSpec:
        return CellSpec(mode, workers, threads, plan.repeat, tuple(plan.inputs), config, variant,
                        engine=plan.reference_engine)

    cells = [cell(PADDLEOCR_OURS, 1, 1, str(path), label) for label, path in plan.configs.items()]
    for peer in plan.yardsticks:
        if peer == PADDLEOCR:
            cells += [cell(PADDLEOCR, 1, t, default_config) for t in plan.reference_threads]
        else:
            cells.append(cell(peer, *PEER_SHAPES[peer], default_config))
    for label, path in plan.configs.items():
        for mode in plan.modes:
            for w in ([1] if mode == "serial" else plan.workers):
                cells.extend(cell(mode, w, t, str(path), label) for t in plan.threads)
    return cells
