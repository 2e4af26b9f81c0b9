"""Where worker tasks run: one backend per module, all behind `Backend` (`base.py`), and one
registry that `run --backend` and `bench --modes` take their choices from.

- `serial`: in the calling thread, no pool.
- `thread`: a thread pool, one engine per thread.
- `process`: a spawn process pool, one engine per process (the default).
- `dask`: a Dask cluster, local or remote, one engine per worker process (optional extra).

    >>> backend_names()
    ['serial', 'thread', 'process', 'dask']
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.ocr.models import ResolvedModels
from pipeline.run.backends.base import Backend, BackendOptions, ExecutorBackend
from pipeline.run.backends.dask import DaskBackend
from pipeline.run.backends.process import ProcessBackend
from pipeline.run.backends.serial import SerialBackend
from pipeline.run.backends.thread import ThreadBackend

__all__ = [
    "Backend",
    "BackendOptions",
    "backend_class",
    "backend_names",
    "open_backend",
    "register",
    "worker_count",
]

_REGISTRY: dict[str, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    """Add a backend under its `name` (tests register fault-injecting ones)."""
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (SerialBackend, ThreadBackend, ProcessBackend, DaskBackend):
    register(_cls)


def backend_names() -> list[str]:
    """The built-in backends first, in the order above; then any registered later."""
    return list(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown backend '{name}' (known: {', '.join(_REGISTRY)})") from None


def worker_count(name: str, config: Config) -> int:
    """How many workers backend `name` runs for `config` (the serial one always exactly one)."""
    return backend_class(name).worker_count(config)


def open_backend(name: str, config: Config, models: ResolvedModels, options: BackendOptions | None = None, *,
                 workers: int | None = None, executor: Executor | None = None) -> Backend:
    """A started backend: every worker has built its engine. `executor`: adopt a warm one (an
    executor backend only; it is not shut down with the backend)."""
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
