"""From measured cells to rows: medians and ranges, speed-ups over one worker and over the
yardsticks, per-round wall-time ratios of the whole-process runs, and how far each row's text is
from the text it should equal."""

from __future__ import annotations

import difflib
import statistics
from collections.abc import Sequence
from typing import Any

from pipeline.tools.bench.data import DEFAULT_VARIANT, PADDLEOCR, PADDLEOCR_OURS, PEERS, CellResult, Row, Spread

__all__ = ["best_yardstick", "build_rows", "differing_lines", "pair_ratios", "spread", "text_difference"]

MAX_DIFFERENCES = 200  # differing lines kept per row in bench.json


def spread(values: Sequence[float]) -> Spread:
    if not values:
        return {"median": 0.0, "min": 0.0, "max": 0.0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio(a: float, b: float) -> float | None:
    return a / b if a > 0 and b > 0 else None


def pair_ratios(ours: Sequence[float], theirs: Sequence[float]) -> Spread | None:
    """Wall-time ratio ours/theirs of each round (runs of one round ran back to back), as a spread."""
    ratios = [a / b for a, b in zip(ours, theirs) if a > 0 and b > 0]
    return spread(ratios) if ratios else None


def _ok(result: CellResult) -> bool:
    return result.error is None and result.missing is None and bool(result.seconds)


def best_yardstick(results: Sequence[CellResult], mode: str) -> CellResult | None:
    """The yardstick's best cell (e.g. PaddleOCR's best `cpu_threads`): the shortest whole-process
    median when every candidate has one, else the highest steady-state images/s."""
    done = [r for r in results if r.mode == mode and _ok(r)]
    if done and all(r.whole_seconds for r in done):
        return min(done, key=lambda r: statistics.median(r.whole_seconds))
    return max(done, key=lambda r: r.images / statistics.median(r.seconds), default=None)


def _to_row(result: CellResult, machine_cores: int) -> Row:
    ips = [result.images / s for s in result.seconds if s > 0]
    rps = [result.regions / s for s in result.seconds if s > 0]
    return Row(
        mode=result.mode, variant=result.variant, workers=result.workers, threads=result.threads,
        oversubscribed=result.workers * result.threads > machine_cores,
        warmup_seconds=result.warmup_seconds, seconds=list(result.seconds), images=result.images,
        regions=result.regions, images_per_s=spread(ips), regions_per_s=spread(rps),
        speedup_vs_1_worker=None, efficiency=None, memory=result.memory, program=result.program,
        peak_worker_mb=result.peak_worker_mb, peak_total_mb=result.peak_total_mb,
        cpu_cores_used=result.cpu_cores_used, other_cores_busy=result.other_cores_busy, text_matched=None,
        stage_seconds=dict(result.stage_seconds), whole_seconds=list(result.whole_seconds),
        whole=spread(result.whole_seconds) if result.whole_seconds else None,
        whole_cpu=spread(result.whole_cpu_seconds) if result.whole_cpu_seconds else None, whole_peak_mb=result.whole_peak_mb,
        missing=result.missing, error=result.error,
    )


def build_rows(results: Sequence[CellResult], machine_cores: int) -> list[Row]:
    """Rows of the table, in the cells' order; of several PaddleOCR cells only the best is kept."""
    peers = {mode: best for mode in PEERS if (best := best_yardstick(results, mode)) is not None}
    paddle = peers.get(PADDLEOCR)
    chosen = [r for r in results if r.mode != PADDLEOCR or r is paddle or paddle is None]
    texts = {r.variant: r for r in results if r.mode == PADDLEOCR_OURS and _ok(r)}
    rows = [_to_row(r, machine_cores) for r in chosen]
    for row, result in zip(rows, chosen):
        _note_outlived(row, result)
        if not row.ok:
            continue
        _compare_speed(row, rows, result, peers)
        reference = texts.get(row.variant if row.ours else DEFAULT_VARIANT)
        if reference is not None and reference is not result:
            _compare_text(row, result, reference)
        _note_faults(row, result)
    return rows


def _compare_speed(row: Row, rows: Sequence[Row], result: CellResult, peers: dict[str, CellResult]) -> None:
    if row.ours:
        base = next((r for r in rows if (r.mode, r.variant, r.threads, r.workers) ==
                     (row.mode, row.variant, row.threads, 1) and r.ok), None)
        if base is not None:
            row.speedup_vs_1_worker = ratio(row.median_ips, base.median_ips)
            if row.speedup_vs_1_worker is not None:
                row.efficiency = row.speedup_vs_1_worker / row.workers
    for mode, peer in peers.items():
        if peer is result:
            continue
        speed = ratio(row.median_ips, peer.images / statistics.median(peer.seconds))
        if speed is not None:
            row.speedup_vs[mode] = speed
        wall = pair_ratios(result.whole_seconds, peer.whole_seconds)
        if wall is not None:
            row.wall_vs[mode] = wall


def _note_outlived(row: Row, result: CellResult) -> None:
    """A process still running when the command exited: named in the notes (a multiprocessing
    resource tracker on a busy machine may take a moment to see the end); one killed is a failure."""
    if result.outlived:
        killed = f", {len(result.killed)} killed" if result.killed else ""
        row.notes.append(f"{len(result.outlived)} process(es) outlived the command{killed}: "
                         + "; ".join(result.outlived[:3]))


def _compare_text(row: Row, result: CellResult, reference: CellResult) -> None:
    row.text_matched = result.repeats_agree and result.texts == reference.texts
    if row.text_matched is False:
        row.notes.append(text_difference(result.texts, reference.texts))
        row.differences = differing_lines(result.texts, reference.texts)


def differing_lines(texts: dict[str, list[str]], reference: dict[str, list[str]],
                    limit: int = MAX_DIFFERENCES) -> list[dict[str, Any]]:
    """The lines that differ, page by page: {"page", "ours": [...], "reference": [...]}, at most `limit`."""
    found: list[dict[str, Any]] = []
    for page in sorted(set(texts) | set(reference)):
        ours, want = texts.get(page, []), reference.get(page, [])
        matcher = difflib.SequenceMatcher(None, ours, want, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                found.append({"page": page, "ours": ours[i1:i2], "reference": want[j1:j2]})
                if len(found) >= limit:
                    return found
    return found


def _note_faults(row: Row, result: CellResult) -> None:
    if not result.repeats_agree:
        row.notes.append("repeats gave different text")
    if result.whole_texts and result.whole_texts != result.texts:
        row.notes.append("the whole-process run gave other text: " + text_difference(result.whole_texts, result.texts))
    if result.whole_error:
        row.notes.append(f"whole-process run failed: {result.whole_error}")
    if result.failed_images:
        row.notes.append(f"{result.failed_images} error record(s)")
    if result.distinct_workers < result.workers:
        row.notes.append(f"only {result.distinct_workers} of {result.workers} workers warmed up")


def text_difference(texts: dict[str, list[str]], reference: dict[str, list[str]]) -> str:
    """How far the text is from the reference: pages that differ, lines found verbatim, characters alike."""
    pages = sorted(k for k in set(texts) | set(reference) if texts.get(k) != reference.get(k))
    want = [line for key in sorted(reference) for line in reference[key]]
    got = [line for key in sorted(reference) for line in texts.get(key, [])]
    same_lines = sum(min(got.count(line), want.count(line)) for line in set(want))
    chars = difflib.SequenceMatcher(None, "\n".join(got), "\n".join(want), autojunk=False).ratio()
    return (f"text differs on {len(pages)} page(s) ({', '.join(pages[:2])}{', ...' if len(pages) > 2 else ''}); "
            f"{same_lines}/{len(want)} reference lines verbatim, {chars:.1%} characters alike")
