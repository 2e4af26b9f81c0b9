"""Fault injection for tests: process and Dask backends whose workers crash or hang on chosen images.

Spawned workers import this module by name (the test's sys.path goes to them), and the
initializer wraps the worker's image read: a file whose name holds `CRASH` kills its worker
with SIGKILL (as a segfault or the OOM killer would), and `HANG` sleeps for an hour.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pipeline.worker as worker
from pipeline.backends import register
from pipeline.backends.dask import DaskBackend
from pipeline.backends.process import ProcessBackend
from pipeline.config import Config
from pipeline.models import ResolvedModels
from pipeline.tasks import ImageRef


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
