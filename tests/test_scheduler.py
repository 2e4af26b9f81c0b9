"""The scheduler, the worker pools and the writer on the fake engine (`tests/fake_engine.py`):
many pages, recognized where detected or (the last ones) split into recognition chunks over the
workers, come out whole and in input order,
through every backend and every output format, and a page that kills or hangs its worker is
isolated. The real engine's end-to-end tests are in test_pipeline.py and test_faults.py."""

from __future__ import annotations

import inspect
import json
import random
import sys
from pathlib import Path

import cv2
import pytest
from PIL import Image

import faults
from fake_engine import FakeEngine, draw_page
from pipeline.cli import main
from pipeline.errors import ExitCode
from pipeline.inputs.discover import discover
from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.registry import Engine
from pipeline.output.formats import FORMATS, completed_pages
from pipeline.run.backends import backend_names
from pipeline.run.runner import run
from pipeline.run.settings import run_config

HEIGHT = 8


def _texts(widths: list[int]) -> list[str]:
    return [f"{w}x{HEIGHT}" for w in widths]


# The fake engine's lines are stacked text, not a page: the real-model passes around it (page
# orientation, line angle, reading order, whole crops) are tested with the real engine in their own files.
_PASSES_OFF = {"layout.reading_order": False, "detection.page_orientation": False,
               "recognition.angle_classifier": False, "detection.read_whole_crops": False}

@pytest.fixture()
def pages(tmp_path: Path) -> tuple[Path, dict[tuple[str, int], list[str] | None]]:
    """A folder of drawn pages (some blank, a 3-page TIFF, one corrupt file) and, per page, the
    lines the fake engine must read from it (None: an error record)."""
    rng = random.Random(11)
    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    expected: dict[tuple[str, int], list[str] | None] = {}
    for i in range(18):
        widths = rng.sample(range(20, 380), rng.randint(0, 7))
        rel = f"sub/p{i:02d}.png" if i % 3 == 0 else f"p{i:02d}.png"
        cv2.imwrite(str(folder / rel), draw_page(widths, HEIGHT))
        expected[(rel, 0)] = _texts(widths)
    tiff = [[30, 60], [], [300, 200, 100]]
    Image.fromarray(draw_page(tiff[0], HEIGHT)).save(
        folder / "scan.tif", save_all=True, append_images=[Image.fromarray(draw_page(w, HEIGHT)) for w in tiff[1:]])
    expected.update({("scan.tif", page): _texts(widths) for page, widths in enumerate(tiff)})
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    expected[("bad.png", 0)] = None
    return folder, expected


def test_the_fake_has_the_engines_interface() -> None:
    for name in ("warm_up", "detect", "recognize"):
        real, fake = inspect.signature(getattr(OcrEngine, name)), inspect.signature(getattr(FakeEngine, name))
        assert list(real.parameters) == list(fake.parameters), name
        assert list(inspect.signature(getattr(Engine, name)).parameters) == list(real.parameters), name
    assert list(inspect.signature(OcrEngine).parameters) == list(inspect.signature(FakeEngine).parameters)


@pytest.mark.parametrize("backend", backend_names())
def test_pages_come_out_whole_and_in_input_order(tmp_path: Path, fake_engine: str, backend: str,
                                                 pages: tuple[Path, dict[tuple[str, int], list[str] | None]]) -> None:
    folder, expected = pages
    out = tmp_path / "out.jsonl"
    # Two regions per recognition task: a last page of 7 lines is 4 tasks, spread over both workers.
    config = run_config(None, {**_PASSES_OFF, "workers": 2, "recognition.max_regions_per_task": 2, "output": str(out)})
    summary = run([folder], config, backend=backend, quiet=True)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["image"], r["page"]) for r in records] == [(i.rel, i.page) for i in discover([folder]).images]
    for record in records:
        want = expected[(record["image"], record["page"])]
        if want is None:
            assert record["status"] == "error" and record["error"], record
        else:
            assert record["status"] == "ok", record
            assert [line["text"] for line in record["lines"]] == want, record["image"]
            assert record["text"] == "\n".join(want)
    assert (summary.ok, summary.failed) == (len(expected) - 1, 1)
    assert summary.regions == sum(len(w) for w in expected.values() if w)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_configs_format_alone_picks_its_default_output_name(tmp_path: Path, fake_engine: str, fmt: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              pages: tuple[Path, dict]) -> None:
    folder, expected = pages
    work = tmp_path / "work"
    work.mkdir()
    (work / "my.yaml").write_text(f"format: {fmt}\n", encoding="utf-8")
    monkeypatch.chdir(work)
    assert main(["run", str(folder), "-c", "my.yaml", "-w", "2", "-q"]) == ExitCode.IMAGES_FAILED
    output = work / FORMATS[fmt].default_output
    # The output, and its lock and keys files beside it (inside it for the folder formats; README "Safety").
    sidecars = [] if FORMATS[fmt].folder else [f"{output.name}.lock", f"{output.name}.keys.json"]
    assert sorted(p.name for p in work.iterdir()) == sorted(["my.yaml", output.name, *sidecars])
    assert completed_pages(output, fmt) == set(expected)
    # Run again: everything is there already, nothing is redone.
    assert main(["run", str(folder), "-c", "my.yaml", "-w", "2", "-q"]) == ExitCode.OK


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL fault injection is POSIX-only")
@pytest.mark.parametrize("base", ["process", "dask"])
@pytest.mark.parametrize(("name", "why"), [("p05_CRASH.png", "worker process died"), ("p06_HANG.png", "timed out")])
def test_a_page_that_kills_or_hangs_its_worker_is_isolated(tmp_path: Path, fake_engine: str, name: str, why: str,
                                                           base: str,
                                                           pages: tuple[Path, dict[tuple[str, int], list[str] | None]]) -> None:
    folder, expected = pages
    cv2.imwrite(str(folder / name), draw_page([50, 60], HEIGHT))
    out = tmp_path / "out.jsonl"
    config = run_config(None, {**_PASSES_OFF, "workers": 2, "recognition.max_regions_per_task": 2, "output": str(out),
                                "limits.task_timeout": 3})
    summary = run([folder], config, backend=faults.install(base), quiet=True)
    records = {(r["image"], r["page"]): r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(records) == set(expected) | {(name, 0)}
    assert records[(name, 0)]["status"] == "error" and why in records[(name, 0)]["error"]
    for key, want in expected.items():
        if want is not None:
            assert [line["text"] for line in records[key]["lines"]] == want, key
    assert summary.failed == 2 and summary.restarts >= 1


def test_a_page_is_read_where_it_is_detected_until_the_last_pages_which_are_split(
        tmp_path: Path, fake_engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a page per worker is still to come, a page's regions are recognized in its detect task
    (its crops stay in the worker); the last pages (one per worker) are split into chunks that
    every worker can take."""
    from pipeline.core.types import ImageRef
    from pipeline.run import scheduler

    folder = tmp_path / "pages"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"p{i}.png"), draw_page([40, 80, 120, 160], HEIGHT))
    submitted: list[tuple[str, int, bool]] = []
    submit = scheduler._Task.submit

    def recording(task: scheduler._Task, pool: object) -> object:
        kind = "detect" if isinstance(task.payload, ImageRef) else "recognize"
        submitted.append((kind, task.page, task.recognize))
        return submit(task, pool)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler._Task, "submit", recording)
    out = tmp_path / "out.jsonl"
    config = run_config(None, {**_PASSES_OFF, "workers": 2, "recognition.max_regions_per_task": 2, "output": str(out)})
    summary = run([folder], config, backend="thread", quiet=True)
    assert summary.ok == 5 and summary.regions == 20
    detects = [(page, whole) for kind, page, whole in submitted if kind == "detect"]
    assert detects == [(0, True), (1, True), (2, True), (3, False), (4, False)]
    assert sorted({page for kind, page, _ in submitted if kind == "recognize"}) == [3, 4]
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all([line["text"] for line in r["lines"]] == _texts([40, 80, 120, 160]) for r in records)
