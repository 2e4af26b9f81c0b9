"""The types that cross between the parent and the workers, and the records made from them.

Small frozen dataclasses and TypedDicts, picklable by construction (paths, boxes, compact crops and
config; never an engine or a whole decoded image per region). This module imports nothing heavy:
the engine, the scheduler, the writer and the tests all take their types from here
(the engine's own interface is `pipeline.ocr.registry.Engine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from pipeline.core.timing import StageTimes

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Box",
    "DetectResult",
    "ImageRef",
    "Line",
    "OrientationCheck",
    "RecognizeResult",
    "RecognizeTask",
    "Recognized",
    "Record",
]

Box = list[list[int]]  # four [x, y] corners, clockwise from top-left


@dataclass(frozen=True)
class Recognized:
    text: str
    score: float


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
    # What the page orientation pass saw and decided (`pipeline.ocr.orientation.Decision.to_record`);
    # None when it did not run (pass off, a line or word crop, a PDF page's own text).
    orientation_check: OrientationCheck | None = None
    # PDF pages only: where the text comes from (ocr | embedded | skipped), and for `embedded` the
    # lines of the page's own text layer (then there is nothing to recognize).
    text_from: str | None = None
    embedded: list[Line] | None = None
    # The page's lines, when it was recognized in the same task (then `crops` is empty).
    lines: list[Recognized] | None = None


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


class Line(TypedDict, total=False):
    text: str
    score: float
    box: Box
    block: int  # with reading order on: the block (paragraph or column piece) of the line, from 0


class OrientationCheck(TypedDict):
    """The evidence for a page's orientation and the decision (record field `orientation_check`)."""

    degrees: int  # decided: degrees clockwise the page was turned (0: left as it was)
    # 0..1: the mean of the model's score and the lines' share for `degrees` (the share alone when
    # the model was not asked)
    confidence: float
    model_degrees: int | None  # the page model's best guess; None: not asked, as most lines read upright
    model_score: float | None  # its probability
    line_degrees: int | None  # what most voting lines say (None: no line with a clear axis)
    line_votes: int  # lines that voted (long boxes; at most a few)
    line_share: float  # share of them saying `line_degrees`


class Record(TypedDict, total=False):
    """One page of output (the output contract in docs/design.md); built by `pipeline.ocr.records`."""

    image: str
    page: int
    status: str
    text: str
    lines: list[Line]
    error: str | None
    orientation: int  # only for a page found turned: degrees clockwise; its boxes are on the page turned back
    orientation_check: OrientationCheck  # pages the orientation pass looked at: evidence and decision
    text_from: str  # PDF pages only: ocr | embedded | skipped (pdf.text_layer)
