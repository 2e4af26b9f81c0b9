"""The `bench` command: the order of the work (plan, cells, whole-process rounds, report).
The command line (`pipeline.cli`) calls `run_bench`; nothing in the bench imports the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import usable_cores
from pipeline.errors import ConfigError, ExitCode
from pipeline.tools.bench.chart import draw_chart
from pipeline.tools.bench.data import DEFAULT_VARIANT, PADDLEOCR, YARDSTICKS, CellResult, CellSpec
from pipeline.tools.bench.fmt import rate
from pipeline.tools.bench.isolate import run_cell_isolated
from pipeline.tools.bench.options import ENGINES, BenchOptions, default_reference_threads, options_from_args
from pipeline.tools.bench.plan import (
    Plan,
    Variant,
    parse_modes,
    parse_overrides,
    parse_positive_list,
    parse_variant,
    parse_yardsticks,
    plan_cells,
    write_variant_configs,
)
from pipeline.tools.bench.report import cpu_model, explanations, format_table, machine, write_json
from pipeline.tools.bench.sampling import MEMORY_KIND
from pipeline.tools.bench.stats import build_rows
from pipeline.tools.bench.verdicts import headline, note_line, recommendation
from pipeline.tools.bench.whole import run_rounds
from pipeline.tools.bench.yardsticks import missing_reason, program

__all__ = ["bench_command", "measure_cell", "run_bench"]


def run_bench(args: argparse.Namespace) -> int:
    """The command line's entry: flags as `pipeline.tools.bench.options.add_arguments` defined them."""
    return bench_command(options_from_args(args))


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _plan(options: BenchOptions, out_dir: Path) -> tuple[Plan, list[Variant], int]:
    """Every flag checked, and each variant's config written, before anything runs."""
    if options.repeat < 1:
        raise ConfigError("--repeat must be at least 1")
    rounds = options.repeat if options.rounds is None else options.rounds
    if rounds < 0:
        raise ConfigError("--rounds must be 0 or more")
    if options.reference_engine not in ENGINES:
        raise ConfigError(f"--reference-engine must be one of {', '.join(ENGINES)}")
    workers = parse_positive_list(options.workers, "--workers")
    threads = parse_positive_list(options.threads, "--threads")
    modes = parse_modes(options.modes)
    reference_threads = parse_positive_list(options.ref_threads or default_reference_threads(), "--ref-threads")
    yardsticks = parse_yardsticks(options.yardsticks)
    common = parse_overrides(options.overrides)
    variants = [parse_variant(text) for text in options.variants]
    configs = write_variant_configs(options.config, common, variants, out_dir / "configs")
    inputs = tuple(str(Path(p).absolute()) for p in options.inputs)
    plan = Plan(workers, threads, modes, reference_threads, options.repeat, inputs, configs,
                options.reference_engine, yardsticks)
    return plan, [Variant(DEFAULT_VARIANT, common), *variants], rounds


def _prepare(plan: Plan) -> int:
    """Prepare every variant's models once (before any cell starts); the number of pages."""
    from pipeline.inputs.discover import discover
    from pipeline.ocr.models import on_paddle, resolve_models
    from pipeline.run.settings import run_config

    for path in plan.configs.values():
        config = run_config(path)
        resolve_models(config.models, config.engine.runtime)
    default = run_config(plan.configs[DEFAULT_VARIANT]).models
    resolve_models(on_paddle(default) if plan.reference_engine == "paddle" else default, plan.reference_engine)  # plain PaddleOCR's
    found = discover(plan.inputs)
    for warning in found.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not found.images:
        raise ConfigError("no images found in " + ", ".join(plan.inputs))
    return len(found.images)


def bench_command(options: BenchOptions) -> int:
    """Measure every setting, print the table and verdicts, write bench.json and bench.png;
    0, or 3 when a setting failed."""
    out_dir = Path(options.out)
    plan, variants, rounds = _plan(options, out_dir)
    images = _prepare(plan)
    cells = plan_cells(plan)
    _progress(f"bench: {images} images, {len(cells)} cells, {plan.repeat} timed run(s) each, {rounds} whole-process "
              f"round(s), {usable_cores()} cores")
    log, workdir = out_dir / "cells.log", out_dir / "cells"
    log.write_text("", encoding="utf-8")
    workdir.mkdir(exist_ok=True)
    results: list[CellResult] = []
    for number, spec in enumerate(cells, 1):
        _progress(f"[{number}/{len(cells)}] {spec.name} ...")
        result = measure_cell(spec, images, log, workdir)
        if result.missing is not None:
            _progress(f"    not run: {result.missing}")
        elif result.error is None and result.seconds:
            _progress(f"    warm-up {result.warmup_seconds:.1f}s, {rate(images / min(result.seconds))} images/s at best, "
                      f"{result.cpu_cores_used:.2f} cores busy (others {result.other_cores_busy:.2f})")
        else:
            _progress(f"    failed: {result.error}")
        results.append(result)
    if rounds:
        run_rounds(cells, results, rounds, images, out_dir, _progress)
    return _report(results, plan, variants, images, rounds, out_dir)


def measure_cell(spec: CellSpec, images: int, log: Path, workdir: Path) -> CellResult:
    """A yardstick not installed here is a row saying why; any other cell runs in its own process."""
    if spec.mode not in YARDSTICKS:
        return run_cell_isolated(spec, images, log, workdir)
    reason = missing_reason(spec.mode)
    if reason is not None:
        return CellResult.not_run(spec, reason)
    result = run_cell_isolated(spec, images, log, workdir)
    result.program = program(spec.mode)
    return result


def _report(results: Sequence[CellResult], plan: Plan, variants: Sequence[Variant], images: int, rounds: int,
            out_dir: Path) -> int:
    cores = usable_cores()
    rows = build_rows(results, cores)
    table = format_table(rows)
    note = note_line(rows, cores)
    top = headline(rows)
    described = {v.label: v.describe() for v in variants if v.overrides}
    advice, command = recommendation(rows, described)
    extra = explanations(results, rows, cores, plan.reference_engine)
    if len(variants) > 1 or variants[0].overrides:
        extra.append("variants: " + "; ".join(f"[{v.label}] {v.describe()}" for v in variants))
    print(table)
    for line in (note, top, *extra, advice):
        print(line)
    regions = next((r.regions for r in rows if r.mode == PADDLEOCR and r.ok), max((r.regions for r in rows), default=0))
    title = (f"pipeline bench: {images} image(s), {regions} regions, {plan.repeat} timed run(s), {rounds} whole-process "
             f"round(s), {cores} cores ({cpu_model()[:40]})")
    draw_chart(rows, out_dir / "bench.png", title)
    write_json(out_dir / "bench.json", {
        "inputs": list(plan.inputs), "images": images, "repeat": plan.repeat, "rounds": rounds, "machine": machine(),
        "variants": {v.label: dict(v.overrides) for v in variants}, "reference_engine": plan.reference_engine,
        "yardsticks": list(plan.yardsticks), "memory": MEMORY_KIND,
        "rows": [r.as_dict() for r in rows],
        "paddleocr_candidates": [
            {"threads": r.threads, "seconds": r.seconds, "whole_seconds": r.whole_seconds, "error": r.error}
            for r in results if r.mode == PADDLEOCR
        ],
        "note": note, "headline": top, "notes": extra, "recommendation": advice, "command": command, "table": table,
    })
    _progress(f"wrote {out_dir / 'bench.json'} and {out_dir / 'bench.png'}")
    failed = any(r.error or r.whole_error or r.killed for r in results)  # a missing yardstick is no failure
    return ExitCode.RUN_FAILED if failed else ExitCode.OK
