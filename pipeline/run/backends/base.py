"""The one interface every backend implements, and the shared part of those built on a
`concurrent.futures.Executor`.

A backend builds its workers (each runs the worker initializer: one engine per worker), runs
tasks and hands back `concurrent.futures.Future`s, tells a worker's death from a task's own error,
replaces dead or hung workers where it can, and shuts down. The scheduler talks to nothing else,
so the fault handling in `pipeline.run.scheduler` is the same code for every backend.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from concurrent.futures import BrokenExecutor, Executor, Future
from types import TracebackType
from typing import Any, Callable, ClassVar, Sequence, TypeVar

from pipeline.config import Config
from pipeline.errors import RunFailed
from pipeline.ocr.models import ResolvedModels
from pipeline.ocr.registry import engine_spec
from pipeline.run.backends.options import BackendOptions
from pipeline.run.tasks import ping

__all__ = ["Backend", "BackendOptions", "ExecutorBackend"]

T = TypeVar("T")
Initializer = Callable[..., None]


class Backend(ABC):
    """Where worker tasks run. Build one with `pipeline.run.backends.open_backend`."""

    name: ClassVar[str]
    #: A dead worker takes every task in flight down with it (a broken process pool), rather than
    #: only its own task(s).
    crash_loses_all: ClassVar[bool] = False

    def __init__(self, workers: int, config: Config, models: ResolvedModels,
                 options: BackendOptions | None = None) -> None:
        self.workers = workers
        # The engine's name settled here, in the parent: a worker imports the class it names.
        self.config = dataclasses.replace(config, engine=dataclasses.replace(config.engine, kind=engine_spec(config.engine.kind)))
        self.models = models
        self.options = options or BackendOptions()
        self.restarts = 0  # workers replaced so far (after a death or a hang)

    @classmethod
    def worker_count(cls, config: Config) -> int:
        """How many workers this backend runs for `config` (before `start` may learn better)."""
        return config.resolved_workers()

    @classmethod
    def check(cls) -> None:
        """Raise ConfigError if this backend cannot run here (an optional package is missing)."""

    @abstractmethod
    def start(self) -> None:
        """Build every worker and check that each built its engine; RunFailed if they cannot."""

    @abstractmethod
    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run `fn(*args)` on a worker."""

    def is_crash(self, exc: BaseException) -> bool:
        """Did this task's future fail because its worker died (not because the task raised)?"""
        return False

    @property
    def can_replace_workers(self) -> bool:
        """Can a dead or hung worker be replaced? A thread can be neither killed nor replaced."""
        return False

    def replace_dead_workers(self) -> None:
        """After `is_crash` results: bring the workers back to strength."""
        raise RunFailed(f"a worker died, and the {self.name} backend cannot replace its workers")

    def replace_hung_workers(self, hung: Sequence[Future[Any]]) -> None:
        """Kill and replace the workers running `hung` (and, if `crash_loses_all`, every task)."""
        raise RunFailed(f"a task timed out, and the {self.name} backend cannot replace its workers")

    def crash_detail(self) -> str:
        """Something to say about the last death, like ' (exit code -9)', or ''."""
        return ""

    def worker_pids(self) -> list[int]:
        """Process ids of the workers on this machine (for memory sampling)."""
        return []

    @abstractmethod
    def shutdown(self, *, kill: bool = False) -> None:
        """Stop the workers; `kill`: now, without waiting for their tasks."""

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.shutdown(kill=exc is not None)


class ExecutorBackend(Backend):
    """A backend on a local `concurrent.futures.Executor`. An executor made elsewhere (the
    benchmark keeps warm ones) can be adopted: it is then used, never shut down."""

    def __init__(self, workers: int, config: Config, models: ResolvedModels,
                 options: BackendOptions | None = None, *, executor: Executor | None = None) -> None:
        super().__init__(workers, config, models, options)
        self._owned = executor is None
        self._executor = executor

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            raise RuntimeError(f"the {self.name} backend was not started")
        return self._executor

    @abstractmethod
    def make_executor(self) -> Executor:
        """A new executor whose workers each run the initializer."""

    def start(self) -> None:
        """Start every worker (each builds its engine in parallel) and check that they came up: an
        engine that cannot be built breaks the pool here, once, instead of failing every image."""
        if self._executor is None:
            self._executor = self.make_executor()
        try:
            for future in [self.executor.submit(ping) for _ in range(self.workers)]:
                future.result()
        except BrokenExecutor:
            self.shutdown(kill=True)
            raise RunFailed(
                f"the {self.name} workers failed to start: their OCR engine could not be built "
                "(the traceback above says why)"
            ) from None

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        return self.executor.submit(fn, *args)

    def shutdown(self, *, kill: bool = False) -> None:
        if self._owned and self._executor is not None:
            self._executor.shutdown(wait=not kill, cancel_futures=True)
