"""`@timed("stage")`: how long each stage (read, detect, recognize, write) takes, summed per thread.

Workers drain their totals into each task result (`take_stage_times`), and the parent adds them up
for the summary, so the figures cover every process.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from typing import Callable, ParamSpec, TypeVar

__all__ = ["StageTimes", "take_stage_times", "timed"]

P = ParamSpec("P")
R = TypeVar("R")

StageTimes = dict[str, float]
_local = threading.local()


def _totals() -> defaultdict[str, float]:
    if not hasattr(_local, "totals"):
        _local.totals = defaultdict(float)
    return _local.totals


def timed(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Add the wall time of every call of the decorated function to `stage`."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                _totals()[stage] += time.perf_counter() - start

        return wrapper

    return decorate


def take_stage_times() -> StageTimes:
    """This thread's totals since the last call, which are then reset."""
    totals = dict(_totals())
    _totals().clear()
    return totals
