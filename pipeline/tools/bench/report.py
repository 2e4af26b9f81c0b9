"""The bench's results as text and JSON: the table, the explanatory lines, and `bench.json`."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.config import usable_cores
from pipeline.tools.bench.data import (
    FASTER_PADDLE,
    PADDLEOCR,
    PADDLEOCR_OURS,
    PEER_NAMES,
    PEERS,
    RAPIDOCR,
    TESSERACT,
    CellResult,
    Row,
)
from pipeline.tools.bench.fmt import opt, rate, spread_text
from pipeline.tools.bench.plan import PEER_SHAPES

__all__ = ["cpu_model", "explanations", "format_table", "machine", "write_json"]

def _header(memory: str) -> list[str]:
    return ["setting", "wkr", "thr", "images/s med (min-max)", "regions/s med", "x 1-wkr", "effic.", "x PaddleOCR",
            "whole s med (min-max)", "whole CPU s", *[f"wall/{PEER_NAMES[p]}" for p in PEERS],
            f"{memory}/wkr MB", f"{memory} tot MB", f"whole {memory} MB", "CPU used", "others", "text ok", "warm-up s",
            "notes"]


def _match(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def _cells(row: Row, columns: int) -> list[str]:
    notes = (["OVERSUBSCRIBED"] if row.oversubscribed and row.ours else []) + row.notes
    if row.missing is not None:
        return [row.label, str(row.workers), str(row.threads), "not run", *[""] * (columns - 5),
                "; ".join([f"missing: {row.missing}", *notes])]
    if not row.ok:
        return [row.label, str(row.workers), str(row.threads), "failed", *[""] * (columns - 5),
                "; ".join([row.error or "no timed run", *notes])]
    return [
        row.label, str(row.workers), str(row.threads), spread_text(row.images_per_s),
        rate(row.regions_per_s["median"]), opt(row.speedup_vs_1_worker, "{:.2f}x"), opt(row.efficiency, "{:.0%}"),
        opt(row.speedup_vs.get(PADDLEOCR), "{:.2f}x"),
        spread_text(row.whole, "{:.1f}"), opt(row.whole_cpu["median"] if row.whole_cpu else None, "{:.1f}"),
        *[spread_text(row.wall_vs.get(peer), "{:.2f}") for peer in PEERS],
        f"{row.peak_worker_mb:.0f}", f"{row.peak_total_mb:.0f}",
        f"{row.whole_peak_mb:.0f}" if row.whole else "-", f"{row.cpu_cores_used:.2f}", f"{row.other_cores_busy:.2f}",
        _match(row.text_matched), f"{row.warmup_seconds:.1f}", "; ".join(notes),
    ]


def format_table(rows: Sequence[Row]) -> str:
    """One line per row; the memory columns say PSS or RSS (what this OS reports)."""
    header = _header(next((r.memory for r in rows if r.ok), "RSS"))
    body = [_cells(row, len(header)) for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def explanations(results: Sequence[CellResult], rows: Sequence[Row], machine_cores: int, engine: str) -> list[str]:
    """What the rows and columns are, and which PaddleOCR cpu_threads won."""
    lines = []
    plain = [r for r in results if r.mode == PADDLEOCR and r.error is None and r.seconds]
    if len(plain) > 1:
        figures = ", ".join(
            f"cpu_threads={r.threads}: {rate(r.images / statistics.median(r.seconds))} img/s"
            + (f", {statistics.median(r.whole_seconds):.1f}s whole" if r.whole_seconds else "")
            for r in plain)
        lines.append(f"{PADDLEOCR} by cpu_threads: {figures}; the best is shown (by whole-process time when measured)")
    lines.append(f"{PADDLEOCR}: plain PaddleOCR(...) with its own defaults (recognition batch 6), the embedded models, "
                 f"orientation models off, engine {engine}: the headline yardstick")
    lines.append(f"{PADDLEOCR_OURS}: PaddleOCR(...) with our settings, 1 thread: the text each row of its variant must "
                 "equal ('text ok'); the yardsticks are compared with the default variant's")
    programs = {r.mode: r.program for r in results if r.program}
    described = {
        RAPIDOCR: f"{programs.get(RAPIDOCR, 'RapidOCR')} with its defaults (PP-OCRv6 small, angle classifier on), "
                  f"onnxruntime with {PEER_SHAPES[RAPIDOCR][1]} intra-op threads",
        TESSERACT: f"{programs.get(TESSERACT, 'Tesseract')}: `tesseract IMG - -l eng`, one process per page with "
                   f"OMP_THREAD_LIMIT=1, {PEER_SHAPES[TESSERACT][0]} pages at a time (as OCRmyPDF runs it)",
        FASTER_PADDLE: f"{programs.get(FASTER_PADDLE, 'faster-paddle')} at its defaults (PP-OCRv6 tiny), "
                       f"OcrEngine(threads={PEER_SHAPES[FASTER_PADDLE][1]}), page after page",
    }
    for peer, text in described.items():
        if any(r.mode == peer for r in rows):
            lines.append(f"{peer}: {text}; its text is not expected to equal ours")
    missing = [f"{r.mode} ({r.missing})" for r in rows if r.missing]
    if missing:
        lines.append("not run, not installed here: " + "; ".join(missing))
    if any(r.oversubscribed for r in rows if r.ours):
        lines.append(f"OVERSUBSCRIBED: workers x engine threads > {machine_cores} cores")
    lines.append("images/s: pool warm, pages only (warm-up apart); whole s: the same setting as a whole fresh process "
                 "(`pipeline run`, or the yardstick's script), start to exit; wall/X: whole-process wall time ours/X, "
                 "per round of alternated runs (below 1 is faster than X); whole CPU s: user + system CPU of every process "
                 "of that run (median; steadier than wall time on a busy machine)")
    lines.append("CPU used: average cores busy in the measured process tree during the timed runs; others: average "
                 "cores busy with other programs meanwhile (noise: the row is slowed when CPU used + others > cores)")
    memory = next((r.memory for r in rows if r.ok), "RSS")
    kind = ("PSS: proportional set size (a page shared by n processes counts 1/n in each, so the tree's sum counts it "
            "once)" if memory == "PSS" else "RSS: resident set size (this OS reports no PSS; shared pages count in "
                                                "every process)")
    lines.append(f"{memory}/wkr: peak {memory} of the largest worker process (the one process for serial, thread and "
                 f"the yardsticks); {memory} tot: summed over that process and its children; whole {memory}: peak sum "
                 f"over the whole-process run's tree. {kind}")
    return lines


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict[str, Any]:
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cores": usable_cores(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "processor": cpu_model(),
        "packages": {n: version(n) for n in ("paddlepaddle", "paddleocr", "paddlex", "rapidocr-paddle",
                                             "rapidocr-onnxruntime", "rapidocr", "faster-paddle", "onnxruntime", "numpy",
                                             "opencv-python")},
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
