"""`process`: a `ProcessPoolExecutor` with the `spawn` start method on every OS (Linux runs test
what Windows does), whose initializer builds one engine per worker process.

Workers retire between tasks past the memory or task-count limits (`pipeline.retire`), and the
pool starts fresh ones. A worker that dies breaks the whole pool (`BrokenExecutor` on every task
in flight), and a hung worker can only be stopped by killing it: either way the pool is torn down
and built again.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from typing import Any, ClassVar, Sequence

from pipeline import retire
from pipeline.run.backends.base import ExecutorBackend, Initializer
from pipeline.errors import RunFailed
from pipeline.run.worker import init_worker

__all__ = ["ProcessBackend"]


class ProcessBackend(ExecutorBackend):
    name = "process"
    crash_loses_all = True
    initializer: ClassVar[Initializer] = staticmethod(init_worker)  # fault-injection tests swap it

    def make_executor(self) -> Executor:
        options: dict[str, Any] = dict(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=type(self).initializer, initargs=(self.config, self.models))
        if not retire.SUPPORTED:
            return ProcessPoolExecutor(**options)
        # Workers retire between tasks past limits.max_worker_rss_mb or limits.max_tasks_per_worker.
        limits = self.config.limits
        return retire.RetiringProcessPool(**options, max_tasks=limits.max_tasks_per_worker,
                                          max_rss_mb=limits.max_worker_rss_mb)

    def is_crash(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenExecutor)

    @property
    def can_replace_workers(self) -> bool:
        return self._owned

    def _processes(self) -> list[Any]:
        # ProcessPoolExecutor keeps its processes private; there is no public way to kill them.
        return list((getattr(self._executor, "_processes", None) or {}).values())

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self._processes() if p.pid is not None]

    def crash_detail(self) -> str:
        codes = [p.exitcode for p in self._processes() if p.exitcode not in (None, 0)]
        return f" (exit code {codes[0]})" if codes else ""

    def _kill(self) -> None:
        """Kill the worker processes now, without waiting for their tasks."""
        processes = self._processes()
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=10)

    def _rebuild(self, why: str) -> None:
        if not self.can_replace_workers:
            raise RunFailed(f"{why}, and a process pool made elsewhere (adopted) cannot be rebuilt")
        self._kill()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None
        self.restarts += 1
        self.start()

    def replace_dead_workers(self) -> None:
        self._rebuild("a worker process died")

    def replace_hung_workers(self, hung: Sequence[Future[Any]]) -> None:
        self._rebuild("a task timed out")  # no way to kill one worker of the pool: all go

    def shutdown(self, *, kill: bool = False) -> None:
        if kill and self._owned:
            self._kill()
        super().shutdown(kill=kill)
