"""Code that runs inside a worker: the pool initializer builds one engine, the task functions use it.

The engine lives in a module-level slot set by the initializer (`ProcessPoolExecutor` throws the
initializer's return value away). The slot is per process: a Dask worker builds its engine in its
plugin's setup and runs tasks on other threads. The thread-pool backend asks for one engine per
thread instead (`per_thread=True`), as PaddleOCR engines are not thread-safe.

The engine is the class `engine.kind` names (`pipeline.ocr.registry`: PaddleOCR's, unless a test
registers its fake engine there); the parent has settled that name to a `module:Class` that every
worker imports.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.config import Config, LimitsConfig, PdfConfig
from pipeline.core.timing import take_stage_times, timed
from pipeline.core.types import Box, DetectResult, ImageRef, Recognized, RecognizeResult, RecognizeTask
from pipeline.errors import one_line
from pipeline.inputs.filetypes import is_pdf
from pipeline.inputs.pdf import check_file_size, embedded_lines, render_page
from pipeline.inputs.reader import decode_image, read_image
from pipeline.ocr.checksums import MANIFEST, verify_manifest
from pipeline.ocr.line_angle import LineAngleClassifier
from pipeline.ocr.models import ResolvedModels
from pipeline.ocr.orientation import MIN_SIDE, PageOrientation
from pipeline.ocr.registry import Engine, EngineSettings, engine_spec, load_engine

__all__ = ["current_engine", "init_worker", "ping", "run_detect", "run_recognize"]


@dataclass(frozen=True)
class _Slot:
    """This worker's engine, its optional passes, and read settings."""

    engine: Engine
    line_angle: LineAngleClassifier | None
    orientation: PageOrientation | None
    limits: LimitsConfig  # read limits
    read_whole_crops: bool
    pdf: PdfConfig
    settings: tuple[Config, ResolvedModels]  # what it was built from


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
    config = replace(config, engine=replace(config.engine, kind=engine_spec(config.engine.kind)))  # one name per engine
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
    for model in (models.detection, models.recognition):
        _check_model_files(model.dir)
    engine = load_engine(config.engine.kind)(EngineSettings.of(config), models)
    line_angle = LineAngleClassifier(config.threads_per_worker) if config.recognition.angle_classifier else None
    # The page orientation pass asks the line angle classifier too: one session serves both.
    orientation = PageOrientation(config.threads_per_worker, line_angle) if config.detection.page_orientation else None
    if config.engine.warmup:
        # The line angle and page orientation models load on first use (a worker may never need
        # them) and are small: only the engine is warmed.
        engine.warm_up()
        take_stage_times()  # warm-up is not part of any image's time
    return _Slot(engine, line_angle, orientation, config.limits, config.detection.read_whole_crops,
                 config.pdf, (config, models))


def _check_model_files(folder: str | None) -> None:
    """A prepared model folder (one with a checksum manifest) must still match it when a worker loads it."""
    if folder and (Path(folder) / MANIFEST).is_file():
        problem = verify_manifest(Path(folder))
        if problem is not None:
            raise RuntimeError(f"model files in {folder} changed since they were prepared: {problem}")


def _current_slot() -> _Slot:
    slot: _Slot | None = getattr(_thread_slot, "slot", None) or _process_slot
    if slot is None:
        with _building:  # a Dask plugin may still be building it on another thread
            slot = _process_slot
    if slot is None:
        raise RuntimeError("no OCR engine in this worker: init_worker did not run here")
    return slot


def current_engine() -> Engine:
    return _current_slot().engine


def ping() -> int:
    """A no-op task that proves this worker built its engine."""
    current_engine()
    return os.getpid()


@timed("read")
def _read(image: ImageRef, data: bytes | None = None) -> object:
    slot = _current_slot()
    limits = slot.limits
    if is_pdf(image.path):  # rendered from its path, also with --ship-bytes
        return render_page(Path(image.path), image.page, slot.pdf.dpi, limits.max_image_pixels, limits.max_pages)
    if data is not None:  # shipped with the task (--ship-bytes): the worker may not see the path
        return decode_image(data, image.page, max_pixels=limits.max_image_pixels, max_pages=limits.max_pages)
    return read_image(Path(image.path), image.page, max_pixels=limits.max_image_pixels,
                      max_bytes=limits.max_file_bytes, max_pages=limits.max_pages)


@timed("read")
def _text_layer(image: ImageRef) -> DetectResult | None:
    """For a PDF page with a text layer and `pdf.text_layer` keep or skip: its result, without OCR."""
    slot = _current_slot()
    pdf, limits = slot.pdf, slot.limits
    if not is_pdf(image.path) or pdf.text_layer == "ocr":
        return None
    lines = embedded_lines(Path(image.path), image.page, pdf.dpi, limits.max_image_pixels, limits.max_pages)
    if not lines:
        return None  # a scanned page: OCR it
    if pdf.text_layer == "skip":
        return DetectResult(image.index, text_from="skipped", embedded=[])
    return DetectResult(image.index, text_from="embedded", embedded=lines)


def _whole(pixels: np.ndarray) -> tuple[Box, np.ndarray]:
    """The whole image as one region: a crop of a line or word in which detection found nothing
    (DB misses text that fills the image edge to edge) is still read, as RapidOCR reads crops."""
    height, width = pixels.shape[:2]
    return [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], pixels


def run_detect(image: ImageRef, wide: bool = False, data: bytes | None = None, recognize: bool = False) -> DetectResult:
    """Read one page (or decode `data`, its file's bytes) and find its text regions; a bad image
    becomes an error result. `wide`: the other workers are idle, so detect with every core's threads.
    `recognize`: read the regions here too, and send back their lines instead of their crops."""
    slot = _current_slot()
    engine, orientation = slot.engine, slot.orientation
    try:
        if is_pdf(image.path):  # PDFium opens a file of any size: limits.max_file_bytes holds here too
            check_file_size(Path(image.path), slot.limits.max_file_bytes)
        kept = _text_layer(image)
        if kept is not None:
            return replace(kept, times=take_stage_times())
        pixels = _read(image, data)
        regions = engine.detect(pixels, wide=wide)  # type: ignore[arg-type]
        decision = None
        if orientation is not None:
            # The page as it came is detected first: its lines are half of the evidence. A page
            # found turned is detected again upright (same pixels as an upright page, same boxes).
            pixels, decision = orientation.upright(pixels, regions)  # type: ignore[arg-type]
            if decision is not None and decision.degrees:
                regions = engine.detect(pixels, wide=wide)
        if not regions and slot.read_whole_crops and min(pixels.shape[:2]) < MIN_SIDE:  # type: ignore[union-attr]
            regions = [_whole(pixels)]  # type: ignore[arg-type]
        crops = [crop for _, crop in regions]
        lines = _recognized(slot, crops) if recognize and crops else None
    except Exception as exc:  # one bad image must not end the run
        return DetectResult(image.index, error=one_line(exc), times=take_stage_times())
    return DetectResult(
        image.index,
        boxes=[box for box, _ in regions],
        crops=crops if lines is None else [],
        lines=lines,
        times=take_stage_times(),
        orientation=decision.degrees if decision is not None else 0,
        orientation_check=decision.to_record() if decision is not None else None,
        text_from="ocr" if is_pdf(image.path) else None,
    )


def run_recognize(task: RecognizeTask) -> RecognizeResult:
    """Recognize a chunk of one image's regions (upside-down lines turned first, when asked)."""
    lines = _recognized(_current_slot(), task.crops)
    return RecognizeResult(task.index, task.start, lines, times=take_stage_times())


def _recognized(slot: _Slot, crops: list[np.ndarray]) -> list[Recognized]:
    """Text of each crop (upside-down lines turned first, when asked)."""
    if slot.line_angle is not None:
        return slot.line_angle.recognize(crops, slot.engine.recognize)
    return slot.engine.recognize(crops)
