"""What the parent hands its workers to run: the worker's initializer and task functions, named so
that the parent never imports `pipeline.run.worker` itself.

That module imports numpy, OpenCV and the OCR passes (0.1 s of the parent's start-up, while its
workers wait for it to ask for them), and the parent runs none of it: each function here imports
it where it runs, in the worker (a forkserver has it loaded already; the thread and serial
backends import it in the parent, on their first task).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.core.types import DetectResult, ImageRef, RecognizeResult, RecognizeTask
    from pipeline.ocr.models import ResolvedModels

__all__ = ["init_worker", "ping", "run_detect", "run_recognize"]


def init_worker(config: Config, models: ResolvedModels, per_thread: bool = False) -> None:
    """`pipeline.run.worker.init_worker`."""
    from pipeline.run import worker

    worker.init_worker(config, models, per_thread)


def ping() -> int:
    """`pipeline.run.worker.ping`."""
    from pipeline.run import worker

    return worker.ping()


def run_detect(image: ImageRef, wide: bool = False, data: bytes | None = None, recognize: bool = False) -> DetectResult:
    """`pipeline.run.worker.run_detect`."""
    from pipeline.run import worker

    return worker.run_detect(image, wide, data, recognize)


def run_recognize(task: RecognizeTask) -> RecognizeResult:
    """`pipeline.run.worker.run_recognize`."""
    from pipeline.run import worker

    return worker.run_recognize(task)
