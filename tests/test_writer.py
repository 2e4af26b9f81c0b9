"""The thread-locked writer: nothing lost, torn or interleaved, and input order kept."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest

from pipeline.core.types import ImageRef, Recognized
from pipeline.ocr.records import error_record, ok_record
from pipeline.output.jsonl import JsonlSink
from pipeline.output.writer import OrderedWriter


def _record(i: int) -> dict:
    image = ImageRef(i, f"/in/{i}.png", f"dir/图 {i}.png")
    # Long, multi-line, non-ASCII text makes a torn or interleaved write visible.
    text = [Recognized(f"line {i}-{k} " + "文字" * 50, 0.9) for k in range(5)]
    boxes = [[[0, k], [9, k], [9, k + 1], [0, k + 1]] for k in range(5)]
    return dict(ok_record(image, boxes, text, 0.0))


def test_many_threads_write_every_record_whole_and_in_order(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    count, threads = 2000, 16
    positions = list(range(count))
    random.Random(7).shuffle(positions)
    shares = [positions[t::threads] for t in range(threads)]
    barrier = threading.Barrier(threads)

    with OrderedWriter(JsonlSink(out)) as writer:
        def work(share: list[int]) -> None:
            barrier.wait()  # all threads start writing at once
            for position in share:
                writer.put(position, _record(position))

        pool = [threading.Thread(target=work, args=(share,)) for share in shares]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert writer.written == count

    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == count
    for i, line in enumerate(lines):
        assert json.loads(line) == _record(i)


def test_records_wait_for_earlier_positions(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    writer = OrderedWriter(JsonlSink(out))
    writer.put(1, _record(1))
    assert out.read_text(encoding="utf-8") == ""  # position 0 not there yet
    writer.put(0, _record(0))
    writer.close()
    assert [json.loads(l)["image"] for l in out.read_text(encoding="utf-8").splitlines()] == ["dir/图 0.png", "dir/图 1.png"]


def test_duplicate_position_is_refused(tmp_path: Path) -> None:
    writer = OrderedWriter(JsonlSink(tmp_path / "r.jsonl"))
    writer.put(0, _record(0))
    with pytest.raises(ValueError):
        writer.put(0, _record(0))


def test_error_record_follows_the_contract() -> None:
    record = error_record(ImageRef(0, "/x/a.png", "a.png", 2), "truncated\nimage data")
    assert record == {"image": "a.png", "page": 2, "status": "error", "text": "", "lines": [],
                      "error": "truncated image data"}
