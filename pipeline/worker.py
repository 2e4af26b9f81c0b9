"""Code that runs inside a worker: the pool initializer builds one engine, the task functions use it.

The engine lives in a module-level slot set by the initializer (`ProcessPoolExecutor` throws the
initializer's return value away). The slot is per process: a Dask worker builds its engine in its
plugin's setup and runs tasks on other threads. The thread-pool backend asks for one engine per
thread instead (`per_thread=True`), as PaddleOCR engines are not thread-safe.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.engine import OcrEngine
from pipeline.models import ResolvedModels
from pipeline.errors import one_line
from pipeline.reader import decode_image, read_image
from pipeline.tasks import DetectResult, ImageRef, RecognizeResult, RecognizeTask
from pipeline.timing import take_stage_times, timed

__all__ = ["current_engine", "init_worker", "ping", "run_detect", "run_recognize"]

@dataclass(frozen=True)
class _Slot:
    engine: OcrEngine
    max_pixels: int
    settings: tuple[Config, ResolvedModels]  # what the engine was built from


_thread_slot = threading.local()  # .slot: the thread backend's engine of this thread
_process_slot: _Slot | None = None  # every other backend: one engine per worker process
_building = threading.Lock()  # held while the process engine is built: never build it twice


def _exit_with_parent(parent: multiprocessing.process.BaseProcess) -> None:
    """A worker whose parent was killed (SIGKILL, OOM) would wait for tasks forever: its task
    queue's write end lives on in every worker. Watch the parent and leave with it."""

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def init_worker(config: Config, models: ResolvedModels, per_thread: bool = False) -> None:
    """Pool initializer: build this worker's engine from plain config data, and warm it up.

    Per process unless `per_thread`; a process that already holds an engine built from the same
    settings keeps it (a Dask plugin set up again on a warm worker)."""
    global _process_slot
    parent = multiprocessing.parent_process()
    if parent is not None and threading.current_thread() is threading.main_thread():
        # Ctrl-C goes to the whole process group; the parent alone decides how to stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _exit_with_parent(parent)
    if per_thread:
        _thread_slot.slot = _build(config, models)
        return
    with _building:
        if _process_slot is None or _process_slot.settings != (config, models):
            _process_slot = _build(config, models)


def _build(config: Config, models: ResolvedModels) -> _Slot:
    engine = OcrEngine(config, models)
    if config.engine.warmup:
        engine.warm_up()
        take_stage_times()  # warm-up is not part of any image's time
    return _Slot(engine, config.limits.max_image_pixels, (config, models))


def _current_slot() -> _Slot:
    slot: _Slot | None = getattr(_thread_slot, "slot", None) or _process_slot
    if slot is None:
        with _building:  # a Dask plugin may still be building it on another thread
            slot = _process_slot
    if slot is None:
        raise RuntimeError("no OCR engine in this worker: init_worker did not run here")
    return slot


def current_engine() -> OcrEngine:
    return _current_slot().engine


def ping() -> int:
    """A no-op task that proves this worker built its engine."""
    current_engine()
    return os.getpid()


@timed("read")
def _read(image: ImageRef, data: bytes | None = None) -> object:
    max_pixels = _current_slot().max_pixels
    if data is not None:  # shipped with the task (--ship-bytes): the worker may not see the path
        return decode_image(data, image.page, max_pixels=max_pixels)
    return read_image(Path(image.path), image.page, max_pixels=max_pixels)


def run_detect(image: ImageRef, wide: bool = False, data: bytes | None = None) -> DetectResult:
    """Read one page (or decode `data`, its file's bytes) and find its text regions; a bad image
    becomes an error result. `wide`: the other workers are idle, so detect with every core's threads."""
    engine = current_engine()
    try:
        pixels = _read(image, data)
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
