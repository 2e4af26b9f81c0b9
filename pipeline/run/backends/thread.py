"""`thread`: a thread pool with one engine per thread; shows what the GIL costs."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor

from pipeline.run.backends.base import ExecutorBackend
from pipeline.run.tasks import init_worker

__all__ = ["ThreadBackend"]


class ThreadBackend(ExecutorBackend):
    name = "thread"

    def make_executor(self) -> Executor:
        # per_thread: PaddleOCR engines are not thread-safe, so each thread builds its own.
        return ThreadPoolExecutor(max_workers=self.workers, initializer=init_worker,
                                  initargs=(self.config, self.models, True))
