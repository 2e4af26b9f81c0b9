"""The memory a run holds: the peak, over the run, of the proportional set size (PSS) summed over
this process and all its children (the worker pool, a forkserver, a Dask cluster).

PSS counts a page shared by N processes as 1/N in each, so the sum is what the process tree
really holds: summed RSS counts the shared libraries and the shared read-only pages once per
worker. The OS reports PSS on Linux; elsewhere RSS stands in and the figure says so.

Reading PSS costs the kernel a walk of every page table (about 10 ms for a worker with its models
loaded: read every 0.1 s over a 2-worker tree, 6% of the run's CPU), so RSS is sampled every
`interval` and PSS is read only when `PssGate` says so: when the tree's RSS reaches a new high (of
the whole run: a tree whose pages come and go below its highest RSS is not read again and again)
at least `HIGH_GAP_SECONDS` after the last read (a tree growing by steady steps, as workers load
their first pages, is read twice a second, not on every sample: 22 reads of a 14 s bench run fell
to 14), or `PSS_SECONDS` after the last read. The tree's RSS is its PSS plus the pages its
processes share, counted again in each sharer (the libraries and preloaded modules, which stay
put), so the two peak together; a PSS peak without an RSS high can be missed for `PSS_SECONDS`,
never overstated. Finding the tree is itself a scan of every process on the machine (psutil
reads each one's parent), so the tree is looked up again only every `TREE_SECONDS`, at once when
one of its processes has ended, and on an explicit `sample()` (the runner's, once its workers are
up): a process started in between is counted from then.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import psutil

__all__ = ["PeakMemory", "PssGate", "process_memory"]

_GB = 1024**3
PSS_SECONDS = 2.0
HIGH_GAP_SECONDS = 0.5
TREE_SECONDS = 1.0
NEW_HIGH = 1.02  # RSS this much above the highest RSS at a PSS read is worth a PSS read


def process_memory(process: Any) -> tuple[int, str]:
    """(bytes, "PSS") of one `psutil.Process`, or (bytes, "RSS") where the OS has no PSS."""
    try:
        full = process.memory_full_info()
    except psutil.AccessDenied:
        return process.memory_info().rss, "RSS"
    pss = getattr(full, "pss", None)
    return (pss, "PSS") if pss is not None else (full.rss, "RSS")


class PssGate:
    """Whether a tree's RSS, just sampled, is worth a (costly) PSS read."""

    def __init__(self) -> None:
        self._highest_rss_read = 0
        self._read_at = 0.0

    def due(self, rss_total: int, force: bool = False) -> bool:
        now = time.perf_counter()
        since = now - self._read_at
        high = rss_total > self._highest_rss_read * NEW_HIGH and since >= HIGH_GAP_SECONDS
        if force or high or since >= PSS_SECONDS:
            self._highest_rss_read, self._read_at = max(self._highest_rss_read, rss_total), now
            return True
        return False


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
        self._gate = PssGate()
        self._known: list[Any] = []
        self._known_at = -math.inf

    def _tree(self) -> list[Any]:
        try:
            return [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return []

    def _cached_tree(self, fresh: bool = False) -> list[Any]:
        now = time.perf_counter()
        if fresh or now - self._known_at >= TREE_SECONDS:
            self._known, self._known_at = self._tree(), now
        return self._known

    @staticmethod
    def _rss(tree: list[Any]) -> int | None:
        """The tree's summed RSS, or None when one of its processes has ended."""
        try:
            return sum(process.memory_info().rss for process in tree)
        except psutil.Error:
            return None

    def _tick(self) -> None:
        tree = self._cached_tree()
        rss = self._rss(tree)
        if rss is None:  # a process ended: look the tree up again
            tree = self._cached_tree(fresh=True)
            rss = self._rss(tree) or 0
        if self._gate.due(rss):
            self.sample(tree)

    def sample(self, tree: list[Any] | None = None) -> None:
        """Read the memory of the whole tree now (PSS where the OS has it); without `tree`, the
        tree is looked up afresh (call it once new workers are up)."""
        tree = self._cached_tree(fresh=True) if tree is None else tree
        if not tree:
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
            self._tick()

    def start(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

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
