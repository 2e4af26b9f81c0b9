"""The memory a run holds: the peak, over the run, of the proportional set size (PSS) summed over
this process and all its children (the worker pool, a forkserver, a Dask cluster).

PSS counts a page shared by N processes as 1/N in each, so the sum is what the process tree
really holds: summed RSS counts the shared libraries and the shared read-only pages once per
worker. The OS reports PSS on Linux; elsewhere RSS stands in and the figure says so.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psutil

__all__ = ["PeakMemory", "process_memory"]

_GB = 1024**3


def process_memory(process: Any) -> tuple[int, str]:
    """(bytes, "PSS") of one `psutil.Process`, or (bytes, "RSS") where the OS has no PSS."""
    try:
        full = process.memory_full_info()
    except psutil.AccessDenied:
        return process.memory_info().rss, "RSS"
    pss = getattr(full, "pss", None)
    return (pss, "PSS") if pss is not None else (full.rss, "RSS")


class PeakMemory:
    """Samples the memory of this process and its children every `interval` seconds, from a daemon
    thread, between `start` and `stop` (or as a context manager); `peak` is the largest sum seen."""

    def __init__(self, interval: float = 0.1) -> None:
        self._root = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="peak-memory", daemon=True)
        self.peak = 0
        self.kind = "PSS"
        self.processes = 0  # the most processes seen in one sample

    def sample(self) -> None:
        try:
            tree = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for process in tree:
            try:
                size, self.kind = process_memory(process)
            except psutil.Error:  # ended meanwhile
                continue
            total += size
        self.peak = max(self.peak, total)
        self.processes = max(self.processes, len(tree))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def start(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> PeakMemory:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> str:
        return f"peak memory {self.peak / _GB:.2f} GB {self.kind} over {self.processes} processes"


if __name__ == "__main__":  # a quick look: python -m pipeline.run.memory
    with PeakMemory() as memory:
        time.sleep(0.3)
    print(memory.describe())
