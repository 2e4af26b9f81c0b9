"""Inside one cell (a fresh process): warm up, then time `repeat` runs over the same pages.

    python -m pipeline.tools.bench.cell SPEC.json RESULT.json

Our backends run exactly as `pipeline run` runs them: `process_images` with a backend (`open_backend`)
that makes and owns its workers (so task timeouts and worker restarts stay on). The pool is made once
and kept warm over the repeats: its start (workers spawned, engines built and warmed) is timed
apart as warm-up, with a barrier that every worker must reach with its engine built. The whole
start-up is what the whole-process runs (`pipeline.tools.bench.whole`) add back.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import ExitCode, one_line
from pipeline.tools.bench.data import YARDSTICKS, CellResult, CellSpec, page_key
from pipeline.tools.bench.sampling import MEMORY_KIND, MIB, TreeSampler

__all__ = ["main", "run_cell"]

BARRIER_SECONDS = 900
_PROCESS_MODES = ("process", "dask")  # workers in other processes: the barrier must be a manager's


class _ListSink:
    """A Sink that keeps records in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: Any) -> None:
        self.records.append(dict(record))

    def close(self) -> None:
        pass


def _arrive(barrier: Any | None) -> tuple[int, int]:
    """Warm-up task: check this worker's engine exists, then wait until every worker has one."""
    from pipeline.run.worker import current_engine

    current_engine()
    if barrier is not None:
        barrier.wait(timeout=BARRIER_SECONDS)
    return os.getpid(), threading.get_ident()


def _meet(pool: Any, barrier: Any) -> list[tuple[int, int]]:
    return [f.result() for f in [pool.submit(_arrive, barrier) for _ in range(pool.workers)]]


def _warm_pool(pool: Any, manager: Any) -> list[tuple[int, int]]:
    """(pid, thread id) of every worker, once each has built its engine."""
    if pool.workers == 1:
        return [pool.submit(_arrive, None).result()]
    if manager is not None:
        return _meet(pool, manager.Barrier(pool.workers))
    return _meet(pool, threading.Barrier(pool.workers))


def _config(spec: CellSpec) -> Any:
    from pipeline.run.settings import run_config

    config = run_config(spec.config_path)
    return dataclasses.replace(config, workers=spec.workers, threads_per_worker=spec.threads)


def _images(spec: CellSpec) -> list[Any]:
    from pipeline.inputs.discover import discover

    return discover(spec.inputs).images


def _texts_of(records: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    return {page_key(r["image"], r["page"]): [line["text"] for line in r["lines"]] for r in records}


def _record_repeat(result: CellResult, texts: dict[str, list[str]], regions: int) -> None:
    if not result.texts:
        result.texts, result.regions = texts, regions
    elif texts != result.texts:
        result.repeats_agree = False


def _record_sampler(result: CellResult, sampler: TreeSampler, worker_pids: Sequence[int]) -> None:
    result.peak_total_mb = sampler.peak_total / MIB
    result.peak_worker_mb = sampler.peak_of(worker_pids) / MIB
    result.cpu_cores_used = sampler.own_cores
    result.other_cores_busy = sampler.other_cores


def _cell_ours(spec: CellSpec) -> CellResult:
    from pipeline.ocr.models import resolve_models
    from pipeline.output.writer import OrderedWriter
    from pipeline.run.backends import open_backend
    from pipeline.run.runner import process_images

    config = _config(spec)
    models = resolve_models(config.models, config.engine.runtime)
    images = _images(spec)
    result = CellResult(spec.mode, spec.workers, spec.threads, spec.variant, images=len(images), memory=MEMORY_KIND)
    manager = None
    if spec.mode in _PROCESS_MODES and spec.workers > 1:
        import multiprocessing

        manager = multiprocessing.get_context("spawn").Manager()  # started before the clock
    started = time.perf_counter()
    pool = open_backend(spec.mode, config, models)
    try:
        try:
            ids = _warm_pool(pool, manager)
        finally:
            if manager is not None:  # gone before the timed runs: its memory is not ours
                manager.shutdown()
        result.warmup_seconds = time.perf_counter() - started
        result.distinct_workers = len(set(ids))
        worker_pids = sorted({pid for pid, _ in ids})
        result.worker_processes = len(worker_pids)
        stage_totals: dict[str, float] = {}
        with TreeSampler() as sampler:
            for _ in range(spec.repeat):
                sink = _ListSink()
                writer = OrderedWriter(sink)
                t0 = time.perf_counter()
                summary = process_images(images, config, writer, backend=spec.mode, pool=pool, quiet=True)
                result.seconds.append(time.perf_counter() - t0)
                writer.close()
                _record_repeat(result, _texts_of(sink.records), summary.regions)
                result.failed_images = max(result.failed_images, summary.failed)
                for stage, secs in summary.stage_seconds.items():
                    stage_totals[stage] = stage_totals.get(stage, 0.0) + secs / spec.repeat
        result.stage_seconds = stage_totals
        _record_sampler(result, sampler, worker_pids)
    finally:
        pool.shutdown()
    return result


def _cell_yardstick(spec: CellSpec) -> CellResult:
    """A yardstick: one engine in this process, handed each page as its whole-process script hands
    it (the file's path), `spec.workers` pages at a time (Tesseract's child processes), else one by one."""
    from pipeline.tools.bench.yardsticks import build, close, ocr_pages, page_sources, warm_page

    config = _config(spec)
    images = _images(spec)
    result = CellResult(spec.mode, spec.workers, spec.threads, spec.variant, images=len(images), memory=MEMORY_KIND,
                        worker_processes=spec.workers, distinct_workers=spec.workers)  # Tesseract: a process per page
    started = time.perf_counter()
    ocr, predict = build(spec.mode, config, spec.threads, spec.engine)
    try:
        predict(ocr, warm_page())
        result.warmup_seconds = time.perf_counter() - started
        with TreeSampler() as sampler:
            for _ in range(spec.repeat):
                t0 = time.perf_counter()
                pages = ocr_pages(ocr, predict, page_sources(images, config.limits.max_image_pixels), spec.workers)
                result.seconds.append(time.perf_counter() - t0)
                texts = {page_key(image.rel, image.page): lines for image, lines in zip(images, pages)}
                _record_repeat(result, texts, sum(len(lines) for lines in texts.values()))
    finally:
        close(ocr)
    _record_sampler(result, sampler, [os.getpid()])
    return result


def run_cell(spec: CellSpec) -> CellResult:
    """Measure one cell in this process (normally a fresh one: see `main`)."""
    return _cell_yardstick(spec) if spec.mode in YARDSTICKS else _cell_ours(spec)


def main(argv: Sequence[str] | None = None) -> int:
    spec_path, result_path = list(sys.argv[1:] if argv is None else argv)
    spec = CellSpec.read(Path(spec_path))
    try:
        result = run_cell(spec)
    except Exception as exc:  # reported as a failed row; the bench goes on
        traceback.print_exc()
        result = CellResult.failed(spec, one_line(exc))
    Path(result_path).write_text(result.to_json(), encoding="utf-8")
    return ExitCode.OK if result.error is None else ExitCode.RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
