"""Code that runs inside a worker: the pool initializer builds one engine, the task functions use it.

The engine lives in a module-level slot set by the initializer (`ProcessPoolExecutor` throws the
initializer's return value away). The slot is thread-local, so the thread-pool backend gets one
engine per thread, as PaddleOCR engines are not thread-safe.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from pathlib import Path

from pipeline.checksums import MANIFEST, verify_manifest
from pipeline.config import Config
from pipeline.engine import OcrEngine
from pipeline.models import ResolvedModels
from pipeline.errors import one_line
from pipeline.reader import read_image
from pipeline.tasks import DetectResult, ImageRef, RecognizeResult, RecognizeTask
from pipeline.timing import take_stage_times, timed

__all__ = ["current_engine", "init_worker", "ping", "run_detect", "run_recognize"]

_slot = threading.local()  # this worker's engine and read limit


def _exit_with_parent(parent: multiprocessing.process.BaseProcess) -> None:
    """A worker whose parent was killed (SIGKILL, OOM) would wait for tasks forever: its task
    queue's write end lives on in every worker. Watch the parent and leave with it."""

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def init_worker(config: Config, models: ResolvedModels) -> None:
    """Pool initializer: build this worker's engine from plain config data, and warm it up."""
    parent = multiprocessing.parent_process()
    if parent is not None and threading.current_thread() is threading.main_thread():
        # Ctrl-C goes to the whole process group; the parent alone decides how to stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _exit_with_parent(parent)
    for model in (models.detection, models.recognition):
        _check_model_files(model.dir)
    engine = OcrEngine(config, models)
    if config.engine.warmup:
        engine.warm_up()
        take_stage_times()  # warm-up is not part of any image's time
    _slot.engine = engine
    _slot.limits = config.limits


def _check_model_files(folder: str | None) -> None:
    """A prepared model folder (one with a checksum manifest) must still match it when a worker loads it."""
    if folder and (Path(folder) / MANIFEST).is_file():
        problem = verify_manifest(Path(folder))
        if problem is not None:
            raise RuntimeError(f"model files in {folder} changed since they were prepared: {problem}")


def current_engine() -> OcrEngine:
    engine = getattr(_slot, "engine", None)
    if engine is None:
        raise RuntimeError("no OCR engine in this worker: init_worker did not run here")
    return engine


def ping() -> int:
    """A no-op task that proves this worker built its engine."""
    current_engine()
    return os.getpid()


@timed("read")
def _read(image: ImageRef) -> object:
    limits = _slot.limits
    return read_image(Path(image.path), image.page, max_pixels=limits.max_image_pixels,
                      max_bytes=limits.max_file_bytes, max_pages=limits.max_pages)


def run_detect(image: ImageRef, wide: bool = False) -> DetectResult:
    """Read one page and find its text regions; a bad image becomes an error result.
    `wide`: the other workers are idle, so detect with every core's threads."""
    engine = current_engine()
    try:
        pixels = _read(image)
        regions = engine.detect(pixels, wide=wide)  # type: ignore[arg-type]
    except Exception as exc:  # one bad image must not end the run
        return DetectResult(image.index, error=one_line(exc), times=take_stage_times())
    return DetectResult(
        image.index,
        boxes=[box for box, _ in regions],
        crops=[crop for _, crop in regions],
        times=take_stage_times(),
    )


def run_recognize(task: RecognizeTask) -> RecognizeResult:
    """Recognize a chunk of one image's regions."""
    lines = current_engine().recognize(task.crops)
    return RecognizeResult(task.index, task.start, lines, times=take_stage_times())
