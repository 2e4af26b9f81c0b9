"""The run: discover images, detect their text regions, spread the regions over the workers,
and hand each finished page to the ordered writer.

Two kinds of task share one pool: `run_detect` (read + detect one page, returns boxes and crops)
and `run_recognize` (a chunk of one page's crops). Recognition is most of the work, so a page's
regions are split across workers: a single large page still uses every core. The parent submits
only a bounded number of tasks and keeps a bounded number of pages open, so memory stays flat
however many images there are, and it prefers recognition chunks of earlier pages, so pages
finish (and are written) roughly in order.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Sequence

from tqdm import tqdm

from pipeline.config import Config
from pipeline.engine import Box, Recognized
from pipeline.executors import make_executor
from pipeline.inputs import discover
from pipeline.models import resolve_models
from pipeline.records import Record, error_record, ok_record
from pipeline.tasks import DetectResult, ImageRef, RecognizeResult, RecognizeTask
from pipeline.timing import StageTimes
from pipeline.worker import run_detect, run_recognize
from pipeline.writer import JsonlSink, OrderedWriter

__all__ = ["RunSummary", "run", "process_images"]


@dataclass
class RunSummary:
    images: int = 0
    ok: int = 0
    failed: int = 0
    regions: int = 0
    wall_seconds: float = 0.0
    workers: int = 0
    backend: str = "process"
    stage_seconds: StageTimes = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.images / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def describe(self) -> str:
        stages = ", ".join(f"{name} {secs:.2f}s" for name, secs in sorted(self.stage_seconds.items()))
        return (
            f"{self.images} images: {self.ok} ok, {self.failed} failed; {self.regions} text regions; "
            f"{self.wall_seconds:.2f}s wall, {self.images_per_second:.2f} images/s "
            f"({self.workers} {self.backend} workers). Stage totals over all workers: {stages or 'none'}."
        )


@dataclass
class _OpenPage:
    image: ImageRef
    boxes: list[Box]
    lines: list[Recognized | None]
    chunks_left: int


def _chunks(count: int, workers: int, most: int) -> list[tuple[int, int]]:
    """(start, stop) ranges splitting `count` regions evenly over enough tasks to feed every worker."""
    tasks = max(math.ceil(count / most), min(workers, count))
    size = math.ceil(count / tasks)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


class _Scheduler:
    def __init__(self, executor: Executor, images: Sequence[ImageRef], config: Config, workers: int,
                 writer: OrderedWriter, progress: tqdm[Any], summary: RunSummary) -> None:
        self._executor = executor
        self._images = images
        self._config = config
        self._workers = workers
        self._writer = writer
        self._progress = progress
        self._summary = summary
        self._next_image = 0
        self._open: dict[int, _OpenPage] = {}
        self._detecting = 0
        self._recognize_queue: deque[RecognizeTask] = deque()
        self._in_flight: dict[Future[Any], str] = {}
        self._max_in_flight = 2 * workers
        self._max_open = 2 * workers + 2
        self._started = time.perf_counter()

    def run(self) -> None:
        while self._next_image < len(self._images) or self._in_flight or self._recognize_queue:
            self._fill()
            done, _ = wait(self._in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                self._in_flight.pop(future)
                result = future.result()
                if isinstance(result, DetectResult):
                    self._on_detected(result)
                else:
                    self._on_recognized(result)

    def _fill(self) -> None:
        while len(self._in_flight) < self._max_in_flight:
            if self._recognize_queue:
                task = self._recognize_queue.popleft()
                self._in_flight[self._executor.submit(run_recognize, task)] = "recognize"
            elif self._next_image < len(self._images) and len(self._open) + self._detecting < self._max_open:
                image = self._images[self._next_image]
                self._next_image += 1
                self._detecting += 1
                self._in_flight[self._executor.submit(run_detect, image)] = "detect"
            else:
                return

    def _add_times(self, times: StageTimes) -> None:
        for stage, secs in times.items():
            self._summary.stage_seconds[stage] = self._summary.stage_seconds.get(stage, 0.0) + secs

    def _on_detected(self, result: DetectResult) -> None:
        self._detecting -= 1
        self._add_times(result.times)
        image = self._images[result.index]
        if result.error is not None:
            self._finish(image, error_record(image, result.error))
            return
        count = len(result.boxes)
        if count == 0:
            self._finish(image, ok_record(image, [], [], self._config.recognition.score_threshold))
            return
        ranges = _chunks(count, self._workers, self._config.recognition.max_regions_per_task)
        self._open[result.index] = _OpenPage(image, result.boxes, [None] * count, len(ranges))
        for start, stop in ranges:
            self._recognize_queue.append(RecognizeTask(result.index, start, result.crops[start:stop]))

    def _on_recognized(self, result: RecognizeResult) -> None:
        self._add_times(result.times)
        page = self._open[result.index]
        page.lines[result.start : result.start + len(result.lines)] = result.lines
        page.chunks_left -= 1
        if page.chunks_left == 0:
            del self._open[result.index]
            lines = [line if line is not None else Recognized("", 0.0) for line in page.lines]
            self._summary.regions += len(lines)
            self._finish(page.image, ok_record(page.image, page.boxes, lines, self._config.recognition.score_threshold))

    def _finish(self, image: ImageRef, record: Record) -> None:
        if record["status"] == "ok":
            self._summary.ok += 1
        else:
            self._summary.failed += 1
        self._writer.put(image.index, record)
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._progress.set_postfix(regions_s=f"{self._summary.regions / elapsed:.1f}", refresh=False)
        self._progress.update(1)


def process_images(images: Sequence[ImageRef], config: Config, writer: OrderedWriter, *, backend: str = "process",
                   quiet: bool = False, progress_file: IO[str] | None = None, executor: Executor | None = None) -> RunSummary:
    """OCR `images` (whose `index` is 0..n-1) and give each page's record to `writer`."""
    workers = 1 if backend == "serial" else config.resolved_workers()
    summary = RunSummary(images=len(images), workers=workers, backend=backend)
    started = time.perf_counter()
    own_executor = executor is None
    if executor is None:
        executor = make_executor(backend, workers, config, resolve_models(config.models))
    progress = tqdm(total=len(images), unit="img", disable=quiet, file=progress_file or sys.stderr, dynamic_ncols=True)
    try:
        _Scheduler(executor, images, config, workers, writer, progress, summary).run()
    finally:
        progress.close()
        if own_executor:
            executor.shutdown(wait=True, cancel_futures=True)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def run(inputs: Sequence[str | Path], config: Config, *, backend: str = "process", quiet: bool = False) -> RunSummary:
    """Discover the images under `inputs`, OCR them, and write `config.output`."""
    found = discover(inputs)
    resolve_models(config.models)  # a bad model config fails here, before any worker starts
    with OrderedWriter(JsonlSink(Path(config.output))) as writer:
        summary = process_images(found.images, config, writer, backend=backend, quiet=quiet)
    summary.warnings = found.warnings
    return summary
