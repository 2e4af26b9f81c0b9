"""Fault injection for tests: a process backend whose workers crash or hang on chosen images.

Spawned workers import this module by name (the test's sys.path goes to them), and the
initializer wraps the worker's image read: a file whose name holds `CRASH` kills its worker
with SIGKILL (as a segfault or the OOM killer would), and `HANG` sleeps for an hour.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

import pipeline.worker as worker
from pipeline.config import Config
from pipeline.executors import BACKENDS
from pipeline.models import ResolvedModels
from pipeline.tasks import ImageRef


def _faulty_read(image: ImageRef) -> object:
    name = Path(image.path).name
    if "CRASH" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    if "HANG" in name:
        time.sleep(3600)
    return _real_read(image)


_real_read = worker._read


def init_faulty_worker(config: Config, models: ResolvedModels) -> None:
    worker.init_worker(config, models)
    worker._read = _faulty_read  # type: ignore[assignment]


def _faulty_process(workers: int, config: Config, models: ResolvedModels) -> Executor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_faulty_worker, initargs=(config, models))


def install() -> str:
    BACKENDS["faulty"] = _faulty_process
    return "faulty"
