"""What the figures say, worded from the figures themselves: how threads and processes scale, the
headline against the yardsticks (whole-process wall time), and the setting to use."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.config import usable_cores
from pipeline.tools.bench.data import DEFAULT_VARIANT, PADDLEOCR, PEER_NAMES, PEERS, Row
from pipeline.tools.bench.fmt import rate
from pipeline.tools.bench.stats import ratio

__all__ = ["headline", "note_line", "recommendation"]

SCALES = 1.15  # a speed-up below this is "does not scale"
MARGIN = 0.15  # speed-ups closer than this are "about equal"


def _find(rows: Sequence[Row], mode: str, variant: str, workers: int, threads: int) -> Row | None:
    return next((r for r in rows if (r.mode, r.variant, r.workers, r.threads) == (mode, variant, workers, threads)
                 and r.ok), None)


def _scaling(rows: Sequence[Row], mode: str, variant: str, threads: int) -> tuple[Row, Row] | None:
    """The 1-worker row and the most-workers row of a mode at `threads` engine threads."""
    same = [r for r in rows if (r.mode, r.variant, r.threads) == (mode, variant, threads) and r.ok]
    most = max((r.workers for r in same), default=1)
    one, top = _find(rows, mode, variant, 1, threads), _find(rows, mode, variant, most, threads)
    return (one, top) if one is not None and top is not None and most > 1 else None


def _scaling_text(mode: str, one: Row, top: Row) -> str:
    return (f"{mode} pool 1->{top.workers} workers x {top.threads} thr: {rate(one.median_ips)}->"
            f"{rate(top.median_ips)} img/s ({top.speedup_vs_1_worker or 0:.2f}x, "
            f"efficiency {top.efficiency or 0:.0%}, {top.cpu_cores_used:.2f} cores busy)")


def _variant_parts(rows: Sequence[Row], variant: str, n_cores: int) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    verdicts: list[str] = []
    ours = [r for r in rows if r.ours and r.variant == variant]
    for threads in sorted({r.threads for r in ours if r.mode in ("thread", "process")}):
        by_mode = {mode: _scaling(rows, mode, variant, threads) for mode in ("thread", "process")}
        parts.extend(_scaling_text(mode, *pair) for mode, pair in by_mode.items() if pair is not None)
        thread_pair, process_pair = by_mode["thread"], by_mode["process"]
        if thread_pair and process_pair and thread_pair[1].workers == process_pair[1].workers:
            verdicts.append(_verdict(thread_pair, process_pair, n_cores))
    for row in ours:
        single = _find(rows, row.mode, variant, 1, 1)
        if row.workers == 1 and row.threads > 1 and row.ok and single is not None:
            parts.append(f"{row.mode} 1 worker x {row.threads} engine threads: "
                         f"{ratio(row.median_ips, single.median_ips) or 0:.2f}x over 1 thread")
    return parts, verdicts


def note_line(rows: Sequence[Row], machine_cores: int | None = None) -> str:
    """How threads and processes scale, per variant."""
    n_cores = machine_cores or usable_cores()
    variants = list(dict.fromkeys(r.variant for r in rows if r.ours))
    texts: list[str] = []
    for variant in variants:
        parts, verdicts = _variant_parts(rows, variant, n_cores)
        if parts:
            prefix = "" if variant == DEFAULT_VARIANT else f"[{variant}] "
            texts.append(prefix + "; ".join(parts) + "." + "".join(f" {v}." for v in verdicts))
    if not texts:
        return "note: not enough rows (need 1 and more workers of a mode) to compare scaling."
    text = "note: " + " ".join(texts)
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
    if max(thread_one.cpu_cores_used, process_one.cpu_cores_used) >= 0.8 * n_cores and p_speedup < SCALES:
        return (f"{head}: neither scales, as 1 worker already keeps {process_one.cpu_cores_used:.2f} of "
                f"{n_cores} cores busy")
    if t_speedup < SCALES and p_speedup >= t_speedup + MARGIN:
        return (f"{head}: more threads in one process do not speed up recognition here "
                f"({thread_top.cpu_cores_used:.2f} cores busy), more processes do")
    if p_speedup >= t_speedup + MARGIN:
        return (f"{head}: processes scale better; threads scale too ({thread_top.cpu_cores_used:.2f} cores busy), "
                "so the GIL is held for only a small part of the work")
    if t_speedup >= p_speedup + MARGIN:
        return f"{head}: threads scale better than processes here"
    if p_speedup < SCALES:
        return f"{head}: neither scales here"
    return f"{head}: threads and processes scale about equally here"


def _command(row: Row) -> str:
    return f"python -m pipeline run INPUT --backend {row.mode} --workers {row.workers} --threads {row.threads}"


def recommendation(rows: Sequence[Row], describe_variant: dict[str, str] | None = None) -> tuple[str, str | None]:
    """The fastest setting of ours whose text matched PaddleOCR with our settings, and the command for
    it; `describe_variant`: variant label -> the config keys it changes."""
    candidates = [r for r in rows if r.ours and r.ok and r.text_matched is not False]
    if not candidates:
        return "recommendation: none (no row of ours finished with matching text)", None
    best = max(candidates, key=lambda r: r.median_ips)
    command = _command(best)
    changed = (describe_variant or {}).get(best.variant)  # the config keys this row's variant changes
    settings = f" with config [{best.variant}]: {changed}" if changed else ""
    line = (f"recommendation: {best.mode}, {best.workers} worker(s) x {best.threads} engine thread(s){settings}: "
            f"{rate(best.median_ips)} images/s on this machine -> {command}")
    return line, command


def _speed(wall: dict[str, float]) -> str:
    """A wall-time ratio ours/theirs as speed (theirs/ours): the median, and the range of rounds."""
    return f"{1 / wall['median']:.2f}x (rounds {1 / wall['max']:.2f}-{1 / wall['min']:.2f}x)"


def headline(rows: Sequence[Row]) -> str:
    """The fastest whole-process setting of ours against each yardstick: the user's wall time."""
    timed = [r for r in rows if r.ours and r.ok and r.whole is not None]
    if not timed:
        return "headline: no whole-process runs of ours (use --rounds 1 or more)"
    best = min(timed, key=lambda r: r.whole["median"] if r.whole else float("inf"))
    assert best.whole is not None
    parts = [f"headline (whole process, start-up included): {best.label} {best.workers} worker(s) x "
             f"{best.threads} thr: {best.whole['median']:.1f}s median, peak {best.memory} {best.whole_peak_mb:.0f} MB"]
    peers = {r.mode: r for r in rows if r.mode in PEERS and r.ok and r.whole is not None}
    for mode in PEERS:
        wall, peer = best.wall_vs.get(mode), peers.get(mode)
        if wall is None or peer is None:
            continue
        name = PEER_NAMES[mode] + (" at its best cpu_threads" if mode == PADDLEOCR else "")
        parts.append(f"{_speed(wall)} {name} (wall-time ratio {wall['median']:.2f}; its peak {peer.memory} "
                     f"{peer.whole_peak_mb:.0f} MB)")
    missing = [r.mode for r in rows if r.missing]
    if missing:
        parts.append("not run here: " + ", ".join(missing))
    return "; ".join(parts)
