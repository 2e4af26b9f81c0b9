"""PaddleX modules imported apart from the `paddlex` package, for `pipeline.ocr.predictors`.

`import paddleocr` (which imports `paddlex`) costs each worker about 2 s and 125 MiB before its
first page: paddlex's package `__init__` loads every model family it knows, with pandas,
matplotlib, the GenAI client and more. A text predictor needs only a few small modules (the
detection and recognition processors, box sorting and cropping) that import numpy, cv2, pyclipper
and shapely. `paddlex_part` imports such a module under its own name while its parent packages
are registered empty (their `__init__` code skipped).

Three of PaddleX's own helpers those modules import cost more than the modules themselves (0.09 s
of 0.16 s, and 112 modules where 78 remain): `paddlex.utils.deps` reads paddlex's package metadata
and parses every requirement in it with `packaging` when imported, `paddlex.utils.logging` brings
colorlog, and `paddlex.inference.utils.benchmark` brings prettytable, csv and uuid. For the import
they are stood in for by what the processors use of them, with the same effect in a worker:

- `is_dep_available(dist)`: whether the module of that distribution can be imported (PaddleX asks
  about opencv-contrib-python, pyclipper and shapely only, and imports them where it says yes);
  `class_requires_deps` and `function_requires_deps`, which check the same when an object is made,
  leave the object as it is.
- the log functions write to the "paddlex" logger, as PaddleX's own do.
- `benchmark.timeit` leaves what it decorates as it is, as PaddleX's does unless
  PADDLE_PDX_INFER_BENCHMARK is set (then the real module is imported).

Should a PaddleX release import more from them, the stand-ins are dropped and the real modules
imported. Afterwards the empty packages and the stand-ins are taken out of `sys.modules` again, so
that a later `import paddlex` runs the real package and finds the same processor modules.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
import types
from pathlib import Path
from typing import Any, Callable, TypeVar

__all__ = ["paddlex_part"]

_T = TypeVar("_T")
_IMPORTING = threading.Lock()  # one apart import at a time: thread-backend engines are built at once
_MODULE_OF = {"opencv-contrib-python": "cv2", "opencv-python": "cv2", "opencv-python-headless": "cv2",
              "scikit-image": "skimage"}  # where a distribution's import name is not its own


def _empty_package(name: str, folder: Path) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    module.__package__ = name
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__spec__.submodule_search_locations = [str(folder)]
    return module


def _unchanged(*_deps: str) -> Callable[[_T], _T]:
    return lambda thing: thing


def _is_dep_available(dep: str, check_version: bool = False) -> bool:
    return importlib.util.find_spec(_MODULE_OF.get(dep, dep.replace("-", "_"))) is not None


class _Benchmark:
    """PaddleX's disabled `Benchmark`: its decorators return what they decorate."""

    def timeit(self, thing: _T) -> _T:
        return thing

    def timeit_with_options(self, *_args: Any, **_kwargs: Any) -> Callable[[_T], _T]:
        return lambda thing: thing


def _stand_ins() -> dict[str, types.ModuleType]:
    log = logging.getLogger("paddlex")
    contents: dict[str, dict[str, Any]] = {
        "paddlex.utils.deps": {"is_dep_available": _is_dep_available, "class_requires_deps": _unchanged,
                               "function_requires_deps": _unchanged},
        "paddlex.utils.logging": {"debug": log.debug, "info": log.info, "warning": log.warning,
                                  "warning_once": log.warning, "error": log.error, "critical": log.critical,
                                  "exception": log.exception},
    }
    if not os.environ.get("PADDLE_PDX_INFER_BENCHMARK") and not os.environ.get("PADDLE_PDX_PIPELINE_BENCHMARK"):
        contents["paddlex.inference.utils.benchmark"] = {"benchmark": _Benchmark()}
    modules = {}
    for name, attributes in contents.items():
        module = types.ModuleType(name, "stands in for PaddleX's module while its processors are imported")
        module.__dict__.update(attributes)
        modules[name] = module
    return modules


def paddlex_part(name: str) -> types.ModuleType:
    """The paddlex module `name` (dotted), imported without running its parent packages' `__init__`."""
    with _IMPORTING:
        return sys.modules.get(name) or _import_apart(name)


def _import_apart(name: str) -> types.ModuleType:
    try:
        return _import_with(name, stand_ins=True)
    except ImportError:  # a PaddleX that wants more of those helpers: the real ones
        return _import_with(name, stand_ins=False)


def _import_with(name: str, stand_ins: bool) -> types.ModuleType:
    spec = importlib.util.find_spec("paddlex")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the OCR engine needs the 'paddlex' package: pip install paddlex==3.7.2")
    root = Path(next(iter(spec.submodule_search_locations)))
    # The helpers stand in only while the real package is not loaded (then its own are).
    helpers = _stand_ins() if stand_ins and "paddlex" not in sys.modules else {}
    added: list[str] = []
    before = set(sys.modules)
    for module_name in (name, *helpers):
        parts = module_name.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            if package not in sys.modules:
                sys.modules[package] = _empty_package(package, root.joinpath(*parts[1:depth]))
                added.append(package)
    for helper, module in helpers.items():
        if helper not in sys.modules:
            sys.modules[helper] = module
            added.append(helper)
    try:
        return importlib.import_module(name)
    except ImportError:
        for module_name in set(sys.modules) - before:  # no paddlex module half-imported stays behind
            if module_name.startswith("paddlex."):
                sys.modules.pop(module_name, None)
        raise
    finally:
        for package in added:  # a later `import paddlex` runs the real package code and helpers
            sys.modules.pop(package, None)
