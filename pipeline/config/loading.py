"""Reading the configuration: the packaged default config, a user's YAML file over it, and
command-line overrides over both.

Every default lives in one place, the packaged `pipeline/config/default.yaml` (read with
`importlib.resources`, so it is there however the package is installed). A user's file names only
what it changes.
"""

from __future__ import annotations

import codecs
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from pipeline.config.schema import Config, build_config
from pipeline.errors import ConfigError

__all__ = ["default_config_source", "default_config_text", "load_config"]

_DEFAULT_CONFIG = "default.yaml"  # package data of `pipeline.config`


def _default_config() -> Any:
    return resources.files("pipeline.config").joinpath(_DEFAULT_CONFIG)


def default_config_text() -> str:
    """The packaged default config, comments included: every knob with its default value."""
    return _default_config().read_text(encoding="utf-8")


def default_config_source() -> str:
    """Where the packaged default config is read from (for messages)."""
    return str(_default_config())



def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key '{dotted}': '{part}' is not a section")
        node = child
    node[parts[-1]] = value


# A byte-order mark names the encoding: Windows PowerShell 5.1 writes `ocr-pipeline config > my.yaml`
# as UTF-16 with one, Notepad may add one to UTF-8. Without one a config is UTF-8.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_config(data: bytes, source: str) -> str:
    """The text of a config file's bytes: UTF-8, or UTF-8 / UTF-16 with a byte-order mark;
    ConfigError (exit 2) naming `source` for anything else."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {source} is not {encoding.upper()} text (byte {exc.start}: {exc.reason}); "
                          f"save it as UTF-8") from None


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"config file {source} must hold a mapping of keys")
    return loaded or {}


def _merged(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`, section by section; an empty section (None) changes nothing."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(out.get(key), dict) and (value is None or isinstance(value, dict)):
            out[key] = _merged(out[key], value or {})
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """The packaged default config, with the YAML file at `path` (if any) over it and dotted-key
    `overrides` over both (None values are ignored). The names of formats and runtimes, and the
    default output name, are settled by `pipeline.run.settings.run_config`.

    >>> load_config(None, {"workers": 2, "recognition.score_threshold": 0.5}).workers
    2
    """
    data = _read_yaml(default_config_text(), default_config_source())
    if path is not None:
        try:
            text = decode_config(Path(path).read_bytes(), str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        data = _merged(data, _read_yaml(text, str(path)))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, dotted, value)
    return build_config(data)
