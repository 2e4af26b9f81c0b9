"""Kept for callers not yet moved to `pipeline.run.backends` (the benchmark): the old names, each a
thin call into the backend registry. New code uses `pipeline.run.backends` directly."""

from __future__ import annotations

from concurrent.futures import Executor

from pipeline.run.backends import Backend, backend_class, open_backend, worker_count
from pipeline.run.backends.base import ExecutorBackend
from pipeline.config import Config
from pipeline.ocr.models import ResolvedModels

__all__ = ["WorkerPool", "make_executor", "worker_count"]


def make_executor(kind: str, workers: int, config: Config, models: ResolvedModels) -> Executor:
    """A bare executor of an executor backend (serial, thread, process), not yet started."""
    cls = backend_class(kind)
    if not issubclass(cls, ExecutorBackend):
        raise ValueError(f"the {kind} backend has no bare executor: use pipeline.run.backends.open_backend")
    return cls(workers, config, models).make_executor()


def WorkerPool(kind: str, workers: int, config: Config, models: ResolvedModels,  # noqa: N802 (old class name)
               executor: Executor | None = None) -> Backend:
    return open_backend(kind, config, models, workers=workers, executor=executor)
