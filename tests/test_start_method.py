"""How process workers start: a forkserver on Linux by default (workers forked from a server that
has imported their modules), spawn elsewhere and on request. Both are run here, with the real engine."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from conftest import SAMPLES

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.ocr.models import ResolvedModels
from pipeline.run.backends import open_backend
from pipeline.run.runner import run
from pipeline.run.start_method import resolved
from pipeline.tools.bench.isolate import run_child

LINUX = sys.platform.startswith("linux")


def test_auto_is_a_forkserver_on_linux_and_spawn_elsewhere() -> None:
    assert resolved("auto", "linux") == "forkserver"
    assert resolved("auto", "win32") == "spawn" and resolved("auto", "darwin") == "spawn"
    assert resolved("spawn", "linux") == "spawn"


@pytest.mark.skipif(sys.platform != "win32", reason="Windows has no forkserver")
def test_asking_for_a_forkserver_where_there_is_none_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="forkserver is not available"):
        resolved("forkserver")


@pytest.mark.skipif(not LINUX, reason="the forkserver default is Linux's")
@pytest.mark.parametrize("method", ["spawn", "forkserver", "auto"])
def test_workers_start_as_the_config_says(config: Config, models: ResolvedModels, method: str) -> None:
    """A spawned worker is this process's child; a forked one is the forkserver's, and starts with
    the worker's modules already imported."""
    backend = open_backend("process", replace(config, workers=2, start_method=method), models)
    try:
        pids = backend.worker_pids()
        assert len(pids) == 2
        parents = {psutil.Process(pid).ppid() for pid in pids}
        if method == "spawn":
            assert parents == {psutil.Process().pid}
        else:
            (server,) = parents
            assert server != psutil.Process().pid
            assert "multiprocessing.forkserver" in " ".join(psutil.Process(server).cmdline())
            # The server has loaded what a worker needs (OpenCV's library among it) before forking.
            assert any("cv2" in Path(m.path).parts for m in psutil.Process(server).memory_maps())
    finally:
        backend.shutdown()


@pytest.mark.skipif(not LINUX, reason="the forkserver default is Linux's")
def test_spawned_and_forked_workers_write_the_same_records(tmp_path: Path, config: Config) -> None:
    texts = {}
    for method in ("spawn", "forkserver"):
        out = tmp_path / f"{method}.jsonl"
        summary = run([SAMPLES], replace(config, workers=2, start_method=method, output=str(out)), quiet=True)
        assert summary.failed == 0 and summary.ok > 0
        texts[method] = [(r["image"], r["page"], r["text"], [line["box"] for line in r["lines"]])
                         for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())]
    assert texts["spawn"] == texts["forkserver"]


@pytest.mark.skipif(not LINUX, reason="the forkserver default is Linux's")
def test_no_process_is_left_running_once_a_forkserver_run_exits(tmp_path: Path) -> None:
    """The forkserver and the resource tracker end with the command: they leave when its end of
    their pipe closes, so at most a moment after it, never waited for or killed."""
    command = [sys.executable, "-m", "pipeline", "run", str(SAMPLES / "screenshot_ui.png"),
               "-o", str(tmp_path / "out.jsonl"), "-q", "--workers", "2"]
    done = run_child(command, tmp_path / "log", "run", timeout=300)
    assert done.returncode == 0, (tmp_path / "log").read_text()
    assert not done.killed
    for leftover in done.outlived:
        seconds = float(leftover.rsplit("gone within ", 1)[1].rstrip("s"))
        assert seconds <= 0.5, done.outlived
