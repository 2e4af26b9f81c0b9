"""Numbers as the table, the notes and the chart print them."""

from __future__ import annotations

__all__ = ["opt", "rate", "spread_text"]


def rate(value: float) -> str:
    """Two decimals, or three significant digits below 0.1 (one large page takes seconds)."""
    return f"{value:.2f}" if value >= 0.1 or value == 0 else f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def spread_text(spread: dict[str, float] | None, pattern: str = "{}") -> str:
    """"median (min-max)", each number through `rate` or `pattern`."""
    if spread is None:
        return "-"

    def one(value: float) -> str:
        return rate(value) if pattern == "{}" else pattern.format(value)

    return f"{one(spread['median'])} ({one(spread['min'])}-{one(spread['max'])})"


def opt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
