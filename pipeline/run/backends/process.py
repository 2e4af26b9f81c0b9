"""`process`: a `ProcessPoolExecutor` with the `spawn` start method on every OS (Linux runs test
what Windows does), whose initializer builds one engine per worker process.

Only the pool's public API is used. Each worker tells the parent its pid from its initializer, and
after each task which worker ran it, over a queue it was given at its start; so the parent can
sample, count and kill its own workers. When a worker has run `limits.max_tasks_per_worker` tasks,
or its memory (RSS) has grown past `limits.max_worker_rss_mb`, the parent waits for the tasks in
flight and starts a fresh pool: no public API retires a single worker, and the stdlib's
`max_tasks_per_child` can deadlock on Python 3.11 when a retiring worker was counted idle.

A worker that dies breaks the whole pool (`BrokenExecutor` on every task in flight), and a hung
worker can only be stopped by killing it: either way the pool is torn down and built again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from multiprocessing.queues import SimpleQueue
from typing import Any, Callable, ClassVar, Sequence, TypeVar

import psutil

from pipeline.errors import RunFailed
from pipeline.ocr import large_inputs
from pipeline.run.backends.base import ExecutorBackend, Initializer
from pipeline.run.start_method import context
from pipeline.run.tasks import init_worker

__all__ = ["ProcessBackend", "RecyclingPool"]

T = TypeVar("T")
_MIB = 1024 * 1024
_DRAIN_TIMEOUT = 120.0
_START_TIMEOUT = 60.0  # how long a new pool waits for its workers to announce themselves  # how long a recycle waits for the tasks in flight before it tries again later
_news: SimpleQueue | None = None  # in a worker: where it tells the parent its pid, once and after each task


def _announce(news: SimpleQueue, initializer: Initializer | None, *initargs: Any) -> None:
    """Worker initializer: tell the parent this worker's pid, then build what the real initializer builds."""
    global _news
    _news = news
    news.put((os.getpid(), False))
    if initializer is not None:
        initializer(*initargs)


def _sharing_lock(lock: Any, initializer: Initializer, *initargs: Any) -> None:
    """Worker initializer: take the pool's lock for large detector inputs, then run `initializer`."""
    large_inputs.install(lock)
    initializer(*initargs)


def _counted(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a task, then tell the parent which worker ran it."""
    try:
        return fn(*args, **kwargs)
    finally:
        if _news is not None:
            _news.put((os.getpid(), True))


class RecyclingPool(Executor):
    """A spawn `ProcessPoolExecutor` whose workers are replaced after `max_tasks` tasks each, or, all
    at once at a quiet point, once one of them has grown past `max_rss_mb` MiB of RSS (0: no limit)."""

    def __init__(self, max_workers: int, mp_context: Any = None, initializer: Initializer | None = None,
                 initargs: tuple[Any, ...] = (), *, max_tasks: int = 0, max_rss_mb: int = 0) -> None:
        self._max_workers = max_workers
        self._context = mp_context or multiprocessing.get_context("spawn")
        self._initializer = initializer
        self._initargs = initargs
        self._retire_after = (max_tasks, max_rss_mb * _MIB)
        self._news: SimpleQueue = self._context.SimpleQueue()
        self._workers: dict[int, psutil.Process] = {}
        self._tasks_done: dict[int, int] = {}  # by worker pid, in this pool
        self._submitted = 0  # tasks given to this pool
        self._in_flight: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self, start_all: bool = False) -> ProcessPoolExecutor:
        """A new pool. The stdlib starts a worker per task while none is idle; `start_all` starts them
        all at once with as many no-op tasks and waits for their announcements (made before they build
        their engines), so their memory is watched from the first task on."""
        pool = ProcessPoolExecutor(self._max_workers, self._context, _announce,
                                   (self._news, self._initializer, *self._initargs))
        if not start_all:
            return pool
        starters = [pool.submit(os.getpid) for _ in range(self._max_workers)]
        deadline = time.monotonic() + _START_TIMEOUT
        while len(self._workers) < self._max_workers and time.monotonic() < deadline:
            if any(f.done() and f.exception() is not None for f in starters):
                break  # a broken pool: the caller's first task will say so
            self._read_news()
            time.sleep(0.01)
        return pool

    def _read_news(self) -> None:
        while not self._news.empty():
            pid, after_task = self._news.get()
            if after_task:
                self._tasks_done[pid] = self._tasks_done.get(pid, 0) + 1
            elif pid not in self._workers:
                try:
                    self._workers[pid] = psutil.Process(pid)
                except psutil.NoSuchProcess:
                    pass

    def workers(self) -> list[psutil.Process]:
        """The live worker processes (those that have announced themselves)."""
        self._read_news()
        for pid, process in list(self._workers.items()):
            try:
                alive = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                alive = False
            if not alive:
                del self._workers[pid]
        return list(self._workers.values())

    def _worn_out(self) -> str | None:
        """Why the workers are due for replacement ("tasks" or "memory"), or None."""
        self._read_news()
        max_tasks, max_rss = self._retire_after
        if max_tasks and (any(done >= max_tasks for done in self._tasks_done.values())
                          or self._submitted >= max_tasks * self._max_workers):  # a burst of tasks, none back yet
            return "tasks"
        if max_rss:
            for process in self.workers():
                try:
                    if worker_memory(process.memory_info()) > max_rss:
                        return "memory"
                except psutil.Error:
                    continue
        return None

    def _recycle_if_due(self) -> None:
        if not any(self._retire_after):
            return
        why = self._worn_out()
        if why is None:
            return
        with self._lock:
            in_flight = list(self._in_flight)
        if in_flight and wait(in_flight, timeout=_DRAIN_TIMEOUT).not_done:
            return  # not quiet yet (a hung task is the scheduler's to handle): try at a later submit
        self._pool.shutdown(wait=True)
        self._read_news()
        self._workers.clear()
        self._tasks_done.clear()
        self._submitted = 0
        self._pool = self._new_pool(start_all=why == "memory")

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self._recycle_if_due()
        try:
            future = self._pool.submit(_counted, fn, *args, **kwargs)
        except BrokenExecutor as exc:
            # A worker died since the last result was read: this task fails as the ones in flight
            # did, and the scheduler handles it with them (replaces the pool, hands it out again).
            future = Future()
            future.set_exception(exc)
            return future
        self._submitted += 1
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._done)
        return future

    def kill(self) -> None:
        """Kill the worker processes now, without waiting for their tasks. They are not waited for
        here: reaping them would hide their exit from the pool, whose shutdown joins them."""
        for process in self.workers():
            try:
                process.kill()
            except psutil.Error:
                pass

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def worker_memory(info: Any) -> int:
    """A worker's memory for `limits.max_worker_rss_mb`, from psutil's `memory_info()`: its RSS, or
    on Windows its private bytes, as RSS there is the working set, which the OS trims (a leak moves
    to the page file and would not show)."""
    return int(getattr(info, "private", info.rss))


# ProcessPoolExecutor refuses more than 61 workers on Windows: it waits on its workers' handles with
# WaitForMultipleObjects, which takes at most 64, and keeps 3 of them for itself.
WINDOWS_MAX_WORKERS = 61
_WINDOWS = sys.platform == "win32"


def pool_size(workers: int, windows: bool | None = None) -> int:
    """`workers`, or on Windows at most WINDOWS_MAX_WORKERS, with a warning when that cuts it."""
    if (_WINDOWS if windows is None else windows) and workers > WINDOWS_MAX_WORKERS:
        logging.getLogger(__name__).warning(
            "warning: %d workers asked for, but a process pool on Windows runs at most %d: using %d",
            workers, WINDOWS_MAX_WORKERS, WINDOWS_MAX_WORKERS)
        return WINDOWS_MAX_WORKERS
    return workers


class ProcessBackend(ExecutorBackend):
    name = "process"
    crash_loses_all = True
    initializer: ClassVar[Initializer] = staticmethod(init_worker)  # fault-injection tests swap it

    def __init__(self, workers: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(pool_size(workers), *args, **kwargs)

    def make_executor(self) -> Executor:
        limits = self.config.limits
        start = context(self.config.start_method)
        # Each pool its own lock: one a killed worker held dies with its pool.
        return RecyclingPool(self.workers, start, _sharing_lock,
                             (start.Lock(), type(self).initializer, self.config, self.models),
                             max_tasks=limits.max_tasks_per_worker, max_rss_mb=limits.max_worker_rss_mb)

    def is_crash(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenExecutor)

    @property
    def can_replace_workers(self) -> bool:
        return self._owned

    def _worker_processes(self) -> list[psutil.Process]:
        executor = self._executor
        return executor.workers() if isinstance(executor, RecyclingPool) else []

    def worker_pids(self) -> list[int]:
        return [process.pid for process in self._worker_processes()]

    def _kill(self) -> None:
        if isinstance(self._executor, RecyclingPool):
            self._executor.kill()

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
