"""Sampling a process tree while it works: peak memory per process and in total, the cores it kept
busy, the cores every other program on the machine kept busy meanwhile (noise), and every process
the tree started (so that one left running after its root exits is found).

Memory is PSS (proportional set size: a page shared by n processes counts 1/n in each, so the sum
over the tree counts it once) where the OS reports it (Linux), else RSS; `MEMORY_KIND` says which.
Reading PSS costs the kernel a walk of the page tables (about 10 ms for a process with PaddlePaddle
loaded), so RSS is sampled every `interval` and PSS is read only when `pipeline.run.memory.PssGate`
says so (the rule a run's own summary figure follows).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import psutil

from pipeline.run.memory import PssGate

__all__ = ["MEMORY_KIND", "MIB", "TreeSampler", "has_pss"]

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.2


def has_pss() -> bool:
    """Whether this OS reports PSS (Linux: /proc/PID/smaps_rollup or smaps)."""
    try:
        return hasattr(psutil.Process().memory_full_info(), "pss")
    except (psutil.Error, OSError, NotImplementedError):
        return False


MEMORY_KIND = "PSS" if has_pss() else "RSS"


def _present(proc: psutil.Process) -> bool:
    """Not yet waited for: running, or exited and a zombie."""
    try:
        return proc.is_running()
    except psutil.Error:
        return False


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class TreeSampler:
    """Samples the memory and CPU time of process `pid` (default: this one) and of all its children
    every `interval` seconds, from a background thread, between `__enter__` and `__exit__`."""

    def __init__(self, pid: int | None = None, interval: float = SAMPLE_SECONDS) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._pss = MEMORY_KIND == "PSS"
        self.kind = MEMORY_KIND
        self.peak_total = 0  # bytes: the largest sum over the tree (PSS, or RSS where there is none)
        self.peak_by_pid: dict[int, int] = {}
        self.seen: dict[int, psutil.Process] = {}  # every process of the tree ever sampled, root aside
        self.parent_of: dict[int, int] = {}  # their parents' pids, as first seen
        self._gate = PssGate()
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._started = 0.0
        self._busy_start = 0.0
        self.seconds = 0.0
        self.own_cores = 0.0  # average cores used by the tree
        self.other_cores = 0.0  # average cores used by everything else on the machine

    def _tree(self) -> list[Any]:
        try:
            children = self._root.children(recursive=True)
        except psutil.Error:
            return []
        for child in children:
            if child.pid not in self.seen:
                try:
                    self.parent_of[child.pid] = child.ppid()
                except psutil.Error:
                    continue
                self.seen[child.pid] = child
        return [self._root, *children]

    def sample(self, force_pss: bool = False) -> None:
        rss_of: dict[int, int] = {}
        procs = []
        for proc in self._tree():
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            rss_of[proc.pid] = rss
            procs.append(proc)
            cpu = times.user + times.system
            self._cpu_first.setdefault(proc.pid, cpu)
            self._cpu_last[proc.pid] = cpu
        if self._pss and self._gate.due(sum(rss_of.values()), force_pss):
            self._record(self._pss_of(procs))
        elif not self._pss:
            self._record(rss_of)

    @staticmethod
    def _pss_of(procs: Sequence[Any]) -> dict[int, int]:
        found: dict[int, int] = {}
        for proc in procs:
            try:
                found[proc.pid] = proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def _record(self, memory: dict[int, int]) -> None:
        for pid, value in memory.items():
            self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0), value)
        self.peak_total = max(self.peak_total, sum(memory.values()))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self._started, self._busy_start = time.perf_counter(), _machine_busy()
        self.sample(force_pss=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample(force_pss=True)
        self.seconds = max(time.perf_counter() - self._started, 1e-9)
        own = sum(self._cpu_last[pid] - first for pid, first in self._cpu_first.items())
        busy = _machine_busy() - self._busy_start
        self.own_cores = own / self.seconds
        self.other_cores = max(0.0, busy - own) / self.seconds

    def peak_of(self, pids: Sequence[int]) -> int:
        return max((self.peak_by_pid.get(pid, 0) for pid in pids), default=0)

    def unwaited_cpu(self) -> float:
        """CPU seconds, as last seen, of the root's children it never waited for (there still,
        running or exited, once it has ended: a forkserver, a resource tracker) and of everything
        under them (a forkserver's workers). A process's CPU time reaches its parent only when that
        parent waits for it: these are not in the root's children's time. Call it as soon as the
        root has ended: a child the init process reaps first is missed."""
        root = self._root.pid
        unwaited = {pid for pid, proc in self.seen.items() if self.parent_of.get(pid) == root and _present(proc)}
        under = set(unwaited)
        while True:
            more = {pid for pid, parent in self.parent_of.items() if parent in under} - under
            if not more:
                break
            under |= more
        total = 0.0
        for pid in under:
            cpu = self._cpu_last.get(pid, 0.0)
            try:
                times = self.seen[pid].cpu_times()  # a zombie's too
                cpu = max(cpu, times.user + times.system)
            except psutil.Error:
                pass
            total += cpu
        return total

    def still_running(self) -> list[psutil.Process]:
        """Processes of the tree (root aside) that are still alive: the same pid and start time."""
        alive = []
        for proc in self.seen.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.Error:
                continue
        return alive
