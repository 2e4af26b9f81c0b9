"""Hostile folders and careless commands (issue 10): each hostile folder is built in a temporary
directory and run through the real command line (serial backend, tiny blank pages, so the real
engine is quick), or through the module that guards against it."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from pipeline.cli import main

REPO = Path(__file__).resolve().parent.parent
POSIX_SYMLINKS = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX symlinks")


def _page(path: Path, fmt: str = "PNG", pages: int = 1) -> Path:
    """A small blank page (no text: the engine finds none, quickly); `pages` > 1 makes a TIFF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [Image.new("RGB", (64, 48), (255, 255, 255)) for _ in range(pages)]
    options = {"compression": "tiff_deflate"} if fmt == "TIFF" else {}
    frames[0].save(path, format=fmt, save_all=pages > 1, append_images=frames[1:], **options)
    return path


def _run(*args: str | Path) -> int:
    return main(["run", *map(str, args), "--backend", "serial", "-q"])


def _keys(output: Path) -> list[tuple[str, int]]:
    lines = output.read_text(encoding="utf-8").splitlines()
    return [(r["image"], r["page"]) for r in map(json.loads, lines)]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# --- writing only where the user said ---------------------------------------------------------------


@POSIX_SYMLINKS
def test_a_symlinked_folder_in_the_txt_output_is_not_written_through(tmp_path: Path) -> None:
    _page(tmp_path / "in" / "sub" / "a.png")
    _page(tmp_path / "in" / "b.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "sub")
    assert _run(tmp_path / "in", "-o", out, "--format", "txt") == 1  # the page that could not be stored failed
    assert list(elsewhere.iterdir()) == []
    assert (out / "b.png.txt").is_file()
    errors = (out / "errors.tsv").read_text(encoding="utf-8")
    assert "sub/a.png\t0\t" in errors and "symlink" in errors


@POSIX_SYMLINKS
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_symlinked_results_file_is_refused(tmp_path: Path, fmt: str, overwrite: bool,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"")  # empty: a resume would take it for a fresh output and write into it
    out = tmp_path / ("out" if fmt == "txt" else f"results.{fmt}")
    if fmt == "txt":
        out.mkdir()
        os.symlink(victim, out / "errors.tsv")
    else:
        os.symlink(victim, out)
    flags = ["--overwrite"] if overwrite else []
    assert _run(tmp_path / "in", "-o", out, "--format", fmt, *flags) == 2
    assert victim.read_bytes() == b""
    assert "is a symlink" in capsys.readouterr().err


@POSIX_SYMLINKS
def test_input_symlinks_are_followed_only_inside_the_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    _page(tmp_path / "in" / "inner" / "b.png")
    _page(tmp_path / "machine" / "secret.png")
    _page(tmp_path / "machine" / "other.png")
    os.symlink(tmp_path / "machine", tmp_path / "in" / "root_link")  # like link -> /
    os.symlink(tmp_path / "machine" / "secret.png", tmp_path / "in" / "file_link.png")
    os.symlink(tmp_path / "in" / "inner", tmp_path / "in" / "inner_link")  # stays inside: followed
    out = tmp_path / "r.jsonl"
    assert _run(tmp_path / "in", "-o", out) == 0
    assert sorted(_keys(out)) == [("a.png", 0), ("inner/b.png", 0)]  # inner_link/b.png is the same file
    err = capsys.readouterr().err
    assert "root_link" in err and "file_link.png" in err and "--follow-symlinks" in err
    out2 = tmp_path / "r2.jsonl"
    assert _run(tmp_path / "in", "-o", out2, "--follow-symlinks") == 0
    assert {("file_link.png", 0), ("root_link/other.png", 0)} <= set(_keys(out2))


@pytest.mark.parametrize("case", ["output is the image", "txt output is the input folder",
                                  "output inside the input", "input inside the txt output"])
def test_an_output_among_the_inputs_is_refused(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    image = _page(tmp_path / "in" / "a.png")
    before = image.read_bytes()
    folder = tmp_path / "in"
    args = {
        "output is the image": [image, "-o", image, "--overwrite"],
        "txt output is the input folder": [folder, "-o", folder, "--format", "txt"],
        "output inside the input": [folder, "-o", folder / "results.jsonl"],
        "input inside the txt output": [folder, "-o", tmp_path, "--format", "txt"],
    }[case]
    assert _run(*args) == 2
    assert image.read_bytes() == before
    assert _tree(folder) == {"a.png"}
    err = capsys.readouterr().err
    assert str(args[0]) in err and str(args[2]) in err  # names both paths


def test_formula_cells_are_neutralised_in_csv_and_errors_tsv(tmp_path: Path) -> None:
    name = '=HYPERLINK("evil.example","x").png'
    _page(tmp_path / "in" / name)
    (tmp_path / "in" / "@SUM(1).png").write_bytes(b"not an image")
    table = tmp_path / "r.csv"
    assert _run(tmp_path / "in", "-o", table, "--format", "csv") == 1
    with open(table, encoding="utf-8", newline="") as handle:
        cells = [row[0] for row in csv.reader(handle)][1:]
    assert sorted(cells) == ["'" + name, "'@SUM(1).png"]
    assert _run(tmp_path / "in", "-o", table, "--format", "csv") == 0  # resume reads the keys back: no duplicates
    with open(table, encoding="utf-8", newline="") as handle:
        assert len(list(csv.reader(handle))) == 3
    folder = tmp_path / "txt"
    assert _run(tmp_path / "in", "-o", folder, "--format", "txt") == 1
    rows = (folder / "errors.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert [row.split("\t")[0] for row in rows] == ["'@SUM(1).png"]


def test_recognized_text_that_looks_like_a_formula_is_neutralised(tmp_path: Path) -> None:
    from pipeline.output.cells import neutralise_cell, restore_cell
    from pipeline.output.formats import open_sink
    from pipeline.output.writer import OrderedWriter

    texts = ["=1+2", "+1", "-item", "@x", "\tx", "\rx", "'=already", "''=", "'plain", "plain", "", "=", "'"]
    for text in texts:
        assert restore_cell(neutralise_cell(text)) == text
        assert neutralise_cell(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")
    record = {"image": "a.png", "page": 0, "status": "ok", "text": "=cmd|' /C calc'!A0", "lines": [], "error": None}
    with OrderedWriter(open_sink("csv", tmp_path / "r.csv", append=False)) as writer:
        writer.put(0, record)  # type: ignore[arg-type]
    with open(tmp_path / "r.csv", encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle))[1][3] == "'=cmd|' /C calc'!A0"


# --- one run at a time per output -------------------------------------------------------------------


def _holder(output: Path, fmt: str = "jsonl") -> subprocess.Popen[str]:
    """A process that takes the output's lock and sleeps, printing 'locked' once it holds it."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from pipeline.output.lock import output_lock
        with output_lock(Path({str(output)!r}), {fmt!r}):
            print("locked", flush=True)
            time.sleep(120)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_run_on_the_same_output_exits_2_naming_the_pid(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    out = tmp_path / "r.jsonl"
    holder = _holder(out)
    try:
        assert _run(tmp_path / "in", "-o", out) == 2
        assert f"output is in use by another run (pid {holder.pid})" in capsys.readouterr().err
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_stale_lock_from_a_killed_run_does_not_block(tmp_path: Path) -> None:
    _page(tmp_path / "in" / "a.png")
    out = tmp_path / "r.jsonl"
    holder = _holder(out)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (tmp_path / "r.jsonl.lock").exists()  # the file stays; the lock went with its process
    assert _run(tmp_path / "in", "-o", out) == 0
    assert _keys(out) == [("a.png", 0)]


# --- resume that cannot silently lose or duplicate ---------------------------------------------------


def test_resume_keeps_the_keys_of_the_first_run(tmp_path: Path) -> None:
    _page(tmp_path / "in" / "a" / "x.png")
    _page(tmp_path / "in" / "b" / "y.png")
    out = tmp_path / "r.jsonl"
    assert _run(tmp_path / "in", "-o", out) == 0
    assert _run(tmp_path / "in" / "a", "-o", out) == 0  # alone its keys would be "x.png"
    assert _run(tmp_path / "in" / "a" / "x.png", tmp_path / "in" / "b", "-o", out) == 0
    keys = _keys(out)
    assert sorted(keys) == [("a/x.png", 0), ("b/y.png", 0)]


def test_resume_with_an_input_outside_the_first_base_is_refused(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a" / "x.png")
    _page(tmp_path / "in" / "b" / "y.png")
    out = tmp_path / "r.jsonl"
    assert _run(tmp_path / "in" / "a", "-o", out) == 0
    before = out.read_bytes()
    assert _run(tmp_path / "in" / "a", tmp_path / "in" / "b", "-o", out) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "in" / "a") in err and str(tmp_path / "in" / "b") in err
    assert out.read_bytes() == before
    assert _run(tmp_path / "in" / "a", tmp_path / "in" / "b", "-o", out, "--overwrite") == 0
    assert sorted(_keys(out)) == [("a/x.png", 0), ("b/y.png", 0)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_complete_last_record_without_its_newline_is_kept(tmp_path: Path, fmt: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    _page(tmp_path / "in" / "b.png")
    out = tmp_path / f"r.{fmt}"
    assert _run(tmp_path / "in", "-o", out, "--format", fmt) == 0
    full = out.read_bytes()
    out.write_bytes(full.rstrip(b"\r\n"))
    capsys.readouterr()
    assert _run(tmp_path / "in", "-o", out, "--format", fmt) == 0
    assert "(2 already done, skipped)" in capsys.readouterr().err  # not redone
    assert out.read_bytes() == full  # nothing lost, the line ended


# --- one bad name never ends the run ----------------------------------------------------------------


def test_a_name_too_long_for_its_txt_is_an_error_row(tmp_path: Path) -> None:
    long_name = "n" * 246 + ".tif"  # 250 characters: fine as an input, too long with .page0000.txt
    _page(tmp_path / "in" / long_name, "TIFF")
    _page(tmp_path / "in" / "ok.png")
    out = tmp_path / "out"
    assert _run(tmp_path / "in", "-o", out, "--format", "txt") == 1
    assert (out / "ok.png.txt").is_file()
    errors = (out / "errors.tsv").read_text(encoding="utf-8")
    assert long_name in errors and "cannot write" in errors


def test_a_file_beside_a_folder_of_its_txt_name(tmp_path: Path) -> None:
    _page(tmp_path / "in" / "a.png")
    _page(tmp_path / "in" / "a.png.txt" / "b.png")  # a folder named like a.png's output
    _page(tmp_path / "in" / "c.png")
    out = tmp_path / "out"
    assert _run(tmp_path / "in", "-o", out, "--format", "txt") == 1
    assert (out / "a.png.txt").is_file() and (out / "c.png.txt").is_file()
    assert "a.png.txt/b.png\t0\t" in (out / "errors.tsv").read_text(encoding="utf-8")


def test_an_input_given_with_dotdot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _page(tmp_path / "scans" / "a.png")
    _page(tmp_path / "work" / "b.png")
    monkeypatch.chdir(tmp_path / "work")
    out = tmp_path / "out"
    assert _run("../scans/a.png", "b.png", "-o", out, "--format", "txt") == 0
    assert _tree(out) >= {"scans/a.png.txt", "work/b.png.txt"}


def test_names_differing_only_in_case_on_a_case_insensitive_file_system(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.output.base as base
    from pipeline.output.txt import TxtSink
    from pipeline.output.writer import OrderedWriter

    # Fault injection: this file system is case-sensitive, so pretend it is not.
    monkeypatch.setattr(base, "_case_insensitive", lambda folder: True)
    sink = TxtSink(tmp_path / "out")
    with OrderedWriter(sink) as ordered:
        for position, name in enumerate(["A.png", "a.png", "b.png"]):
            ordered.put(position, {"image": name, "page": 0, "status": "ok", "text": name, "lines": [],
                                   "error": None})  # type: ignore[arg-type]
    assert (tmp_path / "out" / "A.png.txt").read_text(encoding="utf-8") == "A.png\n"
    assert "a.png\t0\tcannot write" in (tmp_path / "out" / "errors.tsv").read_text(encoding="utf-8")
    assert sink.failed_writes == 1


def test_an_input_name_too_long_for_the_os_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    out = tmp_path / "r.jsonl"
    assert _run(tmp_path / ("x" * 300 + ".png"), tmp_path / "in", "-o", out) == 0
    assert _keys(out) == [("in/a.png", 0)]
    assert "input not found" in capsys.readouterr().err


def test_file_names_in_messages_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    hostile = tmp_path / "\x1b[2J\x1b]0;owned\x07\u202egnp.png"
    assert _run(hostile, tmp_path / "in", "-o", tmp_path / "r.jsonl") == 0
    err = capsys.readouterr().err
    assert "input not found" in err
    assert not any(ch in err for ch in "\x1b\x07\u202e")
    assert "\\x1b[2J" in err


# --- limits that hold in every worker ---------------------------------------------------------------


@pytest.mark.parametrize("key, value", [
    ("limits.task_timeout", float("inf")),
    ("limits.task_timeout", float("nan")),
    ("workers", 100_000),
    ("threads_per_worker", 10_000),
    ("limits.max_retries", 10**9),
    ("detection.unclip_ratio", float("inf")),
])
def test_config_values_must_be_finite_and_bounded(key: str, value: float) -> None:
    from pipeline.errors import ConfigError
    from pipeline.run.settings import run_config

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        run_config(None, {key: value})


def test_yaml_inf_and_nan_are_refused_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _page(tmp_path / "in" / "a.png")
    for text, key in (("limits:\n  task_timeout: .inf\n", "limits.task_timeout"),
                      ("limits:\n  task_timeout: .nan\n", "limits.task_timeout"), ("workers: 100000\n", "workers")):
        config = tmp_path / "c.yaml"
        config.write_text(text, encoding="utf-8")
        assert _run(tmp_path / "in", "-o", tmp_path / "r.jsonl", "-c", config) == 2
        assert f"config key '{key}'" in capsys.readouterr().err
    assert _run(tmp_path / "in", "-o", tmp_path / "r.jsonl", "--workers", "100000") == 2


def _limits_config(tmp_path: Path, **limits: int) -> Path:
    config = tmp_path / "limits.yaml"
    config.write_text("limits:\n" + "".join(f"  {k}: {v}\n" for k, v in limits.items()), encoding="utf-8")
    return config


@pytest.mark.parametrize("ship", [[], ["--ship-bytes"]], ids=["path", "ship-bytes"])
def test_files_over_max_file_bytes_and_max_pages_are_error_records(tmp_path: Path, ship: list[str]) -> None:
    big = _page(tmp_path / "in" / "big.bmp", "BMP")  # uncompressed: 64x48x3 bytes and more
    _page(tmp_path / "in" / "many.tif", "TIFF", pages=5)
    _page(tmp_path / "in" / "three.tif", "TIFF", pages=3)
    _page(tmp_path / "in" / "small.png")
    assert big.stat().st_size > 5000 > (tmp_path / "in" / "small.png").stat().st_size
    out = tmp_path / "r.jsonl"
    config = _limits_config(tmp_path, max_file_bytes=5000, max_pages=3)
    assert _run(tmp_path / "in", "-o", out, "-c", config, *ship) == 1  # shipped: the parent reads under the limit
    records = {(r["image"], r["page"]): r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert sorted(records) == [("big.bmp", 0), ("many.tif", 0), ("small.png", 0),
                               ("three.tif", 0), ("three.tif", 1), ("three.tif", 2)]
    assert "limits.max_file_bytes" in records[("big.bmp", 0)]["error"]
    assert "more than 3 pages (limits.max_pages)" in records[("many.tif", 0)]["error"]
    assert all(r["status"] == "ok" for k, r in records.items() if k[0] in ("small.png", "three.tif"))


def test_counting_pages_stops_at_the_limit(tmp_path: Path) -> None:
    from pipeline.errors import ImageReadError
    from pipeline.inputs.reader import count_pages, read_image

    tiff = _page(tmp_path / "many.tif", "TIFF", pages=6)
    assert count_pages(tiff, max_pages=6) == 6
    with pytest.raises(ImageReadError, match="more than 5 pages"):
        count_pages(tiff, max_pages=5)
    with pytest.raises(ImageReadError, match="more than 5 pages"):
        read_image(tiff, 0, max_pages=5)


@pytest.mark.parametrize("dtype", ["uint16", "float32", "int32"])
def test_wide_pages_convert_without_full_size_wide_copies(dtype: str) -> None:
    import tracemalloc

    import numpy as np

    from pipeline.inputs.reader import _to_uint8

    rows, cols = 3000, 3000
    page = (np.arange(rows * cols, dtype=np.float64).reshape(rows, cols) % 60000).astype(dtype)
    if dtype == "float32":
        page /= 60000.0
    expected_small = _to_uint8(page[:100])  # same rule on a slice (the range differs: checked loosely)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        converted = _to_uint8(page)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert converted.dtype == np.uint8 and converted.shape == page.shape
    # The output (1 byte a sample) plus bounded blocks; a full-size uint32/float64 copy alone is 4-8x that.
    assert peak < converted.nbytes + 24 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    if dtype == "uint16":
        assert np.array_equal(converted[:100], expected_small)
        assert np.array_equal(converted, ((page.astype(np.uint32) + 128) // 257).astype(np.uint8))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="worker retirement needs Python 3.11")
@pytest.mark.parametrize("limit", ["max_tasks", "max_rss_mb"])
def test_workers_retire_between_tasks_and_are_replaced(limit: str) -> None:
    import multiprocessing

    from pipeline.run.backends.process import RecyclingPool

    # max_rss_mb=1: every worker is over it after its first task.
    options = {"max_tasks": 2} if limit == "max_tasks" else {"max_rss_mb": 1}
    with RecyclingPool(max_workers=2, mp_context=multiprocessing.get_context("spawn"), **options) as pool:
        pids = [pool.submit(os.getpid).result() for _ in range(6)]
        assert len(set(pids)) == (3 if limit == "max_tasks" else 6)
        assert len({f.result() for f in [pool.submit(os.getpid) for _ in range(12)]}) >= 2  # still parallel


@pytest.mark.skipif(sys.version_info < (3, 11), reason="worker retirement needs Python 3.11")
def test_the_process_backend_makes_a_retiring_pool_with_the_config_limits(tmp_path: Path) -> None:
    from pipeline.ocr.models import resolve_models
    from pipeline.run.backends.process import ProcessBackend, RecyclingPool, _sharing_lock
    from pipeline.run.settings import run_config

    config = run_config(_limits_config(tmp_path, max_tasks_per_worker=7, max_worker_rss_mb=300))
    executor = ProcessBackend(1, config, resolve_models(config.models, config.engine.runtime)).make_executor()
    try:
        assert isinstance(executor, RecyclingPool)
        assert executor._retire_after == (7, 300 * 1024 * 1024)
        # The pool's lock for large inputs first, then the initializer (fault-injection tests swap it).
        assert executor._initializer is _sharing_lock and executor._initargs[1] is ProcessBackend.initializer
    finally:
        executor.shutdown()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="worker retirement needs Python 3.11")
def test_a_run_with_workers_retiring_after_every_task_loses_nothing(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        _page(tmp_path / "in" / name)
    out = tmp_path / "r.jsonl"
    config = _limits_config(tmp_path, max_tasks_per_worker=1)
    assert main(["run", str(tmp_path / "in"), "-o", str(out), "-c", str(config), "-w", "1", "-q"]) == 0
    assert _keys(out) == [("a.png", 0), ("b.png", 0), ("c.png", 0)]


# --- model cache ------------------------------------------------------------------------------------


def test_a_damaged_model_cache_is_prepared_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.ocr.checksums import MANIFEST, verify_manifest
    from pipeline.ocr.models import resolve_models
    from pipeline.run.settings import run_config

    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "cache"))
    config = run_config(None)
    folder = Path(resolve_models(config.models, config.engine.runtime).detection.dir or "")
    assert (folder / MANIFEST).is_file() and verify_manifest(folder) is None
    weights = max((p for p in folder.iterdir() if p.name not in (MANIFEST, "inference.yml")),
                  key=lambda p: p.stat().st_size)
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # a truncated copy, trusted before as inference.yml exists
    assert verify_manifest(folder) is not None
    assert Path(resolve_models(config.models, config.engine.runtime).detection.dir or "") == folder
    assert weights.read_bytes() == good


def test_a_worker_refuses_model_files_changed_after_preparation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.ocr.models import resolve_models
    from pipeline.run.settings import run_config
    from pipeline.run.worker import init_worker

    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "cache"))
    models = resolve_models(run_config(None).models, run_config(None).engine.runtime)
    rec = Path(models.recognition.dir or "") / "inference.yml"
    rec.write_text(rec.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="changed since they were prepared"):
        init_worker(run_config(None), models)


def test_an_unexpected_error_in_the_parent_is_exit_3_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import pipeline.run.runner as runner

    def broken(*args: object, **kwargs: object) -> None:  # fault injection: a bug in discovery
        raise RuntimeError("boom\nsecond line \x1b[31m")

    monkeypatch.setattr(runner, "discover", broken)
    _page(tmp_path / "in" / "a.png")
    assert _run(tmp_path / "in", "-o", tmp_path / "r.jsonl") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("internal error: RuntimeError: boom second line \\x1b[31m")
