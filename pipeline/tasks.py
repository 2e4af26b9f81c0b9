"""What crosses between the parent and the workers: small frozen dataclasses, picklable by
construction (paths, boxes, compact crops and config; never an engine or a whole decoded image
per region)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.engine import Box, Recognized
from pipeline.timing import StageTimes

__all__ = ["DetectResult", "ImageRef", "RecognizeResult", "RecognizeTask"]


@dataclass(frozen=True)
class ImageRef:
    """One page of one input file. `index` is its place in the run's input order."""

    index: int
    path: str  # absolute path, read by the worker
    rel: str  # path relative to the input root, forward slashes: the output's "image"
    page: int = 0


@dataclass(frozen=True)
class DetectResult:
    index: int
    boxes: list[Box] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    error: str | None = None
    times: StageTimes = field(default_factory=dict)
    orientation: int = 0  # degrees the page was turned clockwise; boxes are on the page turned back


@dataclass(frozen=True)
class RecognizeTask:
    index: int  # the image these crops belong to
    start: int  # position of the first crop among the image's regions
    crops: list[np.ndarray]


@dataclass(frozen=True)
class RecognizeResult:
    index: int
    start: int
    lines: list[Recognized]
    times: StageTimes = field(default_factory=dict)
