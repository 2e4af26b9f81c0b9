"""The run summary's memory figure: the peak PSS summed over the parent and every worker."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.run import memory
from pipeline.run.memory import TREE_SECONDS, PeakMemory, PssGate, process_memory
from pipeline.run.runner import run

from conftest import SAMPLES

_FIGURE = re.compile(r"peak memory (\d+\.\d\d) GB (PSS|RSS) over (\d+) processes")


def test_the_peak_counts_the_children_too() -> None:
    """A child holding 300 MB of its own pages shows up in the tree's peak, the parent's alone does not."""
    hold = "import sys, time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); " \
           "print('held', flush=True); time.sleep(2)"
    with PeakMemory(interval=0.05) as memory:
        child = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        memory.sample()
        child.wait(timeout=30)
    own, kind = process_memory(__import__("psutil").Process())
    assert kind == ("PSS" if sys.platform.startswith("linux") else "RSS")
    assert memory.peak >= own + 300 * 2**20 and memory.processes >= 2


def _peak_while_a_child_holds_300_mb(hold_seconds: float, start_after: float = 0.0) -> int:
    """The sampling thread's peak, read while a child started `start_after` seconds into the
    sampling holds 300 MB of its own for `hold_seconds`; no explicit sample is taken."""
    hold = "import sys, time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); " \
           f"print('held', flush=True); time.sleep({hold_seconds})"
    memory = PeakMemory(interval=0.05).start()
    time.sleep(start_after)
    child = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    child.wait(timeout=30)
    peak_while_running = memory.peak
    memory.stop()
    return peak_while_running


def test_the_sampling_thread_alone_reads_pss_when_the_tree_grows() -> None:
    """RSS is sampled every interval and PSS read on a new RSS high: a child's 300 MB, held 2 s,
    is in the peak without an explicit sample."""
    peak_while_running = _peak_while_a_child_holds_300_mb(2)
    own, _ = process_memory(__import__("psutil").Process())
    assert peak_while_running >= own + 300 * 2**20


def test_a_process_started_while_sampling_is_counted_once_the_tree_is_looked_up_again() -> None:
    """The tree is cached between samples: a child started well after sampling began, holding
    300 MB for longer than TREE_SECONDS, is still in the peak."""
    assert TREE_SECONDS <= 1.5
    peak_while_running = _peak_while_a_child_holds_300_mb(3, start_after=0.5)  # several samples without it
    own, _ = process_memory(__import__("psutil").Process())
    assert peak_while_running >= own + 300 * 2**20


def test_pss_is_read_on_a_new_rss_high_or_after_a_while_not_on_every_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(memory.time, "perf_counter", lambda: clock[0])

    def due(rss: int, after: float = 0.1, force: bool = False) -> bool:
        clock[0] += after
        return gate.due(rss, force)

    gate = PssGate()
    assert due(1000)  # the first sample
    assert not due(1000) and not due(1010)  # flat: no read
    assert not due(1100)  # a new high, but 0.3 s after the last read: not yet
    assert due(1100, after=memory.HIGH_GAP_SECONDS)  # still high, later: read
    assert not due(700, after=1.0) and not due(1000) and not due(1110)  # down and up again, below the high
    assert due(1000, force=True)
    assert not due(1100, after=1.0) and due(1200, after=0.2)  # the high is the run's, not the last read's
    assert not due(500) and due(500, after=memory.PSS_SECONDS)  # flat for a while: read again


def test_a_run_summary_gives_the_peak_memory_of_parent_and_workers(tmp_path: Path, config: Config) -> None:
    summary = run([SAMPLES / "screenshot_ui.png"], replace(config, workers=2, output=str(tmp_path / "out.jsonl")),
                  quiet=True)
    figure = _FIGURE.search(summary.describe())
    assert figure is not None, summary.describe()
    gigabytes, kind, processes = float(figure[1]), figure[2], int(figure[3])
    assert kind == ("PSS" if sys.platform.startswith("linux") else "RSS")
    assert processes >= 3  # this process and its two workers
    assert 0.05 < gigabytes < 4.0


def test_a_short_run_counts_the_memory_of_its_workers(tmp_path: Path, config: Config) -> None:
    """A run shorter than the tree's cache (TREE_SECONDS) still counts its workers once they are up:
    each holds its engine, well over 60 MiB."""
    summary = run([SAMPLES / "screenshot_ui.png"], replace(config, workers=2, output=str(tmp_path / "out.jsonl")),
                  quiet=True)
    figure = _FIGURE.search(summary.describe())
    assert figure is not None, summary.describe()
    own, _ = process_memory(__import__("psutil").Process())
    assert float(figure[1]) * 2**30 >= own + 2 * 60 * 2**20, summary.describe()
