"""The engines we are measured against, built as their users build them.

- `paddleocr`: plain `PaddleOCR(...)` with its own defaults (recognition batch 6, its detection
  sizes and thresholds), except the embedded model folders and the orientation models off (the
  offline constructor in docs/design.md), at `cpu_threads` threads. `engine` other than "paddle" runs it
  on that PaddleX engine instead (e.g. "onnxruntime"), for a yardstick on the same runtime as ours.
- `paddleocr-ours`: PaddleOCR with our settings and runtime (`pipeline.tools.reference`), its lines put in
  our reading order: the text every row of ours is compared with.
- `rapidocr`: RapidOCR-onnxruntime with its own defaults and bundled ONNX weights, 2 intra-op
  threads, its angle classifier off (as PaddleOCR's orientation models are).

`python -m pipeline.tools.bench.yardsticks KIND --threads T --config C --out OUT.jsonl INPUT...` runs one
of them as a whole process, the way a user's script would: build it, hand it each file's path, exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.tools.bench.data import PADDLEOCR, PADDLEOCR_OURS, RAPIDOCR

__all__ = ["Yardstick", "build", "main", "warm_page"]

Predict = Callable[[Any, Any], list[str]]
Yardstick = tuple[Any, Predict]


def _plain_paddleocr(models: Any, threads: int, engine: str) -> Any:
    # What a user sets to run offline (docs/design.md); nothing else is tuned.
    os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
    from pipeline.tools.reference import offline_paddleocr

    runtime: dict[str, Any] = {"cpu_threads": threads}
    if engine != "paddle":
        runtime = {"engine": engine, "engine_config": {"intra_op_num_threads": threads}}
    return offline_paddleocr(models, **runtime)


def _predict_paddleocr(ocr: Any, pixels: Any) -> list[str]:
    from pipeline.tools.reference import reference_lines

    return reference_lines(ocr, pixels)


def _predict_as_ours(config: Any, ocr: Any, source: Any) -> list[str]:
    """PaddleOCR's lines made into a record as a run makes it (reading order, score threshold)."""
    from pipeline.core.types import ImageRef
    from pipeline.tools.reference import reference_record

    record = reference_record(ocr.predict(source)[0], ImageRef(0, "", "", 0), config)
    return [line["text"] for line in record["lines"]]


def _rapidocr(threads: int) -> Any:
    """RapidOCR 1.4.4 takes thread settings as global keyword arguments and copies them to its
    det/cls/rec onnxruntime sessions."""
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(intra_op_num_threads=threads, use_cls=False)


def _predict_rapidocr(ocr: Any, pixels: Any) -> list[str]:
    found, _ = ocr(pixels)
    return [str(item[1]) for item in (found or [])]


def build(kind: str, config: Any, threads: int, engine: str = "paddle") -> Yardstick:
    """The yardstick `kind`, built with `config`'s models, and the function that OCRs one page with it."""
    from pipeline.ocr.models import on_paddle, resolve_models

    if kind == RAPIDOCR:
        return _rapidocr(threads), _predict_rapidocr
    if kind == PADDLEOCR:  # its engine's model format, whatever runtime our config picks
        models = on_paddle(config.models) if engine == "paddle" else config.models  # it reads PP-OCRv4 only
        return _plain_paddleocr(resolve_models(models, engine), threads, engine), _predict_paddleocr
    if kind == PADDLEOCR_OURS:  # our runtime too, so that its text is what ours must equal
        from pipeline.tools.reference import reference_ocr

        ocr = reference_ocr(config, resolve_models(config.models, config.engine.runtime), threads)
        return ocr, partial(_predict_as_ours, config)
    raise ValueError(f"unknown yardstick '{kind}'")


def warm_page() -> Any:
    """A tiny page with one dark bar, like the one `OcrEngine.warm_up` uses."""
    import numpy as np

    page = np.full((64, 256, 3), 255, dtype=np.uint8)
    page[24:40, 16:240] = 0
    return page


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.tools.bench.yardsticks")
    parser.add_argument("kind", choices=(PADDLEOCR, PADDLEOCR_OURS, RAPIDOCR))
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--engine", default="paddle")
    parser.add_argument("--out", required=True, help="JSONL with the lines of every page")
    args = parser.parse_args(argv)
    from pipeline.inputs.discover import discover
    from pipeline.inputs.reader import read_image
    from pipeline.run.settings import run_config

    config = run_config(args.config)
    ocr, predict = build(args.kind, config, args.threads, args.engine)
    images = discover(args.inputs).images
    pages_of = Counter(image.path for image in images)
    with open(args.out, "w", encoding="utf-8") as out:
        for image in images:
            # A user hands the file's path to the engine (its own loader); pages of a multi-page
            # file it cannot split are read with ours.
            source: Any = image.path
            if pages_of[image.path] > 1:
                source = read_image(Path(image.path), image.page, max_pixels=config.limits.max_image_pixels)
            lines = [{"text": text} for text in predict(ocr, source)]
            out.write(json.dumps({"image": image.rel, "page": image.page, "lines": lines}, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
