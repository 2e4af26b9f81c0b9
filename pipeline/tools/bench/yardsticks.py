"""The engines we are measured against, built as their users build them.

- `paddleocr`: plain `PaddleOCR(...)` with its own defaults (recognition batch 6, its detection
  sizes and thresholds), except the embedded model folders and the orientation models off (the
  offline constructor in docs/design.md), at `cpu_threads` threads. `engine` other than "paddle" runs it
  on that PaddleX engine instead (e.g. "onnxruntime"), for a yardstick on the same runtime as ours.
- `paddleocr-ours`: PaddleOCR with our settings and runtime (`pipeline.tools.reference`), its lines put in
  our reading order: the text every row of ours is compared with.
- `rapidocr`: RapidOCR 3.x (`pip install rapidocr`: PP-OCRv6 small det/rec and the v2 angle
  classifier inside the wheel) with its own defaults, on onnxruntime with `threads` intra-op threads.
- `tesseract`: the `tesseract` program, `tesseract IMG - -l eng` (plain text to stdout), one process
  per page with `OMP_THREAD_LIMIT=1`, `jobs` pages at a time: how OCRmyPDF runs it.
- `faster-paddle`: faster-paddle (Rust + ONNX Runtime, PP-OCRv6 inside the wheel) at its default
  model size (tiny), `OcrEngine(threads=threads).ocr(file bytes)` page after page.

A yardstick that is not installed here is not an error: `missing_reason` says why, and the bench
shows that as its row.

`python -m pipeline.tools.bench.yardsticks KIND --threads T [--jobs J] --config C --out OUT.jsonl INPUT...`
runs one of them as a whole process, the way a user's script would: build it, hand it each file's
path (or, for a page of a multi-page file, the pixels our reader makes), exit.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.tools.bench.data import FASTER_PADDLE, PADDLEOCR, PADDLEOCR_OURS, RAPIDOCR, TESSERACT, YARDSTICKS

__all__ = ["Tesseract", "Yardstick", "build", "close", "main", "missing_reason", "ocr_pages", "page_sources", "program",
           "warm_page"]

Source = Any  # a file's path (str), or a page's BGR pixels (numpy array)
Predict = Callable[[Any, Source], list[str]]
Yardstick = tuple[Any, Predict]

TESSERACT_LANGUAGE = "eng"
# What the user installs to get each missing yardstick.
_INSTALL = {
    RAPIDOCR: "pip install 'rapidocr==3.10.0' (in the bench extra)",
    FASTER_PADDLE: "pip install 'faster-paddle==1.0.4' (in the bench extra)",
    TESSERACT: "e.g. apt-get install tesseract-ocr",
}
_MODULES = {RAPIDOCR: ("rapidocr", "onnxruntime"), FASTER_PADDLE: ("faster_paddle",)}
_DISTRIBUTIONS = {PADDLEOCR: "paddleocr", PADDLEOCR_OURS: "paddleocr", RAPIDOCR: "rapidocr",
                  FASTER_PADDLE: "faster-paddle"}


def _tesseract_binary() -> str | None:
    return shutil.which("tesseract")


def _tesseract_output(*args: str) -> str:
    binary = _tesseract_binary()
    if binary is None:
        return ""
    try:
        done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr  # older versions print --version to stderr


def missing_reason(kind: str) -> str | None:
    """Why yardstick `kind` cannot run on this machine, or None when it can."""
    if kind == TESSERACT:
        if _tesseract_binary() is None:
            return f"no `tesseract` program on PATH ({_INSTALL[TESSERACT]})"
        if TESSERACT_LANGUAGE not in _tesseract_output("--list-langs").split():
            return f"tesseract has no '{TESSERACT_LANGUAGE}' language data (e.g. apt-get install tesseract-ocr-eng)"
        return None
    for module in _MODULES.get(kind, ()):
        if importlib.util.find_spec(module) is None:
            return f"Python module '{module}' is not installed ({_INSTALL[kind]})"
    return None


def program(kind: str) -> str:
    """The yardstick's name and version, e.g. "tesseract 5.3.0", for the report."""
    if kind == TESSERACT:
        first = _tesseract_output("--version").strip().splitlines()[:1]
        return first[0] if first else "tesseract"
    name = _DISTRIBUTIONS.get(kind, kind)
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return name


# --- plain PaddleOCR and PaddleOCR with our settings ---


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


# --- RapidOCR 3.x ---


def _rapidocr(threads: int) -> Any:
    """RapidOCR 3.x at its defaults (its config.yaml: PP-OCRv6 small, angle classifier on, onnxruntime),
    only the onnxruntime thread count set."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"EngineConfig.onnxruntime.intra_op_num_threads": threads})


def _predict_rapidocr(ocr: Any, source: Source) -> list[str]:
    return [str(text) for text in (ocr(source).txts or ())]


# --- faster-paddle ---


def _faster_paddle(threads: int) -> Any:
    from faster_paddle import OcrEngine

    return OcrEngine(threads=threads)  # model_size "tiny" is its default


def _encoded(source: Source) -> bytes:
    """The file's bytes, or a page's pixels as PNG: faster-paddle reads encoded images only."""
    if isinstance(source, str):
        return Path(source).read_bytes()
    import cv2

    ok, data = cv2.imencode(".png", source)
    if not ok:
        raise ValueError("could not encode the page as PNG")
    return bytes(data.tobytes())


def _predict_faster_paddle(ocr: Any, source: Source) -> list[str]:
    bounds = ocr.ocr(_encoded(source))["bounds"]
    return [str(bounds[key]["text"]) for key in sorted(bounds)]


# --- Tesseract ---


class Tesseract:
    """`tesseract IMG - -l eng` as a child process per page, with OpenMP held to one thread (as
    OCRmyPDF runs it: one process per page, pages in parallel instead)."""

    def __init__(self, binary: str, language: str = TESSERACT_LANGUAGE) -> None:
        self.binary = binary
        self.language = language
        self.env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        self._folder = tempfile.TemporaryDirectory(prefix="bench-tesseract-")  # pages handed as pixels

    def _file(self, source: Source) -> tuple[str, Path | None]:
        if isinstance(source, str):
            return source, None
        import cv2

        handle, name = tempfile.mkstemp(suffix=".png", dir=self._folder.name)
        os.close(handle)
        if not cv2.imwrite(name, source):
            raise ValueError("could not write the page for tesseract")
        return name, Path(name)

    def lines(self, source: Source) -> list[str]:
        path, written = self._file(source)
        try:
            done = subprocess.run([self.binary, path, "-", "-l", self.language], capture_output=True, env=self.env,
                                  stdin=subprocess.DEVNULL, check=False)
        finally:
            if written is not None:
                written.unlink(missing_ok=True)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise RuntimeError(f"tesseract exited with code {done.returncode}: {' '.join(tail)}")
        # Plain text: a blank line between blocks, a form feed after the page.
        text = done.stdout.decode("utf-8", "replace").replace("\f", "\n")
        return [line.rstrip() for line in text.splitlines() if line.strip()]

    def close(self) -> None:
        self._folder.cleanup()


def _tesseract() -> Tesseract:
    binary = _tesseract_binary()
    if binary is None:
        raise RuntimeError(f"no `tesseract` program on PATH ({_INSTALL[TESSERACT]})")
    return Tesseract(binary)


def _predict_tesseract(ocr: Tesseract, source: Source) -> list[str]:
    return ocr.lines(source)


# --- every yardstick ---


def build(kind: str, config: Any, threads: int, engine: str = "paddle") -> Yardstick:
    """The yardstick `kind`, built with `config`'s models, and the function that OCRs one page with it."""
    if kind == RAPIDOCR:
        return _rapidocr(threads), _predict_rapidocr
    if kind == FASTER_PADDLE:
        return _faster_paddle(threads), _predict_faster_paddle
    if kind == TESSERACT:
        return _tesseract(), _predict_tesseract
    from pipeline.ocr.models import on_paddle, resolve_models

    if kind == PADDLEOCR:  # its engine's model format, whatever runtime our config picks
        models = on_paddle(config.models) if engine == "paddle" else config.models  # it reads PP-OCRv4 only
        return _plain_paddleocr(resolve_models(models, engine), threads, engine), _predict_paddleocr
    if kind == PADDLEOCR_OURS:  # our runtime too, so that its text is what ours must equal
        from pipeline.tools.reference import reference_ocr

        ocr = reference_ocr(config, resolve_models(config.models, config.engine.runtime), threads)
        return ocr, partial(_predict_as_ours, config)
    raise ValueError(f"unknown yardstick '{kind}'")


def ocr_pages(ocr: Any, predict: Predict, sources: Iterable[Callable[[], Source]], jobs: int = 1) -> list[list[str]]:
    """Each page's lines, in order; `sources` make each page's input when its turn comes; `jobs`
    pages at a time (threads that wait on child processes, for Tesseract), else one after another."""
    if jobs <= 1:
        return [predict(ocr, make()) for make in sources]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="yardstick") as pool:
        return list(pool.map(lambda make: predict(ocr, make()), sources))


def page_sources(images: Sequence[Any], max_pixels: int) -> list[Callable[[], Source]]:
    """What a user hands the engine for each page: the file's path (its own loader); pages of a
    multi-page file it cannot split are read with ours, when their turn comes."""
    pages_of = Counter(image.path for image in images)

    def pixels(image: Any) -> Any:
        from pipeline.inputs.reader import read_image

        return read_image(Path(image.path), image.page, max_pixels=max_pixels)

    return [partial(pixels, image) if pages_of[image.path] > 1 else partial(str, image.path) for image in images]


def close(ocr: Any) -> None:
    """Remove what a yardstick left on disk (Tesseract's folder for pages handed as pixels)."""
    if isinstance(ocr, Tesseract):
        ocr.close()


def warm_page() -> Any:
    """A tiny page with one dark bar, like the one `OcrEngine.warm_up` uses."""
    import numpy as np

    page = np.full((64, 256, 3), 255, dtype=np.uint8)
    page[24:40, 16:240] = 0
    return page


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.tools.bench.yardsticks")
    parser.add_argument("kind", choices=YARDSTICKS)
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=1, help="pages at a time (Tesseract: one process each)")
    parser.add_argument("--config", required=True)
    parser.add_argument("--engine", default="paddle")
    parser.add_argument("--out", required=True, help="JSONL with the lines of every page")
    args = parser.parse_args(argv)
    from pipeline.inputs.discover import discover
    from pipeline.run.settings import run_config

    config = run_config(args.config)
    ocr, predict = build(args.kind, config, args.threads, args.engine)
    try:
        images = discover(args.inputs).images
        texts = ocr_pages(ocr, predict, page_sources(images, config.limits.max_image_pixels), args.jobs)
        with open(args.out, "w", encoding="utf-8") as out:
            for image, lines in zip(images, texts):
                record = {"image": image.rel, "page": image.page, "lines": [{"text": text} for text in lines]}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        close(ocr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
