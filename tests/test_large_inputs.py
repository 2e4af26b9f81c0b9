"""Large detector inputs run one at a time across a process pool's workers (`pipeline.ocr.large_inputs`)."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from pipeline.ocr import large_inputs
from pipeline.run.backends.process import _sharing_lock


def _noop() -> None:
    pass


def _timed_run(pixels: int, limit: int) -> tuple[float, float, bool]:
    """(start, end, shrinks) of a pretend detector run of 0.3 s inside `large_run`."""
    with large_inputs.large_run(pixels, limit) as options:
        start = time.monotonic()
        time.sleep(0.3)
        return start, time.monotonic(), options is not None


def _runs(limit: int) -> list[tuple[float, float, bool]]:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, spawn, _sharing_lock, (spawn.Lock(), _noop)) as pool:
        list(pool.map(_timed_run, [0, 0], [0, 0]))  # both workers up before timing
        return list(pool.map(_timed_run, [3_000_000] * 4, [limit] * 4))


def _overlaps(runs: list[tuple[float, float, bool]]) -> bool:
    spans = sorted(run[:2] for run in runs)
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


def test_large_inputs_wait_for_each_other_across_workers_and_give_memory_back() -> None:
    gated = _runs(limit=2_000_000)
    assert not _overlaps(gated) and all(shrinks for *_, shrinks in gated)
    free = _runs(limit=0)  # no limit: the two workers run at once, as usual
    assert _overlaps(free) and not any(shrinks for *_, shrinks in free)


def test_small_inputs_and_workers_without_a_lock_do_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = multiprocessing.Lock()
    lock.acquire()  # held by someone else
    monkeypatch.setattr(large_inputs, "_lock", lock)
    with large_inputs.large_run(100, 2_000_000) as options:
        assert options is None  # small: not gated
    monkeypatch.setattr(large_inputs, "WAIT_SECONDS", 0.2)
    started = time.monotonic()
    with large_inputs.large_run(3_000_000, 2_000_000) as options:  # a holder that never lets go
        assert options is not None and 0.15 < time.monotonic() - started < 5
    monkeypatch.setattr(large_inputs, "_lock", None)
    with large_inputs.large_run(3_000_000, 2_000_000) as options:
        assert options is not None  # no pool lock (serial, thread, Dask): memory given back, no wait
    lock.release()
