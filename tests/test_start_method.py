"""How process workers start: a forkserver on Linux by default (workers forked from a server that
has imported their modules), spawn elsewhere and on request. Both are run here, with the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from conftest import SAMPLES

from pipeline.__main__ import early_start_method
from pipeline.cli import _parser
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


def _config_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_entry_reads_the_start_method_of_plain_run_and_watch_commands(tmp_path: Path) -> None:
    spawn = _config_file(tmp_path, "start_method: spawn\nworkers: 2\n")
    assert early_start_method(["run", "in"]) == "auto"
    assert early_start_method(["--debug", "watch", "in", "-q"]) == "auto"
    assert early_start_method(["run", "in", "--backend", "process", "-w", "2"]) == "auto"
    assert early_start_method(["run", "--backend=process", "in"]) == "auto"
    assert early_start_method(["run", "in", "-c", spawn]) == "spawn"
    assert early_start_method(["run", "in", f"--config={spawn}"]) == "spawn"
    assert early_start_method(["run", "in", "--config", _config_file(tmp_path, "workers: 2\n")]) == "auto"
    assert early_start_method(["run", "in", "-c", _config_file(tmp_path, "")]) == "auto"


@pytest.mark.parametrize("argv", [
    [], ["config"], ["bench", "in"], ["eval", "labels", "results"], ["in", "run"],
    ["run", "in", "--backend", "thread"], ["run", "in", "--backend"], ["run", "in", "--backend=serial"],
    ["run", "in", "--back", "process"], ["run", "in", "--conf", "x.yaml"], ["run", "in", "-cx.yaml"], ["run", "in", "-c=x.yaml"],
    ["run", "in", "-qc", "x.yaml"], ["run", "-h"], ["run", "--", "--backend"],
    ["run", "in", "-c", "/nonexistent/config.yaml"],
])
def test_the_entry_starts_nothing_where_the_arguments_leave_doubt(argv: list[str]) -> None:
    assert early_start_method(argv) is None


def test_the_entry_reads_no_config_that_is_not_a_small_regular_file(tmp_path: Path) -> None:
    assert early_start_method(["run", "in", "-c", str(tmp_path)]) is None
    assert early_start_method(["run", "in", "-c", _config_file(tmp_path, "- a list\n")]) is None
    assert early_start_method(["run", "in", "-c", _config_file(tmp_path, "start_method: [1]\n")]) is None
    assert early_start_method(["run", "in", "-c", _config_file(tmp_path, "a: [unclosed\n")]) is None
    big = _config_file(tmp_path, "start_method: spawn\n" + "#" * (1 << 20))
    assert early_start_method(["run", "in", "-c", big]) is None
    if LINUX:  # read twice, a FIFO would give the command only what the entry left of it
        fifo = tmp_path / "fifo.yaml"
        os.mkfifo(fifo)
        assert early_start_method(["run", "in", "-c", str(fifo)]) is None


@pytest.mark.parametrize("argv", [
    ["run", "in"], ["--debug", "run", "in", "-w", "2", "--backend", "process"], ["watch", "inbox", "--once"],
    ["run", "a", "b", "--backend=process", "--config", "CONFIG", "-q"], ["run", "in", "-c", "CONFIG"],
])
def test_where_the_entry_reads_the_arguments_argparse_reads_them_alike(tmp_path: Path, argv: list[str]) -> None:
    config = _config_file(tmp_path, "start_method: spawn\n")
    argv = [config if arg == "CONFIG" else arg for arg in argv]
    args = _parser().parse_args(argv)
    expected = "spawn" if args.config else "auto"
    assert args.backend == "process"
    assert early_start_method(argv) == expected


def _forkservers_seen(command: list[str], log: Path) -> int:
    """Run `command`, watching its children; how many forkservers it started (its workers, forked
    from one, show the same command line, but are the server's children)."""
    seen: set[int] = set()
    with log.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        parent = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                for process in parent.children():
                    try:
                        if "multiprocessing.forkserver" in " ".join(process.cmdline()):
                            seen.add(process.pid)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            time.sleep(0.01)
    assert child.returncode == 0, log.read_text(encoding="utf-8")
    return len(seen)


@pytest.mark.skipif(not LINUX, reason="the forkserver default is Linux's")
def test_a_run_whose_config_says_spawn_starts_no_forkserver(tmp_path: Path) -> None:
    """The entry starts the forkserver before the command reads its config: it must read the same
    start method, or a run configured to spawn (where forking is unsafe) would still fork one."""
    image = str(SAMPLES / "screenshot_ui.png")
    base = [sys.executable, "-m", "pipeline", "run", image, "-o", str(tmp_path / "out.jsonl"), "-q", "--workers", "1",
            "--overwrite"]
    assert _forkservers_seen(base, tmp_path / "log") == 1
    spawn = _config_file(tmp_path, "start_method: spawn\n")
    assert _forkservers_seen([*base, "-c", spawn], tmp_path / "log") == 0


_PARENT_IMPORTS = """
import json, sys
from pathlib import Path
from pipeline.cli import _parser
from pipeline.run.runner import run
from pipeline.inputs.discover import discover
found = discover([Path(sys.argv[1]).resolve()], base=Path(sys.argv[1]).resolve())
print(json.dumps({"pages": len(found.images),
                  "loaded": sorted(m for m in ("numpy", "cv2", "onnxruntime", "pipeline.run.worker") if m in sys.modules)}))
"""


def test_the_parent_finds_its_pages_without_the_workers_imports() -> None:
    """Until its workers are asked for, the parent imports neither numpy, OpenCV nor the worker's
    code (0.1 s, while the workers wait for it): it only counts pages."""
    done = subprocess.run([sys.executable, "-c", _PARENT_IMPORTS, str(SAMPLES)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["pages"] >= 7 and found["loaded"] == [], found
