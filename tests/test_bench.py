"""`pipeline bench`: a smoke run with the real engines, and the plan/statistics/verdict/chart logic on
made-up figures. Speed is measured here, never asserted."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest
import yaml
from conftest import REPO, SAMPLES

from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ConfigError, ExitCode
from pipeline.run.settings import run_config
from pipeline.tools.bench.chart import draw_chart
from pipeline.tools.bench.command import measure_cell
from pipeline.tools.bench.data import (
    FASTER_PADDLE,
    PADDLEOCR,
    PADDLEOCR_OURS,
    PEERS,
    RAPIDOCR,
    TESSERACT,
    CellResult,
    CellSpec,
)
from pipeline.tools.bench.isolate import ended, run_child
from pipeline.tools.bench.plan import (
    Plan,
    parse_modes,
    parse_overrides,
    parse_positive_list,
    parse_variant,
    parse_yardsticks,
    plan_cells,
    write_variant_configs,
)
from pipeline.tools.bench.report import explanations, format_table
from pipeline.tools.bench.sampling import MEMORY_KIND
from pipeline.tools.bench.stats import build_rows, pair_ratios
from pipeline.tools.bench.verdicts import headline, note_line, recommendation
from pipeline.tools.bench.whole import command_for, run_rounds
from pipeline.tools.bench.yardsticks import build, missing_reason, program

TEXTS = {"a.png#0": ["hello world"], "b.png#0": ["second page", "two lines"]}
LETTER = SAMPLES / "letter_en.png"
# .ci/run installs tesseract-ocr and sets this, so that CI checks the Tesseract row's figures
# instead of accepting a row that says it is missing.
TESSERACT_REQUIRED = os.environ.get("PIPELINE_TEST_TESSERACT") == "required"


def _cell(mode: str, workers: int, threads: int, images_per_s: float, texts: dict[str, list[str]] | None = None,
          spread: float = 0.05, whole: list[float] | None = None, variant: str = "default") -> CellResult:
    images = 8
    median = images / images_per_s
    return CellResult(mode, workers, threads, variant, memory="PSS", warmup_seconds=2.0,
                      seconds=[median * (1 - spread), median, median * (1 + spread)], images=images,
                      regions=images * 20, texts=dict(TEXTS if texts is None else texts), peak_worker_mb=500.0,
                      peak_total_mb=500.0 * workers, worker_processes=workers, distinct_workers=workers,
                      whole_seconds=list(whole or []), whole_peak_mb=600.0 * workers if whole else 0.0)


def test_smoke_run_on_a_sample_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench-out"
    code = main(["bench", str(SAMPLES / "通知_zh.png"), "--workers", "1,2",
                 "--threads", "1", "--modes", "process", "--ref-threads", "1", "--repeat", "1", "--rounds", "1",
                 "--set", "recognition.max_regions_per_task=8", "--out", str(out)])
    printed = capsys.readouterr().out
    logs = "".join((out / name).read_text(encoding="utf-8")[-3000:] for name in ("cells.log", "whole.log")
                   if (out / name).exists())
    assert code == ExitCode.OK, logs
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    rows = {(r["mode"], r["workers"], r["threads"]): r for r in report["rows"]}
    ours = {("process", 1, 1), ("process", 2, 1)}
    peers = {(RAPIDOCR, 1, 2), (TESSERACT, 2, 1), (FASTER_PADDLE, 1, 2)}
    assert ours | peers | {(PADDLEOCR_OURS, 1, 1), (PADDLEOCR, 1, 1)} <= set(rows)
    assert report["yardsticks"] == list(PEERS) and report["memory"] == MEMORY_KIND
    for key, row in rows.items():
        assert row["error"] is None, row
        assert row["missing"] == missing_reason(key[0]), row  # a peer not installed here is a row saying why
        if row["missing"]:
            continue
        assert row["images"] == 1 and row["images_per_s"]["median"] > 0 and row["regions_per_s"]["median"] > 0
        assert row["warmup_seconds"] > 0 and row["peak_total_mb"] > 0 and row["memory"] == MEMORY_KIND
        assert len(row["whole_seconds"]) == 1 and row["whole_peak_mb"] > 0, row
        assert sys.platform == "win32" or row["whole_cpu"]["median"] > 0
        assert not any("whole-process" in note or "killed" in note for note in row["notes"]), row["notes"]
        if key in ours:
            assert row["text_matched"] is True, row["notes"]
            assert row["speedup_vs"][PADDLEOCR] and row["wall_vs"][PADDLEOCR]["median"] > 0
            for peer in peers:
                assert rows[peer]["missing"] or row["wall_vs"][peer[0]]["median"] > 0, (peer, row["wall_vs"])
    assert rows[("process", 2, 1)]["efficiency"] is not None
    assert yaml.safe_load((out / "configs" / "default.yaml").read_text())["recognition"]["max_regions_per_task"] == 8
    chart = cv2.imdecode(np.fromfile(str(out / "bench.png"), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert chart is not None and chart.shape[0] > 300 and chart.shape[1] > 600
    assert "recommendation:" in printed and "note:" in printed and "headline (whole process" in printed
    assert "--workers" in report["command"]


def test_lists_modes_overrides_and_variants_are_checked() -> None:
    assert parse_positive_list("1, 2,4,2", "--workers") == [1, 2, 4]
    assert parse_modes("process,serial") == ["process", "serial"]
    for bad in ("0", "x", ""):
        with pytest.raises(ConfigError, match="--workers"):
            parse_positive_list(bad, "--workers")
    with pytest.raises(ConfigError, match="unknown mode 'gpu'"):
        parse_modes("serial,gpu")
    assert parse_overrides(["detection.max_side_limit=2000", "engine.warmup=false", "a.b=x=y"]) == {
        "detection.max_side_limit": 2000, "engine.warmup": False, "a.b": "x=y"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["engine.runtime"])
    variant = parse_variant("cap:detection.max_side_limit=2000,recognition.batch_size=6")
    assert variant.label == "cap" and variant.overrides == {"detection.max_side_limit": 2000,
                                                            "recognition.batch_size": 6}
    for bad in ("nolabel", "default:workers=1", "a=b:c=d"):
        with pytest.raises(ConfigError, match="--variant"):
            parse_variant(bad)
    assert parse_yardsticks("tesseract, faster-paddle,tesseract") == [TESSERACT, FASTER_PADDLE]
    assert parse_yardsticks("none") == [] and parse_yardsticks(",".join(PEERS)) == list(PEERS)
    with pytest.raises(ConfigError, match="unknown yardstick 'easyocr'"):
        parse_yardsticks("paddleocr,easyocr")


def test_each_variant_gets_a_checked_config_and_its_own_cells(tmp_path: Path) -> None:
    variants = [parse_variant("cap:detection.max_side_limit=2000")]
    configs = write_variant_configs(None, {"recognition.max_regions_per_task": 8}, variants, tmp_path)
    assert list(configs) == ["default", "cap"]
    assert run_config(configs["cap"]) == run_config(None, {"recognition.max_regions_per_task": 8,
                                                             "detection.max_side_limit": 2000})
    with pytest.raises(ConfigError, match="detection.no_such_key"):
        write_variant_configs(None, {"detection.no_such_key": 1}, [], tmp_path / "bad")
    plan = Plan(workers=[1, 2], threads=[1], modes=["serial", "process"], reference_threads=[1, 2], repeat=1,
                inputs=["x"], configs=configs)
    cells = plan_cells(plan)
    assert [(c.mode, c.workers, c.threads) for c in cells[:7]] == [
        (PADDLEOCR_OURS, 1, 1), (PADDLEOCR_OURS, 1, 1), (PADDLEOCR, 1, 1), (PADDLEOCR, 1, 2), (RAPIDOCR, 1, 2),
        (TESSERACT, 2, 1), (FASTER_PADDLE, 1, 2)]  # 2 threads, or 2 pages at a time
    ours = [(c.variant, c.mode, c.workers) for c in cells[7:]]
    assert ours == [(v, m, w) for v in ("default", "cap") for m, w in (("serial", 1), ("process", 1), ("process", 2))]
    assert all(c.config_path == str(configs[c.variant]) for c in cells if c.mode != PADDLEOCR)
    assert len({c.name for c in cells}) == len(cells)
    only = plan_cells(Plan([1], [1], ["serial"], [1], 1, ["x"], configs, yardsticks=[TESSERACT]))
    assert [c.mode for c in only] == [PADDLEOCR_OURS, PADDLEOCR_OURS, TESSERACT, "serial", "serial"]
    spec = cells[-1]
    spec.write(tmp_path / "spec.json")
    assert CellSpec.read(tmp_path / "spec.json") == spec


def test_whole_process_commands_are_what_a_user_runs(tmp_path: Path) -> None:
    from pipeline.cli import _parser

    spec = CellSpec("process", 2, 1, 1, ("/in/a", "/in/b"), "/c/default.yaml")
    command = command_for(spec, tmp_path / "out.jsonl")
    assert command[1:4] == ["-m", "pipeline", "run"]
    args = _parser().parse_args(command[3:])  # the real command line accepts it
    assert (args.inputs, args.workers, args.threads, args.backend, args.config, args.overwrite) == (
        ["/in/a", "/in/b"], 2, 1, "process", "/c/default.yaml", True)
    yardstick = command_for(CellSpec(PADDLEOCR, 1, 2, 1, ("/in/a",), "/c/default.yaml"), tmp_path / "p.jsonl")
    assert yardstick[1:4] == ["-m", "pipeline.tools.bench.yardsticks", PADDLEOCR] and "2" in yardstick
    tesseract = command_for(CellSpec(TESSERACT, 2, 1, 1, ("/in/a",), "/c/default.yaml"), tmp_path / "t.jsonl")
    assert tesseract[tesseract.index("--jobs") + 1] == "2" and tesseract[tesseract.index("--threads") + 1] == "1"


def test_the_bench_never_imports_the_command_line_and_run_never_imports_the_bench() -> None:
    bench = ("import sys, pipeline.tools.bench.command, pipeline.tools.bench.cell, pipeline.tools.bench.yardsticks; "
             "assert 'pipeline.cli' not in sys.modules")
    subprocess.run([sys.executable, "-c", bench], check=True, cwd=REPO)
    lean = "import sys, pipeline.cli; assert 'pipeline.tools.bench.command' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", lean], check=True, cwd=REPO)


def test_bad_flags_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = str(SAMPLES / "screenshot_ui.png")
    for flags, word in ((["--modes", "fibers"], "fibers"), (["--set", "detection.nope=1"], "detection.nope"),
                        (["--variant", "x"], "--variant"), (["--repeat", "0"], "--repeat")):
        code = main(["bench", image, *flags, "--out", str(tmp_path)])
        assert code == ExitCode.USAGE and word in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()


def test_a_child_that_hangs_is_killed_at_its_timeout(tmp_path: Path) -> None:
    done = run_child([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "log", "sleeper", timeout=1.0)
    assert done.timed_out and done.seconds < 30
    done = run_child([sys.executable, "-c", "print('hi')"], tmp_path / "log", "quick", timeout=60)
    assert done.returncode == 0 and not done.timed_out and done.peak_mb > 0 and done.outlived == ()
    assert "hi" in (tmp_path / "log").read_text()


def test_a_process_left_running_by_a_child_is_named_and_killed(tmp_path: Path) -> None:
    """No process may outlive the command: one left behind (its own session, as a daemon or a
    forkserver would be) is waited for a moment, then killed, and named in the result."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    leaver = (f"import subprocess, time; p = subprocess.Popen({sleeper!r}, start_new_session=True); "
              "print(p.pid, flush=True); time.sleep(1)")
    done = run_child([sys.executable, "-c", leaver], tmp_path / "log", "leaver", timeout=60)
    assert done.returncode == 0 and len(done.outlived) == 1 and done.killed == done.outlived, done.outlived
    pid = int((tmp_path / "log").read_text().split("leaver")[1].split("\n")[1])
    assert str(pid) in done.outlived[0] and not _alive(pid)
    brief = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(2)'], "
             "start_new_session=True); time.sleep(1)")
    done = run_child([sys.executable, "-c", brief], tmp_path / "log", "brief", timeout=60)
    assert len(done.outlived) == 1 and "gone within" in done.outlived[0] and not done.killed, done.outlived


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.skipif(MEMORY_KIND != "PSS", reason="this OS reports no PSS")
def test_memory_shared_by_two_processes_counts_once(tmp_path: Path) -> None:
    """300 MB written before a fork is shared by parent and child: RSS summed over the tree says
    600 MB, PSS about 300."""
    forker = ("import os, time\nblock = b'x' * (300 * 1024 * 1024)\npid = os.fork()\ntime.sleep(2)\n"
              "if pid: os.waitpid(pid, 0)\nelse: os._exit(0)")
    done = run_child([sys.executable, "-c", forker], tmp_path / "log", "forker", timeout=60)
    assert done.returncode == 0 and done.memory == "PSS"
    assert 300 < done.peak_mb < 420, done.peak_mb


@pytest.mark.skipif(sys.platform == "win32", reason="CPU of a process tree comes from getrusage (POSIX)")
def test_a_childs_cpu_time_counts_its_own_children() -> None:
    burn = "x = 0\nfor i in range(5_000_000): x += i"
    grandchild = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}], check=True)"
    done = run_child([sys.executable, "-c", grandchild], Path(os.devnull), "burner", timeout=300)
    assert done.returncode == 0 and done.cpu_seconds is not None and done.cpu_seconds > 0.2


_FORKSERVER_BURNER = """
import multiprocessing, time
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return seconds
if __name__ == "__main__":
    with multiprocessing.get_context("forkserver").Pool(1) as pool:
        pool.apply(burn, (1.0,))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a forkserver, and CPU from getrusage")
def test_a_childs_cpu_time_counts_the_workers_of_its_forkserver(tmp_path: Path) -> None:
    """A forkserver's workers are its children, not the child's: the child never waits for the
    server, so their CPU time is counted from the tree's samples."""
    script = tmp_path / "burner.py"
    script.write_text(_FORKSERVER_BURNER, encoding="utf-8")
    done = run_child([sys.executable, str(script)], tmp_path / "log", "forkserver burner", timeout=300)
    assert done.returncode == 0, (tmp_path / "log").read_text()
    assert done.cpu_seconds is not None and done.cpu_seconds >= 0.9, done


def test_per_round_ratios_pair_runs_of_the_same_round() -> None:
    assert pair_ratios([10.0, 12.0, 30.0], [20.0, 20.0, 30.0]) == {"median": 0.6, "min": 0.5, "max": 1.0}
    assert pair_ratios([], [1.0]) is None


def test_rows_compare_with_one_worker_and_the_yardsticks() -> None:
    results = [_cell(PADDLEOCR_OURS, 1, 1, 0.6, whole=[20.0, 22.0]),
               _cell(PADDLEOCR, 1, 1, 0.7, texts={"a.png#0": ["hello  world"], "b.png#0": TEXTS["b.png#0"]},
                     whole=[16.0, 17.0]),
               _cell(PADDLEOCR, 1, 2, 1.0, whole=[15.0, 15.0]),  # best by whole-process time
               _cell(RAPIDOCR, 1, 2, 1.6, texts={}, whole=[12.0, 10.0]),
               _cell(TESSERACT, 2, 1, 2.5, texts={}, whole=[6.0, 6.0]),
               CellResult.not_run(CellSpec(FASTER_PADDLE, 1, 2, 1, ("x",), "c.yaml"), "not installed, for the test"),
               _cell("process", 1, 1, 0.7, whole=[14.0, 15.0]), _cell("process", 2, 1, 1.3, whole=[9.0, 12.0]),
               _cell("process", 2, 2, 1.2),
               _cell("thread", 2, 1, 0.8, texts={"a.png#0": ["hello wor1d"], "b.png#0": TEXTS["b.png#0"]})]
    rows = build_rows(results, machine_cores=2)
    assert [r.mode for r in rows].count(PADDLEOCR) == 1
    paddle = next(r for r in rows if r.mode == PADDLEOCR)
    assert paddle.threads == 2 and paddle.speedup_vs_1_worker is None and PADDLEOCR not in paddle.speedup_vs
    two = next(r for r in rows if r.mode == "process" and r.workers == 2 and r.threads == 1)
    assert two.speedup_vs_1_worker == pytest.approx(1.3 / 0.7) and two.efficiency == pytest.approx(1.3 / 1.4)
    assert two.speedup_vs[PADDLEOCR] == pytest.approx(1.3) and two.text_matched is True
    assert two.wall_vs[PADDLEOCR] == pytest.approx({"median": 0.7, "min": 0.6, "max": 0.8})
    assert two.wall_vs[RAPIDOCR] == pytest.approx({"median": 0.975, "min": 0.75, "max": 1.2})
    assert two.wall_vs[TESSERACT] == pytest.approx({"median": 1.75, "min": 1.5, "max": 2.0})
    assert FASTER_PADDLE not in two.wall_vs  # not installed: no ratio, a row saying why
    assert not two.oversubscribed and next(r for r in rows if r.threads == 2 and r.workers == 2).oversubscribed
    thread = next(r for r in rows if r.mode == "thread")
    assert thread.text_matched is False and "a.png#0" in thread.notes[0]
    assert thread.differences == [{"page": "a.png#0", "ours": ["hello wor1d"], "reference": ["hello world"]}]
    assert thread.speedup_vs_1_worker is None  # no 1-worker thread row to compare with
    rapid = next(r for r in rows if r.mode == RAPIDOCR)
    assert rapid.text_matched is False and RAPIDOCR not in rapid.speedup_vs and rapid.wall_vs[TESSERACT]["median"] > 1
    faster = next(r for r in rows if r.mode == FASTER_PADDLE)
    assert not faster.ok and faster.missing == "not installed, for the test" and faster.error is None
    table = format_table(rows)
    assert "OVERSUBSCRIBED" in table and "NO" in table and "1.30 (" in table and "0.70 (0.60-0.80)" in table
    assert "1.75 (1.50-2.00)" in table and "PSS tot MB" in table and "whole PSS MB" in table
    assert "not run" in table and "missing: not installed, for the test" in table
    assert any("faster-paddle (not installed, for the test)" in line for line in explanations(results, rows, 2, "paddle"))
    line, command = recommendation(rows)
    assert command == "python -m pipeline run INPUT --backend process --workers 2 --threads 1"
    assert "1.30 images/s" in line
    top = headline(rows)
    assert "process 2 worker(s) x 1 thr: 10.5s median" in top
    assert "1.43x (rounds 1.25-1.67x) PaddleOCR at its best cpu_threads" in top and "wall-time ratio 0.70" in top
    assert "0.57x (rounds 0.50-0.67x) Tesseract (wall-time ratio 1.75; its peak PSS 1200 MB)" in top
    assert "peak PSS 1200 MB" in top and "not run here: faster-paddle" in top


def test_processes_that_outlived_a_run_are_in_its_row() -> None:
    lingered = _cell("process", 2, 1, 1.0, whole=[5.0])
    lingered.outlived = ["round 1: python -c resource_tracker (pid 7): gone within 0.4s"]
    stuck = _cell("thread", 2, 1, 1.0, whole=[5.0])
    stuck.outlived = stuck.killed = ["round 1: python -m forkserver (pid 8): killed after 5s"]
    first, second = build_rows([lingered, stuck], machine_cores=2)
    assert "1 process(es) outlived the command: round 1: python -c resource_tracker" in first.notes[0]
    assert "1 process(es) outlived the command, 1 killed: round 1: python -m forkserver" in second.notes[0]


def test_each_variant_is_compared_with_paddleocr_built_with_its_settings() -> None:
    other = {"a.png#0": ["hello world!"], "b.png#0": TEXTS["b.png#0"]}
    results = [_cell(PADDLEOCR_OURS, 1, 1, 0.6), _cell(PADDLEOCR_OURS, 1, 1, 0.9, texts=other, variant="ort"),
               _cell("process", 2, 1, 1.3), _cell("process", 2, 1, 2.0, texts=other, variant="ort")]
    rows = build_rows(results, machine_cores=2)
    ort_ref = next(r for r in rows if r.mode == PADDLEOCR_OURS and r.variant == "ort")
    assert ort_ref.text_matched is False and "2/3 reference lines verbatim" in ort_ref.notes[0]
    assert all(r.text_matched for r in rows if r.mode == "process")
    line, _ = recommendation(rows, {"ort": "engine.runtime=onnxruntime"})
    assert "with config [ort]: engine.runtime=onnxruntime" in line and "2.00 images/s" in line
    assert "process [ort]" in format_table(rows)


@pytest.mark.parametrize(("thread_2", "process_2", "wording"), [
    (0.72, 1.30, "do not speed up"),
    (1.15, 1.32, "processes scale better"),
    (1.30, 1.32, "about equally"),
])
def test_the_note_is_worded_from_the_figures(thread_2: float, process_2: float, wording: str) -> None:
    results = [_cell(PADDLEOCR, 1, 1, 0.7), _cell("thread", 1, 1, 0.7), _cell("thread", 2, 1, thread_2),
               _cell("process", 1, 1, 0.7), _cell("process", 2, 1, process_2)]
    note = note_line(build_rows(results, machine_cores=2))
    assert note.startswith("note: ") and wording in note
    assert f"{process_2:.2f} img/s" in note


def test_chart_draws_from_made_up_rows(tmp_path: Path) -> None:
    results = [_cell(PADDLEOCR, 1, 2, 1.0, whole=[15.0]), _cell(RAPIDOCR, 1, 2, 1.6, texts={}, whole=[11.0]),
               _cell("serial", 1, 1, 0.7), _cell("serial", 1, 2, 1.0), _cell("thread", 1, 1, 0.7),
               _cell("thread", 2, 1, 0.75), _cell("process", 1, 1, 0.7, whole=[14.0]),
               _cell("process", 2, 1, 1.3, whole=[9.0]), _cell("process", 1, 2, 1.0), _cell("process", 2, 2, 1.1),
               _cell("process", 2, 1, 1.5, variant="ort", whole=[7.0])]
    path = tmp_path / "chart" / "bench.png"
    draw_chart(build_rows(results, machine_cores=2), path, "made-up figures")
    chart = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert chart is not None and chart.shape[0] >= 600 and chart.shape[1] >= 1800
    assert (chart < 128).any() and (chart == 255).mean() > 0.5  # ink on a white canvas


def test_plain_paddleocr_runs_on_the_onnxruntime_engine_too(config: Config) -> None:
    """--reference-engine onnxruntime: plain PaddleOCR on PaddleX's onnxruntime engine reads a page
    handed to it by path, as a user's script does (the paddle engine is in the smoke run)."""
    ocr, predict = build(PADDLEOCR, config, 1, "onnxruntime")
    assert "File saved successfully" in predict(ocr, str(SAMPLES / "screenshot_ui.png"))


@pytest.mark.parametrize("kind", [RAPIDOCR, FASTER_PADDLE])
def test_this_years_python_yardsticks_read_a_page_by_path_and_by_pixels(config: Config, kind: str) -> None:
    """RapidOCR 3.x and faster-paddle (both in the bench extra) at their defaults, 2 threads."""
    assert missing_reason(kind) is None, "pip install -e '.[bench]' installs it"
    ocr, predict = build(kind, config, 2)
    pixels = cv2.imread(str(LETTER))
    for source in (str(LETTER), pixels):
        lines = predict(ocr, source)
        assert "Notice to Harbor Residents" in lines and len(lines) >= 8, lines
    assert program(kind).split()[0] in ("rapidocr", "faster-paddle") and program(kind)[-1].isdigit()


def _tesseract_row(tmp_path: Path, config_path: str) -> tuple[CellResult, object]:
    """The Tesseract row as `pipeline bench` makes it: its cell, then one whole-process round."""
    spec = CellSpec(TESSERACT, 2, 1, 1, (str(LETTER), str(SAMPLES / "receipt_en.jpg")), config_path)
    result = measure_cell(spec, 2, tmp_path / "cells.log", tmp_path)
    run_rounds([spec], [result], 1, 2, tmp_path, lambda message: None)
    return result, build_rows([result], machine_cores=2)[0]


def test_the_tesseract_row_has_figures_when_tesseract_is_installed(tmp_path: Path) -> None:
    """`tesseract IMG - -l eng`, one process per page, two at a time; .ci/run installs tesseract-ocr
    (and requires this branch); without it the row says why instead."""
    config_path = write_variant_configs(None, {}, [], tmp_path / "configs")["default"]
    result, row = _tesseract_row(tmp_path, str(config_path))
    if TESSERACT_REQUIRED or missing_reason(TESSERACT) is None:
        assert row.ok and row.missing is None and row.program.startswith("tesseract "), (row.error, row.missing)
        assert row.images == 2 and row.workers == 2 and row.threads == 1 and row.images_per_s["median"] > 0
        assert row.whole is not None and row.whole["median"] > 0 and row.whole_peak_mb > 0
        assert row.memory == MEMORY_KIND and not row.notes, row.notes  # the same text both ways, nothing left running
        assert "Notice to Harbor Residents" in result.texts["letter_en.png#0"]
        assert result.whole_texts == result.texts and result.texts["receipt_en.jpg#0"]
        assert "tesseract" in format_table([row]).splitlines()[2]
    else:
        assert row.missing and "tesseract" in row.missing and not result.whole_seconds
        assert "not run" in format_table([row])


def test_a_yardstick_that_is_not_installed_is_a_row_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No tesseract on PATH, no faster_paddle module: both rows say so and nothing fails."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faster_paddle" else real(name, *a))
    assert shutil.which("tesseract") is None
    results = [measure_cell(CellSpec(kind, w, t, 1, (str(LETTER),), "unused.yaml"), 1, tmp_path / "log", tmp_path)
               for kind, w, t in ((TESSERACT, 2, 1), (FASTER_PADDLE, 1, 2))]
    assert [r.error for r in results] == [None, None] and not (tmp_path / "log").exists()  # nothing was started
    tesseract, faster = build_rows(results, machine_cores=2)
    assert "no `tesseract` program on PATH" in (tesseract.missing or "")
    assert "'faster_paddle' is not installed" in (faster.missing or "") and "faster-paddle==1.0.4" in (faster.missing or "")
    table = format_table([tesseract, faster])
    assert table.count("not run") == 2 and "missing: no `tesseract` program" in table
    assert "not run here: tesseract, faster-paddle" in headline([*build_rows([_cell("process", 1, 1, 1.0, whole=[5.0])], 2),
                                                                tesseract, faster])


def test_a_process_that_has_exited_but_is_not_yet_reaped_has_ended() -> None:
    """A zombie (exited, waiting to be reaped) is not a process that outlived the command."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    proc = psutil.Process(child.pid)
    deadline = time.monotonic() + 30
    while proc.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended(proc)
    child.wait()
    assert ended(proc)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not ended(psutil.Process(sleeper.pid))
    finally:
        sleeper.kill()
        sleeper.wait()
