"""A run: discover the pages, skip those already done, OCR the rest through the scheduler, and hand
every record to the one ordered writer. Ctrl-C and SIGTERM stop it cleanly: finished records are
flushed, the workers are killed, and a later run resumes from there."""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import IO, Iterator, Sequence

from tqdm import tqdm

from pipeline.config import Config
from pipeline.core.timing import StageTimes, take_stage_times
from pipeline.core.types import ImageRef, Record
from pipeline.errors import Interrupted
from pipeline.inputs.discover import discover, key_base, normalised
from pipeline.ocr.models import ResolvedModels, resolve_models
from pipeline.output.context import SinkContext
from pipeline.output.formats import completed_pages, open_sink, output_format
from pipeline.output.keybase import settle_base
from pipeline.output.lock import output_lock
from pipeline.output.paths import check_output_apart
from pipeline.output.resume import Completed
from pipeline.output.writer import OrderedWriter
from pipeline.run.backends import Backend, BackendOptions, backend_class, open_backend
from pipeline.run.memory import PeakMemory
from pipeline.run.scheduler import Scheduler

__all__ = ["RunSummary", "process_images", "run", "sigterm_as_interrupt"]




@dataclass
class RunSummary:
    images: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0  # already complete in the output (resume)
    kept_errors: int = 0  # error records of earlier runs still in the output (not retried)
    regions: int = 0
    wall_seconds: float = 0.0
    workers: int = 0
    backend: str = "process"
    restarts: int = 0
    stage_seconds: StageTimes = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    memory: str = ""  # e.g. "peak memory 0.41 GB PSS over 4 processes" (pipeline.run.memory)

    @property
    def images_per_second(self) -> float:
        return (self.ok + self.failed) / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def describe(self) -> str:
        stages = ", ".join(f"{name} {secs:.2f}s" for name, secs in sorted(self.stage_seconds.items()))
        resumed = f" ({self.skipped} already done, skipped)" if self.skipped else ""
        restarts = f" Worker pool restarted {self.restarts} times." if self.restarts else ""
        if self.kept_errors:
            restarts += (f" The output also holds {self.kept_errors} error records of earlier runs "
                         f"(--retry-errors redoes them).")
        return (
            f"{self.images} images{resumed}: {self.ok} ok, {self.failed} failed; {self.regions} text regions; "
            f"{self.wall_seconds:.2f}s wall, {self.images_per_second:.2f} images/s "
            f"({self.workers} {self.backend} workers{', ' + self.memory if self.memory else ''}).{restarts} "
            f"Stage totals over all workers: {stages or 'none'}."
        )


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM, and on Windows SIGBREAK (Ctrl-Break; Windows sends no SIGTERM), stop the run the way
    Ctrl-C does (only the main thread can take signals)."""
    stops = [getattr(signal, name) for name in ("SIGTERM", "SIGBREAK") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread() or not stops:
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {stop: signal.signal(stop, handler) for stop in stops}
    try:
        yield
    finally:
        for stop, action in previous.items():
            signal.signal(stop, action)


def process_images(images: Sequence[ImageRef], config: Config, writer: OrderedWriter, *, backend: str = "process",
                   quiet: bool = False, progress_file: IO[str] | None = None, pool: Backend | None = None,
                   options: BackendOptions | None = None, models: ResolvedModels | None = None) -> RunSummary:
    """OCR `images` (whose `index` is 0..n-1) and give each page's record to `writer`.

    `pool` lets a caller (the benchmark) reuse warm workers; otherwise one is made (with `models`, the
    caller's resolved models, or resolved here) and closed here.
    """
    started = time.perf_counter()
    memory = PeakMemory().start()  # the workers' start-up included
    own_pool = pool is None
    if pool is None:
        models = models or resolve_models(config.models, config.engine.runtime)
        pool = open_backend(backend, config, models, options)
        memory.sample()  # its workers are up: in the tree from now on
    summary = RunSummary(images=len(images), workers=pool.workers, backend=backend)
    progress = tqdm(total=len(images), unit="img", disable=quiet, file=progress_file or sys.stderr, dynamic_ncols=True)
    scheduler: Scheduler | None = None

    def emit(image: ImageRef, record: Record) -> None:
        writer.put(image.index, record)
        if scheduler is not None:
            rate = scheduler.tally.regions / max(time.perf_counter() - started, 1e-9)
            progress.set_postfix(regions_s=f"{rate:.1f}", refresh=False)
        progress.update(1)

    restarts_before = pool.restarts
    take_stage_times()  # start this run's parent-side totals from zero
    interrupted = False
    try:
        scheduler = Scheduler(pool, images, config, emit)
        scheduler.run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
        if own_pool or interrupted:
            pool.shutdown(kill=interrupted)
        if interrupted:
            writer.flush_pending()  # finished pages still waiting for earlier ones: keep them
        memory.stop()
    summary.wall_seconds = time.perf_counter() - started
    summary.memory = memory.describe()
    summary.restarts = pool.restarts - restarts_before
    if scheduler is not None:
        summary.ok, summary.failed = scheduler.tally.ok, scheduler.tally.failed
        summary.regions, summary.stage_seconds = scheduler.tally.regions, dict(scheduler.tally.stage_seconds)
    for stage, secs in take_stage_times().items():  # the parent's own stage: write
        summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + secs
    if interrupted:
        raise Interrupted(summary.describe())
    return summary


def run(inputs: Sequence[str | Path], config: Config, *, backend: str = "process", quiet: bool = False,
        overwrite: bool = False, retry_errors: bool = False, options: BackendOptions | None = None) -> RunSummary:
    """Discover the pages under `inputs`, OCR those not already in `config.output`, and write them.

    An existing output is resumed (its complete records are kept and their pages skipped)
    unless `overwrite` is set. The output must lie apart from the inputs, and is locked for the
    whole run (`pipeline.output.lock`); its keys stay relative to the base it was started with
    (`pipeline.output.keybase`).
    """
    roots = normalised(inputs)
    output = Path(config.output)
    check_output_apart(output, roots)
    output_format(config.format).check_output(output)
    # A bad model config or a backend that cannot run here fails before the output is touched.
    models = resolve_models(config.models, config.engine.runtime)
    backend_class(backend).check()
    with output_lock(output, config.format):
        fresh = overwrite or (not output_format(config.format).folder and not output.exists())
        base = settle_base(output, config.format, roots, key_base(roots), fresh=fresh)
        found = discover(roots, base=base, follow_symlinks=config.follow_symlinks,
                         max_pages=config.limits.max_pages, max_bytes=config.limits.max_file_bytes)
        done = Completed() if overwrite else completed_pages(output, config.format, retry_errors=retry_errors)
        forget = output_format(config.format).forget
        redo = _changed_files(found.images, done) if forget is not None else set()
        if redo:  # one output file per input file: an input whose pages changed is redone whole
            forget(output, redo)
            done = Completed((k for k in done if k[0] not in redo), (k for k in done.errors if k[0] not in redo))
        todo = _unique([image for image in found.images if (image.rel, image.page) not in done])
        sink = open_sink(config.format, output, append=not overwrite, context=sink_context(todo, config))
        with sigterm_as_interrupt(), OrderedWriter(sink) as writer:
            if todo:
                try:
                    summary = process_images(todo, config, writer, backend=backend, quiet=quiet, options=options,
                                             models=models)
                except Interrupted as stop:
                    raise Interrupted(f"{stop} Finished records are in {output}; run again (or with --resume) "
                                      "to continue.") from None
            else:
                summary = RunSummary(workers=0, backend=backend)
    unwritten = getattr(sink, "failed_writes", 0)  # ok pages the txt format could not store
    summary.ok, summary.failed = summary.ok - unwritten, summary.failed + unwritten
    summary.images = len(found.images)
    summary.skipped = len(found.images) - len(todo)
    summary.warnings = found.warnings
    summary.kept_errors = len(done.errors)  # said in the summary; the exit code is this run's own
    return summary


def _changed_files(images: Sequence[ImageRef], done: set[tuple[str, int]]) -> set[str]:
    """Input files some of whose pages the output holds, but not exactly the pages they have now
    (a PDF replaced by one with more or fewer pages)."""
    pages: dict[str, set[int]] = {}
    for image in images:
        pages.setdefault(image.rel, set()).add(image.page)
    held: dict[str, set[int]] = {}
    for rel, page in done:
        if rel in pages:
            held.setdefault(rel, set()).add(page)
    return {rel for rel, have in held.items() if have != pages[rel]}


def _unique(images: list[ImageRef]) -> list[ImageRef]:
    """`images` renumbered 0..n-1, each key once: no output ever holds two records of one page."""
    seen: set[tuple[str, int]] = set()
    kept = []
    for image in images:
        if (image.rel, image.page) not in seen:
            seen.add((image.rel, image.page))
            kept.append(replace(image, index=len(kept)))
    return kept


def sink_context(images: Sequence[ImageRef], config: Config) -> SinkContext:
    """What the hocr and pdf sinks need to read these pages again: where they are, and the read settings."""
    limits = config.limits
    context = SinkContext(config.pdf.dpi, limits.max_image_pixels, limits.max_pages, limits.max_file_bytes)
    context.add(images)
    return context
