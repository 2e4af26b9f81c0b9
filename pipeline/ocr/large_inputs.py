"""Large detector inputs: one at a time across a pool's workers, their memory given back after.

ONNX Runtime's arena keeps what a run took: after one 300-dpi A4 page at a 2,000 px cap a
worker holds some 430 MiB (240 MiB once the arena is given back), and two workers detecting such
pages at once peaked at 1.07 GiB over the tree on the bench pages. So a detector input above
`detection.large_input_pixels` waits for the pool's one lock (`install`, from the process
backend's initializer) and runs with arena shrinkage, which hands the arena's free chunks back
when the run ends (at the cost of growing it again on the next large page: such an A4 page's
detection took 0.87 s of CPU with it, 0.62 s without). At the default 1,600 px cap an A4 page is
1.8 million pixels, under the default limit.
Smaller inputs run as before; workers without a shared lock (serial, thread and Dask backends)
give the memory back but do not wait.

A lock held by a worker that was killed mid-run would stop every large page after it: a worker
waits at most `WAIT_SECONDS` and then runs anyway, and a rebuilt pool gets a fresh lock.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["WAIT_SECONDS", "install", "large_run"]

WAIT_SECONDS = 60.0
_lock: Any = None  # this worker's share of the pool's lock (a multiprocessing.Lock), or None


def install(lock: Any) -> None:
    """Give this worker process the pool's lock for large inputs (None: no lock)."""
    global _lock
    _lock = lock


def _shrinking_run_options() -> Any:
    import onnxruntime

    options = onnxruntime.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


@contextmanager
def large_run(pixels: int, limit: int) -> Iterator[Any]:
    """The run options of a detector run over an input of `pixels` (None: as usual). Above
    `limit` (0: no limit), the run holds the pool's lock, if there is one, and gives its memory back."""
    if not limit or pixels <= limit:
        yield None
        return
    held = _lock is not None and _lock.acquire(timeout=WAIT_SECONDS)
    try:
        yield _shrinking_run_options()
    finally:
        if held:
            _lock.release()
