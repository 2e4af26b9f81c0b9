"""Whole-process runs: every setting started as the program its user would start, timed from start
to exit (interpreter start, imports, model load, warm-up, every page): the user's wall time.

Ours is `python -m pipeline run` itself, with the cell's backend, workers, threads and variant
config; a yardstick is `python -m pipeline.tools.bench.yardsticks`. The settings take turns, round after
round (A B C, A B C, ...), so that a slow minute on a shared machine slows every setting alike and
the per-round ratios ours/theirs stay fair.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.tools.bench.data import YARDSTICKS, CellResult, CellSpec, page_key
from pipeline.tools.bench.isolate import run_child

__all__ = ["command_for", "read_texts", "run_rounds"]

Progress = Callable[[str], None]


def command_for(spec: CellSpec, output: Path) -> list[str]:
    if spec.mode in YARDSTICKS:
        return [sys.executable, "-m", "pipeline.tools.bench.yardsticks", spec.mode, *spec.inputs, "--threads",
                str(spec.threads), "--jobs", str(spec.workers), "--config", spec.config_path, "--engine", spec.engine,
                "--out", str(output)]
    return [sys.executable, "-m", "pipeline", "run", *spec.inputs, "-o", str(output), "--format", "jsonl",
            "--overwrite", "--quiet", "--backend", spec.mode, "--workers", str(spec.workers), "--threads",
            str(spec.threads), "--config", spec.config_path]


def read_texts(path: Path) -> dict[str, list[str]]:
    """Lines per page from a JSONL of records (ours or a yardstick's); error records have none."""
    texts: dict[str, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            record = json.loads(raw)
            texts[page_key(record["image"], record["page"])] = [line["text"] for line in record.get("lines") or []]
    return texts


def _timeout(images: int) -> float:
    return 600.0 + images * 60.0


def run_rounds(specs: Sequence[CellSpec], results: Sequence[CellResult], rounds: int, images: int, out: Path,
               progress: Progress) -> None:
    """Run every setting whose cell succeeded once per round, in the same order each round; the
    wall times, peak memory (PSS where the OS has it), the processes each left running, and the
    first round's text go into its `CellResult`."""
    folder = out / "whole"
    folder.mkdir(exist_ok=True)
    log = out / "whole.log"
    log.write_text("", encoding="utf-8")
    todo = [(spec, result) for spec, result in zip(specs, results) if result.error is None and result.missing is None]
    for number in range(1, rounds + 1):
        progress(f"whole-process round {number}/{rounds}: {len(todo)} settings")
        for spec, result in todo:
            if result.whole_error is not None:
                continue
            output = folder / f"{spec.name}.jsonl"
            done = run_child(command_for(spec, output), log, f"round {number} {spec.name}", _timeout(images))
            result.outlived.extend(f"round {number}: {what}" for what in done.outlived)
            result.killed.extend(f"round {number}: {what}" for what in done.killed)
            if done.returncode not in (0, 1):  # 1: finished, with some error records
                result.whole_error = "timed out" if done.timed_out else f"exit code {done.returncode} (see {log})"
                continue
            result.whole_seconds.append(done.seconds)
            if done.cpu_seconds is not None:
                result.whole_cpu_seconds.append(done.cpu_seconds)
            result.whole_peak_mb = max(result.whole_peak_mb, done.peak_mb)
            result.memory = done.memory
            if not result.whole_texts:
                result.whole_texts = read_texts(output)
            cpu = "" if done.cpu_seconds is None else f" ({done.cpu_seconds:.1f}s CPU)"
            left = f"; {len(done.outlived)} process(es) outlived it" if done.outlived else ""
            progress(f"    {spec.name}: {done.seconds:.1f}s{cpu}, peak {done.memory} {done.peak_mb:.0f} MB{left}")
