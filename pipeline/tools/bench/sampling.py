"""Sampling a process tree while it works: peak memory (PSS where the OS reports it, else RSS:
`pipeline.run.memory`) per process and in total, the cores it kept
busy, and the cores every other program on the machine kept busy meanwhile (noise)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import psutil

from pipeline.run.memory import process_memory

__all__ = ["MIB", "TreeSampler"]

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.2


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class TreeSampler:
    """Samples the memory (PSS) and CPU time of process `pid` (default: this one) and of all its children
    every `interval` seconds, from a background thread, between `__enter__` and `__exit__`."""

    def __init__(self, pid: int | None = None, interval: float = SAMPLE_SECONDS) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self.peak_total = 0
        self.memory_kind = "PSS"  # or RSS where the OS has no PSS
        self.peak_by_pid: dict[int, int] = {}
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._started = 0.0
        self._busy_start = 0.0
        self.seconds = 0.0
        self.own_cores = 0.0  # average cores used by the tree
        self.other_cores = 0.0  # average cores used by everything else on the machine

    def _tree(self) -> list[Any]:
        try:
            return [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self) -> None:
        total = 0
        for proc in self._tree():
            try:
                with proc.oneshot():
                    rss, self.memory_kind = process_memory(proc)
                    times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            self.peak_by_pid[proc.pid] = max(self.peak_by_pid.get(proc.pid, 0), rss)
            cpu = times.user + times.system
            self._cpu_first.setdefault(proc.pid, cpu)
            self._cpu_last[proc.pid] = cpu
        self.peak_total = max(self.peak_total, total)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self._started, self._busy_start = time.perf_counter(), _machine_busy()
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.seconds = max(time.perf_counter() - self._started, 1e-9)
        own = sum(self._cpu_last[pid] - first for pid, first in self._cpu_first.items())
        busy = _machine_busy() - self._busy_start
        self.own_cores = own / self.seconds
        self.other_cores = max(0.0, busy - own) / self.seconds

    def peak_of(self, pids: Sequence[int]) -> int:
        return max((self.peak_by_pid.get(pid, 0) for pid in pids), default=0)
