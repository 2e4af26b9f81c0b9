"""Process workers that retire between tasks, so a slow leak in the engine cannot add up over a
million images: after `limits.max_tasks_per_worker` tasks, or once the worker's memory (RSS) has grown
past `limits.max_worker_rss_mb`, a worker sends back its result and exits, and the pool starts a
fresh one (whose initializer builds a new engine).

This uses the protocol `ProcessPoolExecutor(max_tasks_per_child=...)` uses since Python 3.11: a
worker marks its last result with its pid (`exit_pid`) and the pool replaces it. The stdlib only
counts tasks; here the worker decides after each task, with its RSS too. On Python 3.10 the plain
pool is used and these limits do not apply.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import process as _stdlib
from typing import Any, Callable

import psutil

__all__ = ["SUPPORTED", "RetiringProcessPool"]

SUPPORTED = sys.version_info >= (3, 11)
_MIB = 1024 * 1024


def _retiring_worker(call_queue: Any, result_queue: Any, initializer: Callable[..., None] | None,
                     initargs: tuple[Any, ...], max_tasks: int, max_rss: int) -> None:
    """The stdlib's `_process_worker` loop, deciding after each task whether to retire."""
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException:
            _stdlib._base.LOGGER.critical("Exception in initializer:", exc_info=True)
            return  # the parent sees the process gone and marks the pool broken
    me = psutil.Process()
    done = 0
    while True:
        call_item = call_queue.get(block=True)
        if call_item is None:
            result_queue.put(os.getpid())  # a clean shutdown: wake the pool's manager thread
            return
        try:
            result, error = call_item.fn(*call_item.args, **call_item.kwargs), None
        except BaseException as exc:
            result, error = None, _stdlib._ExceptionWithTraceback(exc, exc.__traceback__)
        done += 1
        retire = (max_tasks and done >= max_tasks) or (max_rss and me.memory_info().rss > max_rss)
        exit_pid = os.getpid() if retire else None
        _stdlib._sendback_result(result_queue, call_item.work_id, result=result, exception=error, exit_pid=exit_pid)
        del result, call_item
        if retire:
            return


class RetiringProcessPool(ProcessPoolExecutor):
    """A `ProcessPoolExecutor` whose workers retire after `max_tasks` tasks or past `max_rss_mb`
    MiB of RSS (0 = no such limit)."""

    def __init__(self, *args: Any, max_tasks: int = 0, max_rss_mb: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._retire_after = (max_tasks, max_rss_mb * _MIB)

    def _spawn_process(self) -> None:
        process = self._mp_context.Process(
            target=_retiring_worker,
            args=(self._call_queue, self._result_queue, self._initializer, self._initargs, *self._retire_after),
        )
        process.start()
        self._processes[process.pid] = process

    def _adjust_process_count(self) -> None:
        # The stdlib spawns no replacement while it counts an idle worker, and a retired worker may
        # be the one it counted: keep the pool at full strength instead (but start none when closing).
        if self._shutdown_thread:
            return
        while len(self._processes) < self._max_workers:
            self._spawn_process()
