"""Nothing lost: dead workers, hung images, interrupted and resumed runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from conftest import REPO, SAMPLES

import faults
from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ExitCode
from pipeline.ocr.models import ResolvedModels
from pipeline.run.runner import run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL fault injection is POSIX-only")

SMALL = ["screenshot_ui.png", "通知_zh.png", "sign_mixed.jpg", "receipt_en.jpg"]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _folder(tmp_path: Path, extra: dict[str, str]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(SMALL):
        shutil.copy(SAMPLES / name, folder / f"{i}_{name}")
    for name, source in extra.items():
        shutil.copy(SAMPLES / source, folder / name)
    return folder


@pytest.fixture(scope="module")
def texts(reference_texts: dict[tuple[str, int], list[str]]) -> dict[str, list[str]]:
    return {name: reference_texts[(name, 0)] for name in SMALL}


def _check_good(records: list[dict], texts: dict[str, list[str]]) -> None:
    for record in records:
        name = record["image"].split("_", 1)[1]
        if name in texts:
            assert record["status"] == "ok", record
            assert [line["text"] for line in record["lines"]] == texts[name], record["image"]


def test_an_image_that_kills_its_worker_every_time_is_isolated(tmp_path: Path, config: Config,
                                                               texts: dict[str, list[str]]) -> None:
    folder = _folder(tmp_path, {"2b_CRASH.png": "screenshot_ui.png"})
    out = tmp_path / "out.jsonl"
    summary = run([folder], replace(config, workers=2, output=str(out)), backend=faults.install(), quiet=True)
    records = _records(out)
    assert len(records) == len(SMALL) + 1
    assert len({(r["image"], r["page"]) for r in records}) == len(records)
    crash = next(r for r in records if "CRASH" in r["image"])
    assert crash["status"] == "error" and "worker process died" in crash["error"]
    assert summary.failed == 1 and summary.restarts >= 2
    _check_good(records, texts)


def test_a_hung_image_times_out_and_the_run_goes_on(tmp_path: Path, config: Config,
                                                    texts: dict[str, list[str]]) -> None:
    folder = _folder(tmp_path, {"1b_HANG.png": "screenshot_ui.png"})
    out = tmp_path / "out.jsonl"
    limits = replace(config.limits, task_timeout=20.0)
    summary = run([folder], replace(config, workers=2, output=str(out), limits=limits), backend=faults.install(),
                  quiet=True)
    records = _records(out)
    assert len(records) == len(SMALL) + 1
    hang = next(r for r in records if "HANG" in r["image"])
    assert hang["status"] == "error" and "timed out" in hang["error"]
    assert summary.failed == 1
    _check_good(records, texts)


def test_a_worker_killed_from_outside_mid_run_loses_nothing(tmp_path: Path, config: Config,
                                                            texts: dict[str, list[str]]) -> None:
    folder = _folder(tmp_path, {})
    for i in range(3):  # more pages, so the kill lands mid-run
        shutil.copy(SAMPLES / "letter_en.png", folder / f"{5 + i}_letter_en.png")
    out = tmp_path / "out.jsonl"
    thread, killed = faults.kill_a_worker_once_output_starts(out)
    summary = run([folder], replace(config, workers=2, output=str(out)), quiet=True)
    thread.join()
    assert killed, "the test never found a worker to kill"
    records = _records(out)
    assert summary.restarts >= 1
    assert len(records) == len(SMALL) + 3 and all(r["status"] == "ok" for r in records)
    assert len({r["image"] for r in records}) == len(records)
    _check_good(records, texts)


def _run_cli(folder: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "run", str(folder), "-o", str(out), "--workers", "2",
                             "--quiet", *extra], cwd=REPO, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_stopped_run_resumes_to_exactly_one_record_per_image(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        for name in SMALL:
            shutil.copy(SAMPLES / name, folder / f"{i}_{name}")
    out = tmp_path / "out.jsonl"
    proc = _run_cli(folder, out)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 3):
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(getattr(signal, how))
    code = proc.wait(timeout=120)
    if how != "SIGKILL":
        assert code == ExitCode.INTERRUPTED, proc.stderr.read() if proc.stderr else ""
    # No orphans: every worker is gone soon after the parent (after SIGKILL they notice it died).
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], [p.cmdline() for p in alive]
    partial = out.read_bytes()
    if how == "SIGKILL":  # simulate the worst case too: a record torn in half
        out.write_bytes(partial + b'{"image": "torn')
    resumed = _run_cli(folder, out)
    assert resumed.wait(timeout=600) == ExitCode.OK, resumed.stderr.read() if resumed.stderr else ""
    records = _records(out)
    keys = [(r["image"], r["page"]) for r in records]
    assert len(keys) == len(set(keys)) == 4 * len(SMALL)
    assert all(r["status"] == "ok" and r["text"] for r in records)


@pytest.mark.parametrize("backend", ["process", "dask"])
def test_workers_that_cannot_build_their_engine_stop_the_run_once(tmp_path: Path, models: ResolvedModels,
                                                                  backend: str) -> None:
    broken = tmp_path / "broken_rec"
    broken.mkdir()
    shutil.copy(Path(models.recognition.dir) / "inference.yml", broken / "inference.yml")  # type: ignore[arg-type]
    (broken / "inference.pdmodel").write_bytes(b"not a model")
    (broken / "inference.pdiparams").write_bytes(b"not weights")
    (broken / "inference.onnx").write_bytes(b"not a model")  # what the onnxruntime runtime loads
    config_file = tmp_path / "broken.yaml"
    config_file.write_text(
        f"models:\n  recognition:\n    source: local\n    name: PP-OCRv4_mobile_rec\n    dir: '{broken.as_posix()}'\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    code = main(["run", str(SAMPLES / "screenshot_ui.png"), "-c", str(config_file), "-o", str(tmp_path / "o.jsonl"),
                 "--workers", "2", "--backend", backend, "--quiet"])
    assert code == ExitCode.RUN_FAILED
    assert time.monotonic() - started < 120


def test_a_task_handed_to_a_pool_a_worker_just_broke_fails_like_the_tasks_in_flight() -> None:
    """Between a worker's death and the scheduler reading it, the scheduler may hand out another
    task: that task fails as the ones in flight did (the scheduler replaces the pool and hands it
    out again), instead of the submit raising out of the run (seen once in CI)."""
    import multiprocessing
    from concurrent.futures import BrokenExecutor

    from pipeline.run.backends.process import RecyclingPool

    with RecyclingPool(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(BrokenExecutor):
            pool.submit(os._exit, 1).result(timeout=120)
        late = pool.submit(os.getpid)
        with pytest.raises(BrokenExecutor):
            late.result(timeout=10)
