"""`python -m pipeline bench`: how fast is each way of running the pipeline on this machine?

    python -m pipeline bench INPUT [--workers 1,2,4] [--threads 1,2] [--modes serial,thread,process]
                                   [--repeat 3] [--out bench-out]

One *cell* is one setting (mode, workers, engine threads per worker). Every cell runs in a fresh
Python process (`python -m pipeline.bench --cell SPEC`), so that no engine, no OpenMP setting and no
memory left by one cell changes the figures of the next. Inside a cell:

1. warm-up (timed, reported apart): the executor is made with `make_executor`, and `workers` tasks
   that meet at a barrier make sure each worker has built (and warmed) its engine;
2. `repeat` timed runs of `process_images` over the same images with that warm executor, while a
   background thread samples the RSS of the cell process and of its children every 0.2 s.

Besides the pipeline's own modes there is a *reference* row (plain `PaddleOCR.predict` in one
process, same models and settings, at its best `cpu_threads` among `--threads`) and, when
`rapidocr_onnxruntime` is installed, a *RapidOCR* row (its own bundled ONNX PP-OCRv4 weights on
onnxruntime, `intra_op_num_threads=2`). The text of every row is compared with the reference.

Results: a table on stdout, `OUT/bench.json`, a chart `OUT/bench.png` (drawn with OpenCV), and a
recommendation line with the `python -m pipeline run` flags to use. Each cell's spec and result
(with the recognized text) stay in `OUT/cells/`, its output in `OUT/cells.log`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.backends import backend_names
from pipeline.config import usable_cores

__all__ = [
    "CellResult",
    "CellSpec",
    "MODES",
    "Row",
    "bench_command",
    "build_rows",
    "draw_chart",
    "format_table",
    "note_line",
    "parse_modes",
    "parse_positive_list",
    "recommendation",
    "run_cell",
]

MODES = tuple(backend_names())  # the one registry of backends
REFERENCE = "reference"
RAPIDOCR = "rapidocr"
RAPIDOCR_THREADS = 2
SAMPLE_SECONDS = 0.2
EXIT_OK, EXIT_USAGE, EXIT_RUN_FAILED = 0, 2, 3
MIB = 1024 * 1024


# ----------------------------------------------------------------------------- plain data


@dataclass(frozen=True)
class CellSpec:
    """One setting to measure; crosses to the cell process as JSON."""

    mode: str  # serial | thread | process | reference | rapidocr
    workers: int
    threads: int
    repeat: int
    inputs: tuple[str, ...]
    config_path: str | None = None


@dataclass
class CellResult:
    """What one cell measured. `texts` maps "relative/path#page" to the page's line texts."""

    mode: str
    workers: int
    threads: int
    warmup_seconds: float = 0.0
    seconds: list[float] = field(default_factory=list)
    images: int = 0
    regions: int = 0
    failed_images: int = 0
    texts: dict[str, list[str]] = field(default_factory=dict)
    repeats_agree: bool = True
    peak_rss_worker_mb: float = 0.0
    peak_rss_total_mb: float = 0.0
    cpu_cores_used: float = 0.0
    other_cores_busy: float = 0.0
    worker_processes: int = 1
    distinct_workers: int = 1
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Row:
    """One line of the table: a cell's figures, compared with the others."""

    mode: str
    workers: int
    threads: int
    oversubscribed: bool
    warmup_seconds: float
    seconds: list[float]
    images: int
    regions: int
    images_per_s: dict[str, float]  # median, min, max
    regions_per_s: dict[str, float]
    speedup_vs_1_worker: float | None
    speedup_vs_reference: float | None
    efficiency: float | None
    peak_rss_worker_mb: float
    peak_rss_total_mb: float
    cpu_cores_used: float
    other_cores_busy: float
    text_matched: bool | None
    stage_seconds: dict[str, float]
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.seconds)

    @property
    def median_ips(self) -> float:
        return self.images_per_s.get("median", 0.0)


# ----------------------------------------------------------------------------- argument parsing


def _config_error(message: str) -> Exception:
    from pipeline.errors import ConfigError

    return ConfigError(message)


def parse_positive_list(text: str, flag: str) -> list[int]:
    """"1,2,4" -> [1, 2, 4]; duplicates dropped, order kept."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise _config_error(f"{flag}: '{part}' is not a whole number") from None
        if value < 1:
            raise _config_error(f"{flag}: values must be at least 1, got {value}")
        if value not in values:
            values.append(value)
    if not values:
        raise _config_error(f"{flag}: give at least one value, like 1,2")
    return values


def parse_modes(text: str) -> list[str]:
    modes: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part not in MODES:
            raise _config_error(f"--modes: unknown mode '{part}' (known: {', '.join(MODES)})")
        if part not in modes:
            modes.append(part)
    if not modes:
        raise _config_error("--modes: give at least one of " + ", ".join(MODES))
    return modes


def rapidocr_available() -> bool:
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def plan_cells(workers: Sequence[int], threads: Sequence[int], modes: Sequence[str], repeat: int,
               inputs: Sequence[str], config_path: str | None, with_rapidocr: bool) -> list[CellSpec]:
    """Reference cells first (their text is what the others are compared with)."""
    def cell(mode: str, w: int, t: int) -> CellSpec:
        return CellSpec(mode, w, t, repeat=repeat, inputs=tuple(inputs), config_path=config_path)

    cells = [cell(REFERENCE, 1, t) for t in threads]
    for mode in modes:
        for w in ([1] if mode == "serial" else workers):
            cells.extend(cell(mode, w, t) for t in threads)
    if with_rapidocr:
        cells.append(cell(RAPIDOCR, 1, RAPIDOCR_THREADS))
    return cells


# ----------------------------------------------------------------------------- inside a cell


class RssSampler:
    """Samples the RSS and CPU time of this process and of all its children every `interval` seconds,
    and the machine's busy CPU time, so that other programs' load during the run can be told apart."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        import psutil

        self._me = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.peak_total = 0
        self.peak_by_pid: dict[int, int] = {}
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._started = 0.0
        self._busy_start = 0.0
        self.seconds = 0.0
        self.own_cores = 0.0  # average cores used by this process tree
        self.other_cores = 0.0  # average cores used by everything else on the machine

    def sample(self) -> None:
        import psutil

        total = 0
        for proc in [self._me, *self._children()]:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            self.peak_by_pid[proc.pid] = max(self.peak_by_pid.get(proc.pid, 0), rss)
            self._cpu_first.setdefault(proc.pid, times.user + times.system)
            self._cpu_last[proc.pid] = times.user + times.system
        self.peak_total = max(self.peak_total, total)

    @staticmethod
    def _machine_busy() -> float:
        import psutil

        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def _children(self) -> list[Any]:
        import psutil

        try:
            return list(self._me.children(recursive=True))
        except psutil.Error:
            return []

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._started, self._busy_start = time.perf_counter(), self._machine_busy()
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.seconds = max(time.perf_counter() - self._started, 1e-9)
        own = sum(self._cpu_last[pid] - first for pid, first in self._cpu_first.items())
        busy = self._machine_busy() - self._busy_start
        self.own_cores = own / self.seconds
        self.other_cores = max(0.0, busy - own) / self.seconds

    def peak_of(self, pids: Sequence[int]) -> int:
        return max((self.peak_by_pid.get(pid, 0) for pid in pids), default=0)


class _ListSink:
    """A Sink that keeps records in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: Any) -> None:
        self.records.append(dict(record))

    def close(self) -> None:
        pass


def _arrive(barrier: Any) -> tuple[int, int]:
    """Warm-up task: check this worker's engine exists, then wait until every worker has one."""
    from pipeline.worker import current_engine

    current_engine()
    barrier.wait(timeout=900)
    return os.getpid(), threading.get_ident()


def _page_key(rel: str, page: int) -> str:
    return f"{rel}#{page}"


def _warm_page() -> Any:
    """The same tiny page `OcrEngine.warm_up` uses, so the reference warms up alike."""
    import numpy as np

    page = np.full((64, 256, 3), 255, dtype=np.uint8)
    page[24:40, 16:240] = 0
    return page


def _load_config(spec: CellSpec) -> Any:
    from pipeline.config import load_config

    config = load_config(spec.config_path)
    return dataclasses.replace(config, workers=spec.workers, threads_per_worker=spec.threads)


def _images(spec: CellSpec) -> list[Any]:
    from pipeline.inputs import discover

    return discover(spec.inputs).images


def _warm_executor(executor: Any, mode: str, workers: int) -> list[tuple[int, int]]:
    """Make sure each of the `workers` workers has built its engine; returns (pid, thread id) of each."""
    if mode == "serial":
        return [(os.getpid(), threading.get_ident())]
    if mode == "thread":
        barrier: Any = threading.Barrier(workers)
        return [f.result() for f in [executor.submit(_arrive, barrier) for _ in range(workers)]]
    raise ValueError(mode)


Runner = Callable[[Sequence[Any], Any], Any]


def _make_runner(mode: str, config: Any, executor: Any, models: Any) -> Runner:
    """`process_images` bound to a warm executor, wrapped once in a `WorkerPool`."""
    from pipeline.executors import WorkerPool, worker_count
    from pipeline.runner import process_images

    pool = WorkerPool(mode, worker_count(mode, config), config, models, executor=executor)
    return lambda images, writer: process_images(images, config, writer, backend=mode, pool=pool, quiet=True)


def _texts_of(records: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    return {_page_key(r["image"], r["page"]): [line["text"] for line in r["lines"]] for r in records}


def _cell_pipeline(spec: CellSpec) -> CellResult:
    from pipeline.executors import make_executor
    from pipeline.models import resolve_models
    from pipeline.writer import OrderedWriter

    config = _load_config(spec)
    models = resolve_models(config.models, config.engine.runtime)
    images = _images(spec)
    result = CellResult(spec.mode, spec.workers, spec.threads, images=len(images))
    manager = None
    if spec.mode == "process":
        import multiprocessing

        manager = multiprocessing.get_context("spawn").Manager()  # started before the clock
    started = time.perf_counter()
    executor = make_executor(spec.mode, spec.workers, config, models)
    try:
        if manager is not None:
            with manager:
                barrier = manager.Barrier(spec.workers)
                ids = [f.result() for f in [executor.submit(_arrive, barrier) for _ in range(spec.workers)]]
        else:
            ids = _warm_executor(executor, spec.mode, spec.workers)
        run_images = _make_runner(spec.mode, config, executor, models)
        result.warmup_seconds = time.perf_counter() - started
        result.distinct_workers = len(set(ids))
        worker_pids = sorted({pid for pid, _ in ids})
        result.worker_processes = len(worker_pids)
        stage_totals: dict[str, float] = {}
        with RssSampler() as sampler:
            for _ in range(spec.repeat):
                sink = _ListSink()
                writer = OrderedWriter(sink)
                t0 = time.perf_counter()
                summary = run_images(images, writer)
                result.seconds.append(time.perf_counter() - t0)
                writer.close()
                _record_repeat(result, _texts_of(sink.records), summary.regions)
                result.failed_images = max(result.failed_images, summary.failed)
                for stage, secs in summary.stage_seconds.items():
                    stage_totals[stage] = stage_totals.get(stage, 0.0) + secs / spec.repeat
        result.stage_seconds = stage_totals
        _record_sampler(result, sampler, worker_pids)
    finally:
        executor.shutdown(wait=True)
    return result


def _record_sampler(result: CellResult, sampler: RssSampler, worker_pids: Sequence[int]) -> None:
    result.peak_rss_total_mb = sampler.peak_total / MIB
    result.peak_rss_worker_mb = sampler.peak_of(worker_pids) / MIB
    result.cpu_cores_used = sampler.own_cores
    result.other_cores_busy = sampler.other_cores


def _record_repeat(result: CellResult, texts: dict[str, list[str]], regions: int) -> None:
    if not result.texts:
        result.texts = texts
        result.regions = regions
    elif texts != result.texts:
        result.repeats_agree = False


def _rapid_ocr(config: Any) -> Any:
    """RapidOCR 1.4.4 takes thread settings as global keyword arguments and copies them to its
    det/cls/rec onnxruntime sessions (it ignores values above os.cpu_count())."""
    from rapidocr_onnxruntime import RapidOCR

    # No angle classifier (the pipeline runs none) and no score filter (as the pipeline's default).
    return RapidOCR(intra_op_num_threads=RAPIDOCR_THREADS, use_cls=False,
                    text_score=config.recognition.score_threshold)


def _predict_rapid(ocr: Any, pixels: Any) -> list[str]:
    found, _ = ocr(pixels)
    return [str(item[1]) for item in (found or [])]


def _cell_single(spec: CellSpec) -> CellResult:
    """The reference and RapidOCR rows: one engine, one image at a time, in this process."""
    from pipeline.models import resolve_models
    from pipeline.reader import read_image
    from pipeline.reference import reference_lines, reference_ocr

    config = _load_config(spec)
    images = _images(spec)
    result = CellResult(spec.mode, 1, spec.threads, images=len(images))
    started = time.perf_counter()
    if spec.mode == REFERENCE:
        ocr, predict = reference_ocr(config, resolve_models(config.models, config.engine.runtime), spec.threads), reference_lines
    else:
        ocr, predict = _rapid_ocr(config), _predict_rapid
    predict(ocr, _warm_page())
    result.warmup_seconds = time.perf_counter() - started
    with RssSampler() as sampler:
        for _ in range(spec.repeat):
            texts: dict[str, list[str]] = {}
            t0 = time.perf_counter()
            for image in images:
                pixels = read_image(Path(image.path), image.page, max_pixels=config.limits.max_image_pixels)
                texts[_page_key(image.rel, image.page)] = predict(ocr, pixels)
            result.seconds.append(time.perf_counter() - t0)
            _record_repeat(result, texts, sum(len(lines) for lines in texts.values()))
    _record_sampler(result, sampler, [os.getpid()])
    return result


def run_cell(spec: CellSpec) -> CellResult:
    """Measure one cell in this process (normally a fresh one: see `_cell_main`)."""
    if spec.mode in (REFERENCE, RAPIDOCR):
        return _cell_single(spec)
    return _cell_pipeline(spec)


def _cell_main(spec_path: str, result_path: str) -> int:
    spec_data = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    spec = CellSpec(**{**spec_data, "inputs": tuple(spec_data["inputs"])})
    try:
        result = run_cell(spec)
    except Exception as exc:  # reported as a failed row, the bench goes on
        import traceback

        traceback.print_exc()
        result = CellResult(spec.mode, spec.workers, spec.threads, error=f"{type(exc).__name__}: {exc}"[:500])
    Path(result_path).write_text(json.dumps(dataclasses.asdict(result), ensure_ascii=False), encoding="utf-8")
    return EXIT_OK if result.error is None else EXIT_RUN_FAILED


# ----------------------------------------------------------------------------- the parent side


def _kill_tree(pid: int) -> None:
    """Kill a cell we started and every process it started."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def _cell_timeout(spec: CellSpec, images: int) -> float:
    return 600.0 + spec.repeat * images * 60.0


def run_cell_isolated(spec: CellSpec, images: int, log: Path, workdir: Path) -> CellResult:
    """Run one cell in a fresh `python -m pipeline.bench --cell` process; its output goes to `log`."""
    name = f"{spec.mode}-w{spec.workers}-t{spec.threads}"
    spec_path, result_path = workdir / f"{name}.spec.json", workdir / f"{name}.result.json"
    spec_path.write_text(json.dumps(dataclasses.asdict(spec), ensure_ascii=False), encoding="utf-8")
    result_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pipeline.bench", "--cell", str(spec_path), str(result_path)]
    with log.open("a", encoding="utf-8") as log_file:
        log_file.write(f"\n===== {name}: {' '.join(command)}\n")
        log_file.flush()
        proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            proc.wait(timeout=_cell_timeout(spec, images))
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            return CellResult(spec.mode, spec.workers, spec.threads, error="timed out")
        except BaseException:
            _kill_tree(proc.pid)
            raise
    if not result_path.is_file():
        return CellResult(spec.mode, spec.workers, spec.threads,
                          error=f"cell process exited with code {proc.returncode} (see {log})")
    data = json.loads(result_path.read_text(encoding="utf-8"))
    return CellResult(**data)


def _spread(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "min": 0.0, "max": 0.0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _ratio(a: float, b: float) -> float | None:
    return a / b if a > 0 and b > 0 else None


def _best_reference(results: Sequence[CellResult]) -> CellResult | None:
    done = [r for r in results if r.mode == REFERENCE and r.error is None and r.seconds]
    return max(done, key=lambda r: r.images / statistics.median(r.seconds), default=None)


def _to_row(result: CellResult, machine_cores: int) -> Row:
    ips = [result.images / s for s in result.seconds if s > 0]
    rps = [result.regions / s for s in result.seconds if s > 0]
    return Row(
        mode=result.mode, workers=result.workers, threads=result.threads,
        oversubscribed=result.workers * result.threads > machine_cores,
        warmup_seconds=result.warmup_seconds, seconds=list(result.seconds), images=result.images,
        regions=result.regions, images_per_s=_spread(ips), regions_per_s=_spread(rps),
        speedup_vs_1_worker=None, speedup_vs_reference=None, efficiency=None,
        peak_rss_worker_mb=result.peak_rss_worker_mb, peak_rss_total_mb=result.peak_rss_total_mb,
        cpu_cores_used=result.cpu_cores_used, other_cores_busy=result.other_cores_busy, text_matched=None,
        stage_seconds=dict(result.stage_seconds), error=result.error,
    )


def build_rows(results: Sequence[CellResult], machine_cores: int) -> list[Row]:
    """Rows of the table: the best reference cell, then the pipeline's cells, then RapidOCR."""
    reference = _best_reference(results)
    chosen = [r for r in results if r.mode != REFERENCE or r is reference or reference is None]
    rows = [_to_row(r, machine_cores) for r in chosen]
    ref_ips = _to_row(reference, machine_cores).median_ips if reference is not None else 0.0
    for row, result in zip(rows, chosen):
        _compare(row, result, rows, reference, ref_ips)
    return rows


def _compare(row: Row, result: CellResult, rows: Sequence[Row], reference: CellResult | None,
             ref_ips: float) -> None:
    if not row.ok:
        return
    base = next((r for r in rows if r.mode == row.mode and r.threads == row.threads and r.workers == 1 and r.ok), None)
    if base is not None and row.mode in MODES:
        row.speedup_vs_1_worker = _ratio(row.median_ips, base.median_ips)
        if row.speedup_vs_1_worker is not None:
            row.efficiency = row.speedup_vs_1_worker / row.workers
    row.speedup_vs_reference = _ratio(row.median_ips, ref_ips)
    if reference is not None:
        row.text_matched = result.repeats_agree and result.texts == reference.texts
        if row.text_matched is False:
            row.notes.append(_text_difference(result.texts, reference.texts))
    if not result.repeats_agree:
        row.notes.append("repeats gave different text")
    if result.failed_images:
        row.notes.append(f"{result.failed_images} error record(s)")
    if result.distinct_workers < result.workers:
        row.notes.append(f"only {result.distinct_workers} of {result.workers} workers warmed up")


def _text_difference(texts: dict[str, list[str]], reference: dict[str, list[str]]) -> str:
    """How far the text is from the reference: pages that differ, lines found verbatim, characters alike."""
    import difflib

    pages = sorted(k for k in set(texts) | set(reference) if texts.get(k) != reference.get(k))
    want = [line for key in sorted(reference) for line in reference[key]]
    got = [line for key in sorted(reference) for line in texts.get(key, [])]
    same_lines = sum(min(got.count(line), want.count(line)) for line in set(want))
    chars = difflib.SequenceMatcher(None, "\n".join(got), "\n".join(want), autojunk=False).ratio()
    return (f"text differs on {len(pages)} page(s) ({', '.join(pages[:2])}{', ...' if len(pages) > 2 else ''}); "
            f"{same_lines}/{len(want)} reference lines verbatim, {chars:.1%} characters alike")


# ----------------------------------------------------------------------------- text output


def _label(row: Row) -> str:
    return {REFERENCE: "reference", RAPIDOCR: "rapidocr"}.get(row.mode, row.mode)


def _rate(value: float) -> str:
    """A rate with two decimals, or three significant digits below 0.1 (one large page takes seconds)."""
    return f"{value:.2f}" if value >= 0.1 or value == 0 else f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _fmt_range(spread: dict[str, float]) -> str:
    return f"{_rate(spread['median'])} ({_rate(spread['min'])}-{_rate(spread['max'])})"


def _fmt_opt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _fmt_match(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def format_table(rows: Sequence[Row]) -> str:
    header = ["mode", "workers", "thr/wkr", "images/s med (min-max)", "regions/s med (min-max)",
              "x 1-wkr", "x ref", "effic.", "RSS/wkr MB", "RSS tot MB", "CPU used", "others", "text ok",
              "warm-up s", "notes"]
    body = []
    for row in rows:
        notes = ["OVERSUBSCRIBED"] if row.oversubscribed and row.mode not in (REFERENCE, RAPIDOCR) else []
        notes += row.notes
        if row.error:
            body.append([_label(row), str(row.workers), str(row.threads), "failed", *[""] * (len(header) - 5),
                         row.error])
            continue
        body.append([
            _label(row), str(row.workers), str(row.threads), _fmt_range(row.images_per_s),
            _fmt_range(row.regions_per_s), _fmt_opt(row.speedup_vs_1_worker, "{:.2f}x"),
            _fmt_opt(row.speedup_vs_reference, "{:.2f}x"), _fmt_opt(row.efficiency, "{:.0%}"),
            f"{row.peak_rss_worker_mb:.0f}", f"{row.peak_rss_total_mb:.0f}", f"{row.cpu_cores_used:.2f}",
            f"{row.other_cores_busy:.2f}", _fmt_match(row.text_matched),
            f"{row.warmup_seconds:.1f}", "; ".join(notes),
        ])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _find(rows: Sequence[Row], mode: str, workers: int, threads: int) -> Row | None:
    return next((r for r in rows if r.mode == mode and r.workers == workers and r.threads == threads and r.ok), None)


def _scaling(rows: Sequence[Row], mode: str, threads: int) -> tuple[Row, Row] | None:
    """The 1-worker row and the most-workers row of a mode at `threads` engine threads."""
    most = max((r.workers for r in rows if r.mode == mode and r.threads == threads and r.ok), default=1)
    one, top = _find(rows, mode, 1, threads), _find(rows, mode, most, threads)
    return (one, top) if one is not None and top is not None and most > 1 else None


def _scaling_text(mode: str, one: Row, top: Row) -> str:
    return (f"{mode} pool 1->{top.workers} workers x {top.threads} thr: {_rate(one.median_ips)}->"
            f"{_rate(top.median_ips)} img/s ({top.speedup_vs_1_worker or 0:.2f}x, "
            f"efficiency {top.efficiency or 0:.0%}, {top.cpu_cores_used:.2f} cores busy)")


def note_line(rows: Sequence[Row], machine_cores: int | None = None) -> str:
    """What the figures show about threads vs processes, worded from the figures themselves."""
    n_cores = machine_cores or usable_cores()
    parts: list[str] = []
    verdicts: list[str] = []
    for threads in sorted({r.threads for r in rows if r.mode in ("thread", "process")}):
        by_mode = {mode: _scaling(rows, mode, threads) for mode in ("thread", "process")}
        parts.extend(_scaling_text(mode, *pair) for mode, pair in by_mode.items() if pair is not None)
        thread_pair, process_pair = by_mode["thread"], by_mode["process"]
        if thread_pair and process_pair and thread_pair[1].workers == process_pair[1].workers:
            verdicts.append(_verdict(thread_pair, process_pair, n_cores))
    for row in rows:
        single = _find(rows, row.mode, 1, 1)
        if row.mode in MODES and row.workers == 1 and row.threads > 1 and row.ok and single is not None:
            parts.append(f"{row.mode} 1 worker x {row.threads} engine threads: "
                         f"{_ratio(row.median_ips, single.median_ips) or 0:.2f}x over 1 thread")
    if not parts:
        return "note: not enough rows (need 1 and more workers of a mode) to compare scaling."
    text = "note: " + "; ".join(parts) + "." + "".join(f" {v}." for v in verdicts)
    busiest = max((r.other_cores_busy for r in rows if r.ok), default=0.0)
    if busiest >= 0.25:
        text += (f" Other programs kept up to {busiest:.2f} of {n_cores} cores busy during the timed runs "
                 "(column 'others'): those rows are slowed, and the comparison is only as good as that.")
    return text


def _verdict(thread_pair: tuple[Row, Row], process_pair: tuple[Row, Row], n_cores: int) -> str:
    (thread_one, thread_top), (process_one, process_top) = thread_pair, process_pair
    t_speedup, p_speedup = thread_top.speedup_vs_1_worker or 0.0, process_top.speedup_vs_1_worker or 0.0
    head = (f"At {thread_top.threads} engine thread(s) per worker, {thread_top.workers} threads give "
            f"{t_speedup:.2f}x and {process_top.workers} processes {p_speedup:.2f}x")
    if max(thread_one.cpu_cores_used, process_one.cpu_cores_used) >= 0.8 * n_cores and p_speedup < 1.15:
        return (f"{head}: neither scales, as 1 worker already keeps {process_one.cpu_cores_used:.2f} of "
                f"{n_cores} cores busy")
    if t_speedup < 1.15 and p_speedup >= t_speedup + 0.15:
        return (f"{head}: more threads in one process do not speed up recognition here "
                f"({thread_top.cpu_cores_used:.2f} cores busy), more processes do")
    if p_speedup >= t_speedup + 0.15:
        return (f"{head}: processes scale better; threads scale too ({thread_top.cpu_cores_used:.2f} cores busy), "
                "so the GIL is held for only a small part of the work")
    if t_speedup >= p_speedup + 0.15:
        return f"{head}: threads scale better than processes here"
    if p_speedup < 1.15:
        return f"{head}: neither scales here"
    return f"{head}: threads and processes scale about equally here"


def recommendation(rows: Sequence[Row]) -> tuple[str, str | None]:
    """The fastest pipeline setting whose text matched the reference, and the command for it."""
    candidates = [r for r in rows if r.mode in MODES and r.ok and r.text_matched is not False]
    if not candidates:
        return "recommendation: none (no pipeline row finished with matching text)", None
    best = max(candidates, key=lambda r: r.median_ips)
    command = f"python -m pipeline run INPUT --backend {best.mode} --workers {best.workers} --threads {best.threads}"
    line = (f"recommendation: {best.mode}, {best.workers} worker(s) x {best.threads} engine thread(s): "
            f"{_rate(best.median_ips)} images/s on this machine -> {command}")
    return line, command


# ----------------------------------------------------------------------------- the chart


_COLOURS = {"serial": (60, 160, 60), "thread": (0, 140, 255), "process": (200, 90, 20)}
_REF_COLOURS = {REFERENCE: (90, 90, 90), RAPIDOCR: (160, 40, 160)}
_FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX


def _nice_top(value: float) -> tuple[float, float]:
    """An axis top >= value and a tick step, both round numbers."""
    if value <= 0:
        return 1.0, 0.2
    raw = value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(value / step), step


def _dashed(img: Any, p1: tuple[int, int], p2: tuple[int, int], colour: tuple[int, int, int], width: int,
            dash: int = 12) -> None:
    import cv2

    length = math.hypot(p2[0] - p1[0], p2[1] - p1[1])
    steps = max(1, int(length // dash))
    for i in range(0, steps, 2):
        a = (int(p1[0] + (p2[0] - p1[0]) * i / steps), int(p1[1] + (p2[1] - p1[1]) * i / steps))
        j = min(i + 1, steps)
        b = (int(p1[0] + (p2[0] - p1[0]) * j / steps), int(p1[1] + (p2[1] - p1[1]) * j / steps))
        cv2.line(img, a, b, colour, width, cv2.LINE_AA)


def _marker(img: Any, centre: tuple[int, int], colour: tuple[int, int, int], square: bool) -> None:
    import cv2

    x, y = centre
    if square:
        cv2.rectangle(img, (x - 6, y - 6), (x + 6, y + 6), colour, -1, cv2.LINE_AA)
    else:
        cv2.circle(img, centre, 7, colour, -1, cv2.LINE_AA)


@dataclass(frozen=True)
class _Panel:
    left: int
    top: int
    width: int
    height: int
    y_top: float
    x_values: tuple[int, ...]

    def x(self, workers: int) -> int:
        index = self.x_values.index(workers)
        return self.left + int((index + 0.5) * self.width / len(self.x_values))

    def y(self, value: float) -> int:
        return self.top + self.height - int(self.height * min(value, self.y_top) / self.y_top)


def _text(img: Any, text: str, at: tuple[int, int], scale: float = 0.55, colour: tuple[int, int, int] = (0, 0, 0),
          thickness: int = 1) -> None:
    import cv2

    cv2.putText(img, text, at, _FONT, scale, colour, thickness, cv2.LINE_AA)


def _axes(img: Any, panel: _Panel, title: str, step: float, percent: bool) -> None:
    import cv2

    bottom, right = panel.top + panel.height, panel.left + panel.width
    ticks = int(round(panel.y_top / step))
    for i in range(ticks + 1):
        value = i * step
        y = panel.y(value)
        cv2.line(img, (panel.left, y), (right, y), (225, 225, 225), 1)
        label = f"{value:.0%}" if percent else f"{value:g}"
        _text(img, label, (panel.left - 12 - 11 * len(label), y + 5), 0.5)
    cv2.rectangle(img, (panel.left, panel.top), (right, bottom), (0, 0, 0), 1)
    for workers in panel.x_values:
        x = panel.x(workers)
        cv2.line(img, (x, bottom), (x, bottom + 6), (0, 0, 0), 1)
        _text(img, str(workers), (x - 6, bottom + 24), 0.55)
    _text(img, "workers", (panel.left + panel.width // 2 - 35, bottom + 50), 0.6)
    _text(img, title, (panel.left, panel.top - 14), 0.6, thickness=2)


def _series(rows: Sequence[Row]) -> dict[tuple[str, int], list[Row]]:
    series: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        if row.mode in MODES and row.ok:
            series.setdefault((row.mode, row.threads), []).append(row)
    return {key: sorted(value, key=lambda r: r.workers) for key, value in sorted(series.items())}


def _plot(img: Any, panel: _Panel, series: dict[tuple[str, int], list[Row]], threads_seen: list[int],
          value: Callable[[Row], float | None], bars: bool) -> None:
    import cv2

    for (mode, threads), points in series.items():
        colour = _COLOURS[mode]
        square = threads_seen.index(threads) % 2 == 1
        coords = [(panel.x(r.workers), panel.y(v)) for r in points if (v := value(r)) is not None]
        for a, b in zip(coords, coords[1:]):
            if square:
                _dashed(img, a, b, colour, 2)
            else:
                cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        for row, point in zip([r for r in points if value(r) is not None], coords):
            if bars:
                lo, hi = panel.y(row.images_per_s["min"]), panel.y(row.images_per_s["max"])
                cv2.line(img, (point[0], lo), (point[0], hi), colour, 1, cv2.LINE_AA)
                cv2.line(img, (point[0] - 5, lo), (point[0] + 5, lo), colour, 1, cv2.LINE_AA)
                cv2.line(img, (point[0] - 5, hi), (point[0] + 5, hi), colour, 1, cv2.LINE_AA)
            _marker(img, point, colour, square)


def draw_chart(rows: Sequence[Row], path: Path, title: str) -> None:
    """Throughput (left) and parallel efficiency (right) against workers, one line per mode and
    engine threads; reference and RapidOCR as horizontal dashed lines on the throughput panel."""
    import cv2
    import numpy as np

    width, height = 1500, 700
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    series = _series(rows)
    x_values = tuple(sorted({r.workers for s in series.values() for r in s})) or (1,)
    threads_seen = sorted({threads for _, threads in series})
    flat = [r for r in rows if r.ok]
    top_ips = max([r.images_per_s["max"] for r in flat] or [1.0])
    y_top, step = _nice_top(top_ips * 1.1)
    left = _Panel(110, 90, 560, 420, y_top, x_values)
    eff_values = [r.efficiency for s in series.values() for r in s if r.efficiency is not None]
    e_top, e_step = _nice_top(max([1.0, *eff_values]) * 1.1)
    right = _Panel(880, 90, 560, 420, e_top, x_values)
    _text(img, title, (20, 36), 0.75, thickness=2)
    _axes(img, left, "Throughput (images/s, median; bars: min-max)", step, False)
    _axes(img, right, "Parallel efficiency (speedup over 1 worker / workers)", e_step, True)
    for row in flat:
        if row.mode in _REF_COLOURS:
            y = left.y(row.median_ips)
            _dashed(img, (left.left, y), (left.left + left.width, y), _REF_COLOURS[row.mode], 2)
            _text(img, f"{row.mode} {_rate(row.median_ips)}", (left.left + 6, y - 6), 0.5, _REF_COLOURS[row.mode])
    _dashed(img, (right.left, right.y(1.0)), (right.left + right.width, right.y(1.0)), (150, 150, 150), 1, 6)
    _text(img, "ideal", (right.left + right.width - 50, right.y(1.0) - 6), 0.5, (120, 120, 120))
    _plot(img, left, series, threads_seen, lambda r: r.median_ips, True)
    _plot(img, right, series, threads_seen, lambda r: r.efficiency, False)
    _legend(img, series, threads_seen, rows, (110, 620))
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".png", img)
    if not ok:
        raise RuntimeError("could not encode the chart as PNG")
    encoded.tofile(str(path))


def _legend(img: Any, series: dict[tuple[str, int], list[Row]], threads_seen: list[int], rows: Sequence[Row],
            origin: tuple[int, int]) -> None:
    import cv2

    x, y = origin
    entries: list[tuple[str, tuple[int, int, int], bool, bool]] = []
    for mode, threads in series:
        entries.append((f"{mode}, {threads} engine thr/worker", _COLOURS[mode], threads_seen.index(threads) % 2 == 1,
                        False))
    for row in rows:
        if row.mode in _REF_COLOURS and row.ok:
            entries.append((f"{row.mode} ({row.threads} thr, 1 process)", _REF_COLOURS[row.mode], True, True))
    for i, (label, colour, dashed, flat_line) in enumerate(entries):
        cx, cy = x + (i % 3) * 440, y + (i // 3) * 34
        if dashed:
            _dashed(img, (cx, cy), (cx + 50, cy), colour, 2)
        else:
            cv2.line(img, (cx, cy), (cx + 50, cy), colour, 2, cv2.LINE_AA)
        if not flat_line:
            _marker(img, (cx + 25, cy), colour, dashed)
        _text(img, label, (cx + 62, cy + 6), 0.55)


# ----------------------------------------------------------------------------- the command


def _machine() -> dict[str, Any]:
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cores": usable_cores(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "processor": _cpu_model(),
        "packages": {n: version(n) for n in ("paddlepaddle", "paddleocr", "paddlex", "rapidocr-paddle",
                                             "rapidocr-onnxruntime", "onnxruntime", "numpy", "opencv-python")},
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _row_json(row: Row) -> dict[str, Any]:
    return dataclasses.asdict(row)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run_cells(cells: Sequence[CellSpec], images: int, out: Path) -> list[CellResult]:
    """Each cell's spec and result stay in OUT/cells/ (with the recognized text), its output in OUT/cells.log."""
    log = out / "cells.log"
    log.write_text("", encoding="utf-8")
    workdir = out / "cells"
    workdir.mkdir(exist_ok=True)
    results = []
    for number, spec in enumerate(cells, 1):
        _progress(f"[{number}/{len(cells)}] {spec.mode}: {spec.workers} worker(s) x {spec.threads} thread(s) ...")
        result = run_cell_isolated(spec, images, log, workdir)
        if result.error is None and result.seconds:
            ips = images / statistics.median(result.seconds)
            _progress(f"    warm-up {result.warmup_seconds:.1f}s, {_rate(ips)} images/s, "
                      f"{result.cpu_cores_used:.2f} cores busy (others {result.other_cores_busy:.2f})")
        else:
            _progress(f"    failed: {result.error}")
        results.append(result)
    return results


def bench_command(inputs: Sequence[str], *, workers: str, threads: str, modes: str, repeat: int, out: str,
                  config_path: str | None = None) -> int:
    """The `bench` command: returns the exit code (0, or 3 when a cell failed)."""
    from pipeline.config import load_config
    from pipeline.inputs import discover
    from pipeline.models import resolve_models

    worker_counts = parse_positive_list(workers, "--workers")
    thread_counts = parse_positive_list(threads, "--threads")
    mode_names = parse_modes(modes)
    if repeat < 1:
        raise _config_error("--repeat must be at least 1")
    config = load_config(config_path)
    resolve_models(config.models, config.engine.runtime)  # prepare the model cache once, before any cell starts
    found = discover(inputs)
    for warning in found.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not found.images:
        raise _config_error("no images found in " + ", ".join(inputs))
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with_rapid = rapidocr_available()
    absolute = tuple(str(Path(p).absolute()) for p in inputs)
    cells = plan_cells(worker_counts, thread_counts, mode_names, repeat, absolute,
                       str(Path(config_path).absolute()) if config_path else None, with_rapid)
    _progress(f"bench: {len(found.images)} images, {len(cells)} cells, {repeat} repeat(s) each, {usable_cores()} cores")
    results = run_cells(cells, len(found.images), out_dir)
    return report(results, found.images, out_dir, repeat, inputs, with_rapid)


def report(results: Sequence[CellResult], images: Sequence[Any], out_dir: Path, repeat: int,
           inputs: Sequence[str], with_rapid: bool) -> int:
    machine_cores = usable_cores()
    rows = build_rows(results, machine_cores)
    table = format_table(rows)
    note = note_line(rows, machine_cores)
    advice, command = recommendation(rows)
    extra = _extra_lines(results, rows, with_rapid, machine_cores)
    print(table)
    print(note)
    for line in extra:
        print(line)
    print(advice)
    regions = next((r.regions for r in rows if r.mode == REFERENCE and r.ok),
                   max((r.regions for r in rows if r.ok), default=0))
    title = (f"pipeline bench: {len(images)} image(s), {regions} regions, {repeat} repeat(s), "
             f"{machine_cores} cores ({_cpu_model()[:40]})")
    draw_chart(rows, out_dir / "bench.png", title)
    payload = {
        "inputs": list(inputs), "images": len(images), "repeat": repeat, "machine": _machine(),
        "rows": [_row_json(r) for r in rows],
        "reference_candidates": [
            {"threads": r.threads, "seconds": r.seconds, "warmup_seconds": r.warmup_seconds, "error": r.error}
            for r in results if r.mode == REFERENCE
        ],
        "rapidocr": "measured" if with_rapid else "skipped: rapidocr_onnxruntime is not installed",
        "note": note, "notes": extra, "recommendation": advice, "command": command, "table": table,
    }
    _write_json(out_dir / "bench.json", payload)
    print(f"wrote {out_dir / 'bench.json'} and {out_dir / 'bench.png'}", file=sys.stderr)
    return EXIT_RUN_FAILED if any(r.error for r in results) else EXIT_OK


def _extra_lines(results: Sequence[CellResult], rows: Sequence[Row], with_rapid: bool, machine_cores: int) -> list[str]:
    lines = []
    refs = [r for r in results if r.mode == REFERENCE and r.error is None and r.seconds]
    if len(refs) > 1:
        figures = ", ".join(f"cpu_threads={r.threads}: {_rate(r.images / statistics.median(r.seconds))}" for r in refs)
        lines.append(f"reference (plain PaddleOCR.predict) images/s by cpu_threads: {figures}; the best is shown")
    if not with_rapid:
        lines.append("rapidocr: skipped (pip install 'pipeline[bench]' or rapidocr-onnxruntime==1.4.4 to add it)")
    else:
        lines.append(f"rapidocr: its own ONNX PP-OCRv4 weights and pre/post-processing, {RAPIDOCR_THREADS} "
                     "intra-op threads, no angle classifier; its text is not expected to equal the reference")
    if any(r.oversubscribed for r in rows if r.mode in MODES):
        lines.append(f"OVERSUBSCRIBED: workers x engine threads > {machine_cores} cores")
    lines.append("CPU used: average cores busy in the measured process tree during the timed runs; others: average "
                 "cores busy with other programs meanwhile (noise: the row is slowed when CPU used + others > cores)")
    lines.append("RSS/wkr: peak RSS of the largest worker process (for serial, thread, reference and rapidocr the one "
                 "process that holds every engine); RSS tot: peak of that process plus all its children")
    return lines


# ----------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pipeline.bench --cell SPEC RESULT` runs one cell; anything else is `pipeline bench`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--cell"] and len(args) == 3:
        return _cell_main(args[1], args[2])
    from pipeline.cli import main as cli_main

    return cli_main(["bench", *args])


if __name__ == "__main__":
    sys.exit(main())
