"""Feeding the worker pool: which task goes next, and what happens when a worker dies or hangs.

Two kinds of task share one pool: `run_detect` (read + detect one page; returns boxes and crops)
and `run_recognize` (a chunk of one page's crops). Recognition is most of the work, so the last
pages' regions are split across workers: a single large page still uses every core. A page with at
least one page per worker still to come is recognized in its own detect task instead: the other
workers have pages of their own, and its crops (47 MB for a 300-dpi A4 scan) need not cross to the
parent and back. Only a bounded
number of tasks is handed to the pool and a bounded number of pages is open at once, so memory
stays flat however many images there are. Recognition chunks of earlier pages go first, so pages
finish (and are written) roughly in input order.

Faults, the same code for every backend that can replace its workers (`pipeline.run.backends`):
- A worker that dies loses its task (the process pool: every task in flight, as the pool breaks).
  The backend replaces the worker, and every lost task is re-run *alone*: a task that still kills
  its worker when it is the only one running is the culprit. After `limits.max_retries` such
  deaths its page becomes an error record.
- A task running longer than `limits.task_timeout` (counted from when it was handed to the
  backend) makes its page an error record; its worker is killed and replaced (the process pool:
  all of them), and the other tasks it took down are re-run.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from pipeline.config import Config
from pipeline.core.timing import StageTimes
from pipeline.core.types import (Box, DetectResult, ImageRef, OrientationCheck, Recognized, RecognizeResult,
                                 RecognizeTask, Record)
from pipeline.errors import ImageReadError, RunFailed, one_line
from pipeline.inputs.filetypes import is_pdf
from pipeline.inputs.reader import read_bytes
from pipeline.ocr.records import error_record, lines_record, ok_record
from pipeline.run.backends import Backend
from pipeline.run.tasks import run_detect, run_recognize

__all__ = ["RunFailed", "Scheduler", "chunk_ranges"]

# Before Python 3.14 a wait on Windows cannot be interrupted: Ctrl-C would act only when a task
# ends. There the scheduler waits in slices of this many seconds (elsewhere in one wait).
WAIT_SLICE: float | None = 0.5 if sys.platform == "win32" and sys.version_info < (3, 14) else None


def _sliced(timeout: float | None) -> float | None:
    if WAIT_SLICE is None:
        return timeout
    return WAIT_SLICE if timeout is None else min(timeout, WAIT_SLICE)


@dataclass
class _Task:
    payload: ImageRef | RecognizeTask
    suspect: bool = False  # was in flight when a worker died: runs alone from then on
    crashes: int = 0  # deaths of a worker while this task ran alone
    submitted: float = 0.0
    wide: bool = False  # detect with every worker's threads: nothing else is running
    recognize: bool = False  # recognize the page's regions in the same task (see _fill)


    @property
    def page(self) -> int:
        return self.payload.index

    def submit(self, pool: Backend) -> Future[Any]:
        """Hand this task to `pool`. With `ship_bytes` the file is read here (ImageReadError if it
        cannot be, or is over limits.max_file_bytes) and its bytes go with the task."""
        if isinstance(self.payload, ImageRef):
            # A PDF is not shipped: its worker renders the page from the path (README, --ship-bytes).
            ship = pool.options.ship_bytes and not is_pdf(self.payload.path)
            data = read_bytes(Path(self.payload.path), pool.config.limits.max_file_bytes) if ship else None
            self.submitted = time.monotonic()
            return pool.submit(run_detect, self.payload, self.wide, data, self.recognize)
        self.submitted = time.monotonic()
        return pool.submit(run_recognize, self.payload)


@dataclass
class _OpenPage:
    image: ImageRef
    boxes: list[Box]
    lines: list[Recognized | None]
    chunks_left: int
    orientation: int = 0
    text_from: str | None = None
    orientation_check: OrientationCheck | None = None


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    regions: int = 0
    stage_seconds: StageTimes = field(default_factory=dict)


def chunk_ranges(count: int, workers: int, most: int) -> list[tuple[int, int]]:
    """(start, stop) ranges splitting `count` regions evenly over enough tasks to feed every worker."""
    tasks = max(math.ceil(count / most), min(workers, count))
    size = math.ceil(count / tasks)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


class Scheduler:
    def __init__(self, pool: Backend, images: Sequence[ImageRef], config: Config,
                 emit: Callable[[ImageRef, Record], None]) -> None:
        self._pool = pool
        self._images = images
        self._config = config
        self._emit = emit
        self.tally = Tally()
        self._next_image = 0
        self._open: dict[int, _OpenPage] = {}
        self._closed: set[int] = set()  # pages already emitted (late chunk results are ignored)
        self._ready: deque[_Task] = deque()  # recognition chunks, and tasks to re-run after a restart
        self._suspects: deque[_Task] = deque()  # tasks in flight when a worker died: re-run alone
        self._in_flight: dict[Future[Any], _Task] = {}
        self._max_in_flight = 2 * pool.workers
        self._max_open = 2 * pool.workers + 2

    @property
    def _isolating(self) -> bool:
        return bool(self._suspects) or any(t.suspect for t in self._in_flight.values())

    def run(self) -> None:
        while self._next_image < len(self._images) or self._in_flight or self._ready or self._suspects:
            self._fill()
            if not self._in_flight:
                continue  # only skipped tasks of closed pages this round
            done, _ = wait(self._in_flight, timeout=_sliced(self._seconds_to_deadline()), return_when=FIRST_COMPLETED)
            crashed: list[_Task] = []
            for future in done:
                task = self._in_flight.pop(future)
                try:
                    result = future.result()
                except Exception as exc:
                    if self._pool.is_crash(exc):  # its worker died
                        crashed.append(task)
                    else:  # an engine error on this page only
                        self._fail(task.page, one_line(exc))
                else:
                    self._handle(result)
            if crashed:
                self._recover_from_crash(crashed)
            elif not done:  # a deadline passed (or only a slice: then no task is past its limit)
                self._recover_from_timeout()

    # -- submitting ---------------------------------------------------------------------------

    def _fill(self) -> None:
        if self._isolating:
            if not self._in_flight and self._suspects:
                task = self._suspects.popleft()
                if task.page not in self._closed:
                    self._hand_over(task)
            return
        while len(self._in_flight) < self._max_in_flight:
            if self._ready:
                task = self._ready.popleft()
                if task.page in self._closed:
                    continue
            elif self._next_image < len(self._images) and len(self._open) + self._detecting() < self._max_open:
                task = _Task(self._images[self._next_image])
                self._next_image += 1
                # The last page, with nothing else to run: its detection may use every core.
                left = len(self._images) - self._next_image
                task.wide = self._pool.workers > 1 and left == 0 and not self._in_flight
                # While at least a page per worker is still to come, the other workers have pages of
                # their own: this page is read whole where it is detected, and its crops never cross
                # to the parent and back. The last pages are split across workers.
                task.recognize = left >= self._pool.workers
            else:
                return
            self._hand_over(task)

    def _hand_over(self, task: _Task) -> None:
        try:
            self._in_flight[task.submit(self._pool)] = task
        except ImageReadError as exc:  # --ship-bytes: the file could not be read here
            self._fail(task.page, one_line(exc))

    def _detecting(self) -> int:
        pending = list(self._in_flight.values()) + list(self._ready) + list(self._suspects)
        return sum(1 for t in pending if isinstance(t.payload, ImageRef))

    # -- results ------------------------------------------------------------------------------

    def _handle(self, result: DetectResult | RecognizeResult) -> None:
        for stage, secs in result.times.items():
            self.tally.stage_seconds[stage] = self.tally.stage_seconds.get(stage, 0.0) + secs
        if result.index in self._closed:
            return
        if isinstance(result, DetectResult):
            self._on_detected(result)
        else:
            self._on_recognized(result)

    def _on_detected(self, result: DetectResult) -> None:
        image = self._images[result.index]
        if result.error is not None:
            self._fail(result.index, result.error)
            return
        if result.embedded is not None:  # a PDF page's own text layer: nothing to recognize
            self._close(image, lines_record(image, result.embedded, result.text_from))
            return
        if result.lines is not None:  # recognized where it was detected
            self.tally.regions += len(result.lines)
            self._close(image, self._record(image, result.boxes, result.lines, result.orientation, result.text_from,
                                            result.orientation_check))
            return
        count = len(result.boxes)
        if count == 0:
            self._close(image, self._record(image, [], [], result.orientation, result.text_from,
                                            result.orientation_check))
            return
        ranges = chunk_ranges(count, self._pool.workers, self._config.recognition.max_regions_per_task)
        self._open[result.index] = _OpenPage(image, result.boxes, [None] * count, len(ranges), result.orientation,
                                             result.text_from, result.orientation_check)
        for start, stop in ranges:
            self._ready.append(_Task(RecognizeTask(result.index, start, result.crops[start:stop])))

    def _on_recognized(self, result: RecognizeResult) -> None:
        page = self._open[result.index]
        page.lines[result.start : result.start + len(result.lines)] = result.lines
        page.chunks_left -= 1
        if page.chunks_left == 0:
            del self._open[result.index]
            lines = [line if line is not None else Recognized("", 0.0) for line in page.lines]
            self.tally.regions += len(lines)
            self._close(page.image, self._record(page.image, page.boxes, lines, page.orientation, page.text_from,
                                                 page.orientation_check))

    def _record(self, image: ImageRef, boxes: list[Box], lines: list[Recognized], orientation: int,
                text_from: str | None, orientation_check: OrientationCheck | None) -> Record:
        return ok_record(image, boxes, lines, self._config.recognition.score_threshold,
                         in_reading_order=self._config.layout.reading_order, orientation=orientation,
                         text_from=text_from, fold=self._config.recognition.fold_fullwidth,
                         orientation_check=orientation_check)

    def _fail(self, index: int, reason: str) -> None:
        self._open.pop(index, None)
        self._close(self._images[index], error_record(self._images[index], reason))

    def _close(self, image: ImageRef, record: Record) -> None:
        self._closed.add(image.index)
        if record["status"] == "ok":
            self.tally.ok += 1
        else:
            self.tally.failed += 1
        self._emit(image, record)

    # -- faults -------------------------------------------------------------------------------

    def _seconds_to_deadline(self) -> float | None:
        if not self._in_flight or not self._pool.can_replace_workers:
            return None
        oldest = min(task.submitted for task in self._in_flight.values())
        return max(0.0, oldest + self._config.limits.task_timeout - time.monotonic())

    def _recover_from_crash(self, crashed: list[_Task]) -> None:
        how = self._pool.crash_detail()
        lost = list(crashed)
        if self._pool.crash_loses_all:  # every other task in flight went down with the pool
            lost += self._in_flight.values()
            self._in_flight.clear()
        self._pool.replace_dead_workers()
        retries = self._config.limits.max_retries
        # A suspect runs alone (see _fill): if it died, it is the culprit.
        alone = len(lost) == 1 and lost[0].suspect
        for task in lost:
            task.suspect = True
        if alone:
            task = lost[0]
            task.crashes += 1
            if task.crashes >= retries:
                times = "once" if task.crashes == 1 else f"{task.crashes} times"
                self._fail(task.page, f"worker process died{how} while processing this image, {times} when run alone")
            else:
                self._suspects.appendleft(task)
            return
        for task in lost:
            if retries == 0:
                self._fail(task.page, f"worker process died{how} while processing this image (no retries allowed)")
            else:
                self._suspects.append(task)

    def _recover_from_timeout(self) -> None:
        now = time.monotonic()
        limit = self._config.limits.task_timeout
        hung = {future: t for future, t in self._in_flight.items() if now - t.submitted >= limit}
        if not hung:
            return
        for future in hung:
            del self._in_flight[future]
        self._pool.replace_hung_workers(list(hung))
        for task in hung.values():
            self._fail(task.page, f"timed out: processing took longer than {limit:g}s (limits.task_timeout)")
        if self._pool.crash_loses_all:  # the others were killed with it: run them again
            self._ready.extendleft(reversed(list(self._in_flight.values())))
            self._in_flight.clear()
