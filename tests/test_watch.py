"""`pipeline watch`: files dropped into an inbox are OCR'd once complete, once per content (a restart
does not redo them, a replaced file is done again), bad files are error records, SIGTERM stops it
cleanly. On the fake engine (tests/fake_engine.py): this is about the watching, not the OCR."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from fake_engine import ENGINE, draw_page
from pdf_files import scan_pdf
from pipeline.errors import ConfigError
from pipeline.run.settings import run_config
from pipeline.run.watch import ledger_path, watch

REPO = Path(__file__).resolve().parent.parent


def _records(out: Path) -> list[dict]:
    if not out.exists():
        return []
    # Every line whole: a torn or garbled record fails the test (only b"\n" ends a line).
    return [json.loads(row) for row in out.read_bytes().split(b"\n")[:-1]]


def _png(path: Path, widths: list[int]) -> bytes:
    ok, data = cv2.imencode(".png", draw_page(widths))
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return data.tobytes()


def _config(out: Path, **more: object) -> object:
    return run_config(None, {"workers": 1, "output": str(out), "watch.settle_seconds": 0.2,
                              "watch.poll_seconds": 0.2, **more})


def test_once_does_each_file_once_and_a_replaced_file_again(tmp_path: Path, fake_engine: str) -> None:
    inbox = tmp_path / "inbox"
    _png(inbox / "a.png", [50])
    _png(inbox / "sub" / "b.png", [60, 70])
    scan_pdf(inbox / "doc.pdf", [draw_page([30]), draw_page([40])])
    (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30))
    (inbox / "notes.txt").write_text("not an input")
    out = tmp_path / "out.jsonl"
    summary = watch(inbox, _config(out), once=True, quiet=True)  # type: ignore[arg-type]
    records = _records(out)
    assert sorted((r["image"], r["page"]) for r in records) == [
        ("a.png", 0), ("broken.png", 0), ("doc.pdf", 0), ("doc.pdf", 1), ("sub/b.png", 0)]
    assert (summary.files, summary.ok, summary.failed) == (4, 4, 1)
    assert all(len(r["sha256"]) == 64 for r in records)
    # A restart: nothing is done again.
    again = watch(inbox, _config(out), once=True, quiet=True)  # type: ignore[arg-type]
    assert again.files == 0 and len(_records(out)) == 5
    # A replaced file is done again: a newer record with the new content's hash.
    time.sleep(0.05)
    _png(inbox / "a.png", [90, 20])
    third = watch(inbox, _config(out), once=True, quiet=True)  # type: ignore[arg-type]
    assert third.files == 1
    a = [r for r in _records(out) if r["image"] == "a.png"]
    assert [r["text"].split() for r in a] == [["50x8"], ["90x8", "20x8"]] and a[0]["sha256"] != a[1]["sha256"]
    ledger = [json.loads(row) for row in ledger_path(out).read_text(encoding="utf-8").splitlines()]
    assert [e["sha256"] for e in ledger if e["image"] == "a.png"] == [a[0]["sha256"], a[1]["sha256"]]


def test_output_inside_the_inbox_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inside"):
        watch(tmp_path, _config(tmp_path / "out.jsonl"), once=True)  # type: ignore[arg-type]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to a child is POSIX-only")
def test_files_dropped_while_it_runs_each_get_one_record_and_sigterm_stops_it(tmp_path: Path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out.jsonl"
    inbox.mkdir()
    config = tmp_path / "watch.yaml"
    config.write_text(f"watch:\n  settle_seconds: 1.0\n  poll_seconds: 0.5\nengine:\n  kind: {ENGINE}\n", encoding="utf-8")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-m", "pipeline", "watch", str(inbox), "-o", str(out), "-w", "1",
                              "-c", str(config), "-q"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        _png(inbox / "first.png", [50])
        (inbox / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(50))
        # Written slowly in chunks, each pause shorter than the settle time: taken only when whole.
        data = _png(tmp_path / "slow.png", [100, 200, 300])
        with open(inbox / "slow.png", "wb") as handle:
            for start in range(0, len(data), max(1, len(data) // 5)):
                handle.write(data[start : start + max(1, len(data) // 5)])
                handle.flush()
                time.sleep(0.4)
        (inbox / "sub").mkdir()
        _png(inbox / "sub" / "late.png", [70])
        deadline = time.monotonic() + 90
        while len(_records(out)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, stderr
    records = {r["image"]: r for r in _records(out)}
    assert len(_records(out)) == 4 and set(records) == {"first.png", "corrupt.jpg", "slow.png", "sub/late.png"}
    assert records["corrupt.jpg"]["status"] == "error"
    assert records["slow.png"]["status"] == "ok" and records["slow.png"]["text"].split() == ["100x8", "200x8", "300x8"]
