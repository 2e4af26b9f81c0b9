"""Where worker tasks run: one backend per module, all behind `Backend` (`base.py`), and one
registry that `run --backend` and `bench --modes` take their choices from.

- `serial`: in the calling thread, no pool.
- `thread`: a thread pool, one engine per thread.
- `process`: a process pool, one engine per process (the default; `pipeline.run.start_method`).
- `dask`: a Dask cluster, local or remote, one engine per worker process (optional extra).

    >>> backend_names()
    ['serial', 'thread', 'process', 'dask']
"""

from __future__ import annotations

import importlib
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.run.backends.options import BackendOptions

if TYPE_CHECKING:
    from pipeline.ocr.models import ResolvedModels
    from pipeline.run.backends.base import Backend, ExecutorBackend

__all__ = [
    "Backend",
    "BackendOptions",
    "ExecutorBackend",
    "backend_class",
    "backend_names",
    "open_backend",
    "register",
    "worker_count",
]

# The built-in backends by name, each imported when first asked for: the command line lists the
# names before it knows which one a run uses, and importing them all brings in the worker's modules
# (numpy, OpenCV, the engine), which the forkserver (`pipeline.run.start_method`) should be
# importing meanwhile.
_BUILT_IN = {
    "serial": "pipeline.run.backends.serial:SerialBackend",
    "thread": "pipeline.run.backends.thread:ThreadBackend",
    "process": "pipeline.run.backends.process:ProcessBackend",
    "dask": "pipeline.run.backends.dask:DaskBackend",
}
_REGISTRY: dict[str, type[Backend]] = {}
_BASE_NAMES = {"Backend", "ExecutorBackend"}


def __getattr__(name: str) -> Any:
    if name in _BASE_NAMES:
        return getattr(importlib.import_module("pipeline.run.backends.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(cls: type[Backend]) -> type[Backend]:
    """Add a backend under its `name` (tests register fault-injecting ones)."""
    _REGISTRY[cls.name] = cls
    return cls


def backend_names() -> list[str]:
    """The built-in backends first, in the order above; then any registered later."""
    return list(dict.fromkeys([*_BUILT_IN, *_REGISTRY]))


def backend_class(name: str) -> type[Backend]:
    if name not in _REGISTRY and name in _BUILT_IN:
        module, attribute = _BUILT_IN[name].split(":")
        register(getattr(importlib.import_module(module), attribute))
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown backend '{name}' (known: {', '.join(backend_names())})") from None


def worker_count(name: str, config: Config) -> int:
    """How many workers backend `name` runs for `config` (the serial one always exactly one)."""
    return backend_class(name).worker_count(config)


def open_backend(name: str, config: Config, models: ResolvedModels, options: BackendOptions | None = None, *,
                 workers: int | None = None, executor: Executor | None = None) -> Backend:
    """A started backend: every worker has built its engine. `executor`: adopt a warm one (an
    executor backend only; it is not shut down with the backend)."""
    from pipeline.run.backends.base import ExecutorBackend  # the workers' modules: only once a run starts

    cls = backend_class(name)
    count = cls.worker_count(config) if workers is None else workers
    extra: dict[str, Any] = {}
    if executor is not None:
        if not issubclass(cls, ExecutorBackend):
            raise ValueError(f"the {name} backend does not run on a concurrent.futures executor")
        extra["executor"] = executor
    backend = cls(count, config, models, options, **extra)
    backend.start()
    return backend
