"""`serial`: every task runs in the calling thread when it is submitted; no pool at all."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any, Callable, TypeVar

from pipeline.config import Config
from pipeline.run.backends.base import ExecutorBackend
from pipeline.run.tasks import init_worker

__all__ = ["SerialBackend", "SerialExecutor"]

T = TypeVar("T")


class SerialExecutor(Executor):
    """Runs every task at once in the caller's thread; futures come back already done."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as a pool would
            future.set_exception(exc)
        return future


class SerialBackend(ExecutorBackend):
    name = "serial"

    @classmethod
    def worker_count(cls, config: Config) -> int:
        return 1

    def make_executor(self) -> Executor:
        init_worker(self.config, self.models)
        return SerialExecutor()
