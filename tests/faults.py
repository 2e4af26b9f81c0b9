"""Fault injection for tests: process and Dask backends whose workers crash or hang on chosen images.

Spawned workers import this module by name (the test's sys.path goes to them), and the
initializer wraps the worker's image read: a file whose name holds `CRASH` kills its worker
with SIGKILL (as a segfault or the OOM killer would), and `HANG` sleeps for an hour.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil

import pipeline.run.worker as worker
from pipeline.config import Config
from pipeline.core.types import ImageRef
from pipeline.ocr.models import ResolvedModels
from pipeline.run.backends import register
from pipeline.run.backends.dask import DaskBackend
from pipeline.run.backends.process import ProcessBackend


def _faulty_read(image: ImageRef, data: bytes | None = None) -> object:
    name = Path(image.path).name
    if "CRASH" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    if "HANG" in name:
        time.sleep(3600)
    return _real_read(image, data)


_real_read = worker._read


def init_faulty_worker(config: Config, models: ResolvedModels) -> None:
    worker.init_worker(config, models)
    worker._read = _faulty_read  # type: ignore[assignment]


class FaultyProcess(ProcessBackend):
    name = "faulty"
    initializer = staticmethod(init_faulty_worker)


class FaultyDask(DaskBackend):
    name = "faulty-dask"
    initializer = staticmethod(init_faulty_worker)


def install(base: str = "process") -> str:
    """Register the faulty twin of backend `base`; returns its name."""
    cls = {"process": FaultyProcess, "dask": FaultyDask}[base]
    register(cls)
    return cls.name


def _is_worker(process: psutil.Process) -> bool:
    """A pool worker: spawned (its command line says so), or forked by a forkserver (a child of the
    server, whose command line it shares)."""
    try:
        command = " ".join(process.cmdline())
        parent = process.parent()
        return "spawn_main" in command or (
            "multiprocessing.forkserver" in command and parent is not None
            and "multiprocessing.forkserver" in " ".join(parent.cmdline()))
    except psutil.Error:
        return False


def kill_a_worker_once_output_starts(out: Path) -> tuple[threading.Thread, list[int]]:
    """Start a thread that, once the first record is in `out`, SIGKILLs one worker process
    (as the OOM killer would); the list gets the pid it killed. Join the thread after the run."""
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            if out.exists() and out.stat().st_size > 0:
                workers = [p for p in psutil.Process().children(recursive=True) if _is_worker(p)]
                if workers:
                    killed.append(workers[0].pid)
                    workers[0].send_signal(signal.SIGKILL)
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    return thread, killed
