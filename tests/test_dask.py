"""The dask backend on a LocalCluster of 2 workers: same records as the process pool, one engine per
worker process built once, and nothing lost when a worker dies or a task hangs."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SAMPLES

import faults
from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ExitCode
from pipeline.inputs.discover import discover
from pipeline.ocr.models import ResolvedModels
from pipeline.output.formats import open_sink
from pipeline.output.writer import OrderedWriter
from pipeline.run.backends import BackendOptions, backend_names, open_backend
from pipeline.run.runner import process_images, run
from pipeline.run.worker import init_worker

SMALL = ["screenshot_ui.png", "通知_zh.png", "sign_mixed.jpg", "receipt_en.jpg"]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL fault injection is POSIX-only")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _engine_id() -> tuple[int, int]:
    """Runs on a Dask worker: which process, and which engine object it holds."""
    import os

    from pipeline.run.worker import current_engine

    return os.getpid(), id(current_engine())


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


def test_the_registry_feeds_run_and_bench() -> None:
    from pipeline.errors import ConfigError
    from pipeline.tools.bench.plan import parse_modes

    assert backend_names()[:4] == ["serial", "thread", "process", "dask"]
    assert parse_modes(",".join(backend_names())) == backend_names()  # bench takes every backend
    assert parse_modes("process,dask") == ["process", "dask"]
    with pytest.raises(ConfigError, match="known: " + ", ".join(backend_names())):
        parse_modes("nosuch")


def test_dask_gives_the_records_of_the_process_pool(tmp_path: Path, config: Config, models: ResolvedModels) -> None:
    config = replace(config, workers=2)
    process_out = tmp_path / "process.jsonl"
    run([SAMPLES], replace(config, output=str(process_out)), quiet=True)

    dask_out = tmp_path / "dask.jsonl"
    images = discover([SAMPLES]).images
    pool = open_backend("dask", config, models, BackendOptions(ship_bytes=True))
    try:
        client = pool._client  # type: ignore[attr-defined]
        engines = client.run(_engine_id)
        assert len(engines) == 2 and len({pid for pid, _ in engines.values()}) == 2
        with OrderedWriter(open_sink("jsonl", dask_out, append=False)) as writer:
            summary = process_images(images, config, writer, backend="dask", pool=pool, quiet=True)
        # Registering the plugin again (a second run on the same cluster) keeps the warm engines.
        from pipeline.run.backends.dask_plugin import EngineSetup

        client.register_plugin(EngineSetup(config, init_worker), name="pipeline-engine")
        assert client.run(_engine_id) == engines, "an engine was built twice in one worker"
    finally:
        pool.shutdown()
    assert summary.ok == len(images) and summary.failed == 0 and summary.workers == 2
    assert _records(dask_out) == _records(process_out)


@posix_only
def test_a_dask_worker_killed_mid_run_loses_nothing(tmp_path: Path, config: Config,
                                                    texts: dict[str, list[str]]) -> None:
    folder = _folder(tmp_path, {})
    for i in range(3):  # more pages, so the kill lands mid-run
        shutil.copy(SAMPLES / "letter_en.png", folder / f"{5 + i}_letter_en.png")
    out = tmp_path / "out.jsonl"
    thread, killed = faults.kill_a_worker_once_output_starts(out)
    code = main(["run", str(folder), "-o", str(out), "--backend", "dask", "--workers", "2", "--quiet"])
    thread.join()
    assert killed, "the test never found a worker to kill"
    records = _records(out)
    assert code == ExitCode.OK, [r for r in records if r["status"] != "ok"]
    assert len(records) == len(SMALL) + 3 and all(r["status"] == "ok" for r in records)
    assert len({r["image"] for r in records}) == len(records)
    _check_good(records, texts)


@posix_only
def test_a_page_that_kills_its_dask_worker_every_time_becomes_an_error_record(
        tmp_path: Path, config: Config, texts: dict[str, list[str]]) -> None:
    folder = _folder(tmp_path, {"2b_CRASH.png": "screenshot_ui.png"})
    out = tmp_path / "out.jsonl"
    summary = run([folder], replace(config, workers=2, output=str(out)), backend=faults.install("dask"), quiet=True)
    records = _records(out)
    assert len(records) == len(SMALL) + 1
    assert len({(r["image"], r["page"]) for r in records}) == len(records)
    crash = next(r for r in records if "CRASH" in r["image"])
    assert crash["status"] == "error" and "worker process died" in crash["error"]
    assert summary.failed == 1 and summary.restarts >= config.limits.max_retries
    _check_good(records, texts)


@posix_only
def test_a_hung_page_times_out_on_dask_and_the_run_goes_on(tmp_path: Path, config: Config,
                                                          texts: dict[str, list[str]]) -> None:
    folder = _folder(tmp_path, {"1b_HANG.png": "screenshot_ui.png"})
    out = tmp_path / "out.jsonl"
    limits = replace(config.limits, task_timeout=20.0)
    summary = run([folder], replace(config, workers=2, output=str(out), limits=limits),
                  backend=faults.install("dask"), quiet=True)
    records = _records(out)
    assert len(records) == len(SMALL) + 1
    hang = next(r for r in records if "HANG" in r["image"])
    assert hang["status"] == "error" and "timed out" in hang["error"]
    assert summary.failed == 1 and summary.restarts >= 1
    _check_good(records, texts)


def test_without_dask_installed_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    out = tmp_path / "out.jsonl"
    code = main(["run", str(SAMPLES / "screenshot_ui.png"), "-o", str(out), "--backend", "dask", "--quiet"])
    assert code == ExitCode.USAGE
    assert "pip install -e '.[dask]'" in capsys.readouterr().err
    assert not out.exists()


def test_scheduler_needs_the_dask_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(SAMPLES / "screenshot_ui.png"), "-o", str(tmp_path / "o.jsonl"),
                 "--scheduler", "tcp://127.0.0.1:8786"])
    assert code == ExitCode.USAGE and "--backend dask" in capsys.readouterr().err


def test_run_on_a_running_scheduler_with_shipped_bytes(tmp_path: Path, config: Config,
                                                        texts: dict[str, list[str]]) -> None:
    from distributed import LocalCluster

    folder = _folder(tmp_path, {})
    out = tmp_path / "out.jsonl"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = main(["run", str(folder), "-o", str(out), "--backend", "dask", "--scheduler",
                     cluster.scheduler_address, "--ship-bytes", "--quiet"])
    assert code == ExitCode.OK
    records = _records(out)
    assert len(records) == len(SMALL)
    _check_good(records, texts)


def test_a_scheduler_whose_workers_run_several_threads_is_refused(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from distributed import LocalCluster

    out = tmp_path / "out.jsonl"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        code = main(["run", str(SAMPLES / "screenshot_ui.png"), "-o", str(out), "--backend", "dask",
                     "--scheduler", cluster.scheduler_address, "--quiet"])
    assert code == ExitCode.USAGE
    assert "--nthreads 1" in capsys.readouterr().err


@posix_only
@pytest.mark.parametrize(("backend", "fmt"), [("dask", "jsonl"), ("process", "txt")])
def test_ctrl_c_to_the_process_group_is_exit_130_and_one_line(tmp_path: Path, backend: str, fmt: str) -> None:
    """What Ctrl-C in a terminal does: SIGINT to every process of the group, the workers too (a
    local Dask cluster's included), while they OCR. They leave it to the parent: exit 130, one
    line on stderr. (A Ctrl-C in the moment a local cluster spawns its workers is lost: see
    `pipeline.run.backends.dask`.)"""
    import os
    import signal
    import subprocess
    import time

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        shutil.copy(SAMPLES / "receipt_en.jpg", folder / f"{i}.jpg")
    out = tmp_path / f"out.{fmt}"
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", str(folder), "-o", str(out), "--backend", backend,
                             "--format", fmt, "--workers", "2", "--quiet"], stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(repo)})

    def started() -> bool:
        # a first page written: the workers are up and OCR'ing
        return any(out.glob("*.txt")) if fmt == "txt" else out.exists() and bool(out.read_bytes())

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not started() and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert len(err.splitlines()) == 1 and err.startswith("interrupted"), err
