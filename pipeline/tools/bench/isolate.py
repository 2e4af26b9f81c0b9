"""Running one child process for the bench (a cell, or a whole-process run): its output appended
to a log, its wall time from start to exit, the peak memory (PSS, or RSS where the OS has no PSS)
and CPU time of its whole tree, a timeout after which the tree is killed, and the processes of the
tree still running when it exits (none may outlive the command: they are waited for a moment,
then killed, and named in the result)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from pipeline.tools.bench.data import CellResult, CellSpec
from pipeline.tools.bench.sampling import MEMORY_KIND, MIB, TreeSampler

__all__ = ["LINGER_SECONDS", "Finished", "ended", "kill_tree", "run_cell_isolated", "run_child"]

LINGER_SECONDS = 5.0  # how long a process left by an exited child may take to go by itself
_KILLED = f"killed after {LINGER_SECONDS:.0f}s"


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the timeout
    seconds: float
    peak_mb: float  # the tree's peak memory, of kind `memory`
    cpu_seconds: float | None = None  # user + system CPU of the whole tree (None where the OS cannot tell)
    memory: str = MEMORY_KIND  # "PSS" or "RSS"
    # Processes of the tree alive when it exited: "name (pid): gone within 0.3s" or "...: killed after 5s";
    # `killed`: those of them still running after LINGER_SECONDS.
    outlived: tuple[str, ...] = ()
    killed: tuple[str, ...] = ()

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def kill_tree(pid: int) -> None:
    """Kill a process we started and every process it started."""
    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_child(command: Sequence[str], log: Path, title: str, timeout: float) -> Finished:
    """Run `command` to its end (or kill it after `timeout` seconds), sampling its tree's memory."""
    with log.open("a", encoding="utf-8") as log_file:
        log_file.write(f"\n===== {title}: {' '.join(command)}\n")
        log_file.flush()
        cpu_before = _children_cpu()
        started = time.perf_counter()
        proc = subprocess.Popen(list(command), stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            with TreeSampler(proc.pid) as sampler:
                try:
                    returncode: int | None = proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    kill_tree(proc.pid)
                    proc.wait()
                    returncode = None
            seconds = time.perf_counter() - started
        except BaseException:
            kill_tree(proc.pid)
            raise
        unwaited_cpu = sampler.unwaited_cpu()
        outlived = _end_leftovers(sampler.still_running())
        if outlived:
            log_file.write(f"===== {title}: processes outlived it: {'; '.join(outlived)}\n")
    cpu_after = _children_cpu()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before + unwaited_cpu
    killed = tuple(what for what in outlived if what.endswith(_KILLED))
    return Finished(returncode, seconds, sampler.peak_total / MIB, cpu, sampler.kind, tuple(outlived), killed)


def _end_leftovers(alive: list[psutil.Process]) -> list[str]:
    """Wait a moment for the processes the child left running (a forkserver, a worker, a cache
    server), kill those still there, and say what became of each."""
    if not alive:
        return []
    names = {proc.pid: _name(proc) for proc in alive}
    started = time.perf_counter()
    gone, still = _wait_ended(alive, LINGER_SECONDS)
    waited = time.perf_counter() - started
    for proc in still:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(still, timeout=10)
    return ([f"{names[p.pid]}: gone within {waited:.1f}s" for p in gone]
            + [f"{names[p.pid]}: {_KILLED}" for p in still])


def ended(proc: psutil.Process) -> bool:
    """Whether `proc` has ended. A zombie has: it waits only to be reaped, by the init process once
    its parent is gone, which here took up to 2 s (psutil.wait_procs counts that time as running)."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _wait_ended(procs: list[psutil.Process], timeout: float) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """(ended, still running) after waiting up to `timeout` seconds for `procs` to end."""
    deadline = time.perf_counter() + timeout
    gone: list[psutil.Process] = []
    alive = list(procs)
    while alive:
        gone += [proc for proc in alive if ended(proc)]
        alive = [proc for proc in alive if proc not in gone]
        if not alive or time.perf_counter() >= deadline:
            break
        time.sleep(0.01)
    return gone, alive


def _name(proc: psutil.Process) -> str:
    try:
        return f"{' '.join(proc.cmdline())[:80] or proc.name()} (pid {proc.pid})"
    except psutil.Error:
        return f"pid {proc.pid}"


def _children_cpu() -> float | None:
    """CPU seconds of every child this process has waited for, each with the children it waited
    for: one child at a time, the difference is that child's whole tree (workers included)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cell_timeout(spec: CellSpec, images: int) -> float:
    return 600.0 + (spec.repeat + 1) * images * 60.0


def run_cell_isolated(spec: CellSpec, images: int, log: Path, workdir: Path) -> CellResult:
    """Measure one cell in a fresh `python -m pipeline.tools.bench.cell` process, so that no engine, no
    OpenMP setting and no memory left by one cell changes the figures of the next."""
    spec_path, result_path = workdir / f"{spec.name}.spec.json", workdir / f"{spec.name}.result.json"
    spec.write(spec_path)
    result_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pipeline.tools.bench.cell", str(spec_path), str(result_path)]
    done = run_child(command, log, spec.name, _cell_timeout(spec, images))
    if done.timed_out:
        return CellResult.failed(spec, "timed out")
    if not result_path.is_file():
        return CellResult.failed(spec, f"cell process exited with code {done.returncode} (see {log})")
    return CellResult.from_json(result_path.read_text(encoding="utf-8"))
