"""The bench's chart (matplotlib): throughput and parallel efficiency against workers, and the
whole-process wall time of every setting beside the yardsticks'."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.tools.bench.data import Row
from pipeline.tools.bench.fmt import rate

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["draw_chart"]

_MODE_COLOURS = {"serial": "tab:green", "thread": "tab:orange", "process": "tab:blue"}
_YARDSTICK_COLOURS = {"paddleocr": "dimgray", "paddleocr-ours": "darkgray", "rapidocr": "tab:purple",
                      "tesseract": "tab:red", "faster-paddle": "tab:brown"}
_LINE_STYLES = ("-", "--", ":", "-.")


def _series(rows: Sequence[Row]) -> dict[tuple[str, str, int], list[Row]]:
    series: dict[tuple[str, str, int], list[Row]] = {}
    for row in rows:
        if row.ours and row.ok:
            series.setdefault((row.variant, row.mode, row.threads), []).append(row)
    return {key: sorted(points, key=lambda r: r.workers) for key, points in series.items()}


def _label(variant: str, mode: str, threads: int, variants: int) -> str:
    return f"{mode}, {threads} thr/worker" + (f" [{variant}]" if variants > 1 else "")


def draw_chart(rows: Sequence[Row], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    series = _series(rows)
    variants = sorted({variant for variant, _, _ in series})
    threads_seen = sorted({threads for _, _, threads in series})
    fig, (speed, efficiency, whole) = plt.subplots(1, 3, figsize=(19, 6.5), layout="constrained")
    fig.suptitle(title)
    for (variant, mode, threads), points in series.items():
        style = dict(color=_MODE_COLOURS.get(mode, "black"), marker="os^D"[variants.index(variant) % 4],
                     linestyle=_LINE_STYLES[threads_seen.index(threads) % len(_LINE_STYLES)],
                     label=_label(variant, mode, threads, len(variants)))
        workers = [r.workers for r in points]
        medians = [r.median_ips for r in points]
        errors = [[r.median_ips - r.images_per_s["min"] for r in points],
                  [r.images_per_s["max"] - r.median_ips for r in points]]
        speed.errorbar(workers, medians, yerr=errors, capsize=4, **style)
        efficient = [(r.workers, r.efficiency) for r in points if r.efficiency is not None]
        if efficient:
            efficiency.plot(*zip(*efficient), **style)
    for row in rows:
        if not row.ours and row.ok:
            shape = "1 process" if row.workers == 1 else f"{row.workers} processes at a time"
            speed.axhline(row.median_ips, color=_YARDSTICK_COLOURS.get(row.mode, "gray"), linestyle="--",
                          label=f"{row.label} ({row.threads} thr, {shape}): {rate(row.median_ips)}")
    all_workers = sorted({r.workers for points in series.values() for r in points}) or [1]
    for axis in (speed, efficiency):
        axis.set_xticks(all_workers)
        axis.set_xlabel("workers")
        axis.grid(alpha=0.3)
    speed.set_ylim(bottom=0)
    speed.set_title("Throughput, pool warm (images/s, median; bars: min-max)")
    speed.legend(fontsize=8)
    efficiency.axhline(1.0, color="gray", linestyle=":", label="ideal")
    if not any(r.efficiency is not None and r.workers > 1 for r in rows):
        efficiency.text(0.5, 0.5, "needs 1 and more workers of a mode", ha="center", va="center",
                        transform=efficiency.transAxes)
    efficiency.set_ylim(0, max(1.1, *[r.efficiency or 0 for r in rows]) * 1.05)
    efficiency.yaxis.set_major_formatter(PercentFormatter(1.0))
    efficiency.set_title("Parallel efficiency (speed-up over 1 worker / workers)")
    efficiency.legend(fontsize=8)
    _whole_panel(whole, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _whole_panel(ax: Axes, rows: Sequence[Row]) -> None:
    """Horizontal bars: whole-process wall time (median, min-max whiskers), fastest at the top."""
    timed = sorted((r for r in rows if r.ok and r.whole is not None), key=lambda r: -(r.whole or {})["median"])
    ax.set_title("Whole process, start-up included (s, median; bars: min-max)")
    if not timed:
        ax.text(0.5, 0.5, "no whole-process runs", ha="center", va="center",
                transform=ax.transAxes)
        return
    labels = [f"{r.label} {r.workers}x{r.threads}" for r in timed]
    medians = [r.whole["median"] for r in timed if r.whole]
    errors = [[r.whole["median"] - r.whole["min"] for r in timed if r.whole],
              [r.whole["max"] - r.whole["median"] for r in timed if r.whole]]
    colours = [_MODE_COLOURS.get(r.mode) or _YARDSTICK_COLOURS.get(r.mode, "gray") for r in timed]
    ax.barh(labels, medians, xerr=errors, capsize=4, color=colours)
    for y, row in enumerate(timed):
        if row.whole:  # the label right of the whisker
            ax.text(row.whole["max"], y, f"  {row.whole['median']:.1f}s", va="center", fontsize=8)
    ax.set_xlabel("seconds")
    ax.grid(axis="x", alpha=0.3)
