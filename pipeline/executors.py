"""The backends that run worker tasks, all behind `concurrent.futures.Executor`.

- `process`: a `ProcessPoolExecutor` with the `spawn` start method on every OS (Linux runs test
  what Windows does), whose initializer builds one engine per worker process.
- `thread`: a thread pool with one engine per thread; shows what the GIL costs.
- `serial`: runs each task in the calling thread when it is submitted; no pool at all.

New backends register with `@backend("name")` and take the same arguments.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from pipeline import retire
from pipeline.errors import RunFailed
from pipeline.config import Config
from pipeline.models import ResolvedModels
from pipeline.worker import init_worker, ping

__all__ = ["BACKENDS", "SerialExecutor", "WorkerPool", "backend", "make_executor", "worker_count"]



T = TypeVar("T")
ExecutorFactory = Callable[[int, Config, ResolvedModels], Executor]
BACKENDS: dict[str, ExecutorFactory] = {}


def backend(name: str) -> Callable[[ExecutorFactory], ExecutorFactory]:
    def register(factory: ExecutorFactory) -> ExecutorFactory:
        BACKENDS[name] = factory
        return factory

    return register


class SerialExecutor(Executor):
    """Runs every task at once in the caller's thread; futures come back already done."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as a pool would
            future.set_exception(exc)
        return future


@backend("serial")
def _serial(workers: int, config: Config, models: ResolvedModels) -> Executor:
    init_worker(config, models)
    return SerialExecutor()


@backend("thread")
def _thread(workers: int, config: Config, models: ResolvedModels) -> Executor:
    return ThreadPoolExecutor(max_workers=workers, initializer=init_worker, initargs=(config, models))


@backend("process")
def _process(workers: int, config: Config, models: ResolvedModels) -> Executor:
    options = dict(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
                   initargs=(config, models))
    if not retire.SUPPORTED:
        return ProcessPoolExecutor(**options)  # type: ignore[arg-type]
    # Workers retire between tasks past limits.max_worker_rss_mb or limits.max_tasks_per_worker.
    return retire.RetiringProcessPool(**options, max_tasks=config.limits.max_tasks_per_worker,  # type: ignore[arg-type]
                                      max_rss_mb=config.limits.max_worker_rss_mb)


def worker_count(kind: str, config: Config) -> int:
    """How many workers a backend runs: the serial one always exactly one."""
    return 1 if kind == "serial" else config.resolved_workers()


def make_executor(kind: str, workers: int, config: Config, models: ResolvedModels) -> Executor:
    try:
        factory = BACKENDS[kind]
    except KeyError:
        raise ValueError(f"unknown backend '{kind}' (known: {', '.join(sorted(BACKENDS))})") from None
    return factory(workers, config, models)


class WorkerPool:
    """An executor that can be torn down and built again: after a worker died (the pool is broken)
    or hung (its processes must be killed). Only the process backend can do either; for the others
    `restart` raises, as a thread can be neither killed nor replaced."""

    def __init__(self, kind: str, workers: int, config: Config, models: ResolvedModels,
                 executor: Executor | None = None) -> None:
        self.kind = kind
        self.workers = workers
        self._config = config
        self._models = models
        self._owned = executor is None
        self.executor = executor if executor is not None else make_executor(kind, workers, config, models)
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        """Start every worker (each builds its engine in parallel) and check that they came up: an
        engine that cannot be built breaks the pool here, once, instead of failing every image."""
        try:
            for future in [self.executor.submit(ping) for _ in range(self.workers)]:
                future.result()
        except BrokenExecutor:
            self.close(kill=True)
            raise RunFailed(
                f"the {self.kind} workers failed to start: their OCR engine could not be built "
                "(the traceback above says why)"
            ) from None

    @property
    def can_restart(self) -> bool:
        return self._owned and isinstance(self.executor, ProcessPoolExecutor)

    def exit_codes(self) -> list[int | None]:
        """Exit codes of the worker processes (None while running), where the pool still knows them."""
        processes = getattr(self.executor, "_processes", None) or {}
        return [p.exitcode for p in list(processes.values())]

    def kill(self) -> None:
        """Kill the worker processes now, without waiting for their tasks."""
        processes = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            if process.is_alive():
                process.kill()
        for process in list(processes.values()):
            process.join(timeout=10)

    def restart(self) -> None:
        if not self.can_restart:
            raise RuntimeError(f"the {self.kind} backend cannot replace a dead or hung worker")
        self.kill()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = make_executor(self.kind, self.workers, self._config, self._models)
        self.restarts += 1
        self._start()

    def close(self, *, kill: bool = False) -> None:
        if kill:
            self.kill()
        if self._owned:
            self.executor.shutdown(wait=not kill, cancel_futures=True)
