"""The bench's plain data: what one cell measures (`CellSpec` in, `CellResult` out, both crossing to
and from the cell process as JSON) and one `Row` of the table."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CellResult",
    "CellSpec",
    "DEFAULT_VARIANT",
    "FASTER_PADDLE",
    "PADDLEOCR",
    "PADDLEOCR_OURS",
    "PEERS",
    "PEER_NAMES",
    "RAPIDOCR",
    "Row",
    "TESSERACT",
    "YARDSTICKS",
    "page_key",
]

# The rows that are not our pipeline: PaddleOCR with our settings (the text every row of ours is
# compared with), and the peers every row is timed against, each at its own defaults: plain
# PaddleOCR, RapidOCR 3.x, Tesseract (one process per page, as OCRmyPDF runs it), faster-paddle.
PADDLEOCR = "paddleocr"
PADDLEOCR_OURS = "paddleocr-ours"
RAPIDOCR = "rapidocr"
TESSERACT = "tesseract"
FASTER_PADDLE = "faster-paddle"
PEERS = (PADDLEOCR, RAPIDOCR, TESSERACT, FASTER_PADDLE)
PEER_NAMES = {PADDLEOCR: "PaddleOCR", RAPIDOCR: "RapidOCR", TESSERACT: "Tesseract", FASTER_PADDLE: "faster-paddle"}
YARDSTICKS = (PADDLEOCR_OURS, *PEERS)
DEFAULT_VARIANT = "default"


def page_key(rel: str, page: int) -> str:
    return f"{rel}#{page}"


@dataclass(frozen=True)
class CellSpec:
    """One setting to measure: a backend of ours (`mode`) or a yardstick, with the variant's config."""

    mode: str  # a backend (serial | thread | process | ...) or one of YARDSTICKS
    workers: int
    threads: int
    repeat: int
    inputs: tuple[str, ...]
    config_path: str  # the variant's whole config, written by the bench
    variant: str = DEFAULT_VARIANT
    engine: str = "paddle"  # PaddleOCR's own `engine` for the plain PaddleOCR row

    @property
    def name(self) -> str:
        """A file-name-safe identity, unique within one bench."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.mode}-{self.variant}-w{self.workers}-t{self.threads}")

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> CellSpec:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**data, "inputs": tuple(data["inputs"])})


@dataclass
class CellResult:
    """What one cell measured. `texts` maps "relative/path#page" to the page's line texts.

    The `whole_*` fields are filled by the parent: the same setting run as a whole fresh process
    (start-up, imports, model load, all pages), once per round."""

    mode: str
    workers: int
    threads: int
    variant: str = DEFAULT_VARIANT
    program: str = ""  # a yardstick's name and version, e.g. "tesseract 5.3.0"
    missing: str | None = None  # why a yardstick was not run (not installed): a row, not a failure
    memory: str = "RSS"  # what the memory figures are: "PSS" (Linux) or "RSS"
    warmup_seconds: float = 0.0
    seconds: list[float] = field(default_factory=list)
    images: int = 0
    regions: int = 0
    failed_images: int = 0
    texts: dict[str, list[str]] = field(default_factory=dict)
    repeats_agree: bool = True
    peak_worker_mb: float = 0.0
    peak_total_mb: float = 0.0
    cpu_cores_used: float = 0.0
    other_cores_busy: float = 0.0
    worker_processes: int = 1
    distinct_workers: int = 1
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    whole_seconds: list[float] = field(default_factory=list)
    whole_cpu_seconds: list[float] = field(default_factory=list)
    whole_peak_mb: float = 0.0
    whole_texts: dict[str, list[str]] = field(default_factory=dict)
    whole_error: str | None = None
    # Processes of a whole-process run still there when it exited: each one (`outlived`), and those
    # still running LINGER_SECONDS later, killed by the bench (`killed`: a failure).
    outlived: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)

    @classmethod
    def failed(cls, spec: CellSpec, error: str) -> CellResult:
        return cls(spec.mode, spec.workers, spec.threads, spec.variant, error=error)

    @classmethod
    def not_run(cls, spec: CellSpec, reason: str) -> CellResult:
        """A yardstick that is not installed here: its row says why."""
        return cls(spec.mode, spec.workers, spec.threads, spec.variant, missing=reason)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CellResult:
        return cls(**json.loads(text))


Spread = dict[str, float]  # median, min, max


@dataclass
class Row:
    """One line of the table: a cell's figures, compared with the others."""

    mode: str
    variant: str
    workers: int
    threads: int
    oversubscribed: bool
    warmup_seconds: float
    seconds: list[float]
    images: int
    regions: int
    images_per_s: Spread
    regions_per_s: Spread
    speedup_vs_1_worker: float | None
    efficiency: float | None
    peak_worker_mb: float
    peak_total_mb: float
    cpu_cores_used: float
    other_cores_busy: float
    text_matched: bool | None
    stage_seconds: dict[str, float]
    memory: str = "RSS"  # "PSS" or "RSS": what peak_*_mb measure
    program: str = ""
    # Pool-warm images/s over each peer's (PEERS), and the whole-process wall-time ratio ours/theirs
    # per alternation round (below 1 is faster), keyed by the peer's mode.
    speedup_vs: dict[str, float] = field(default_factory=dict)
    wall_vs: dict[str, Spread] = field(default_factory=dict)
    whole_seconds: list[float] = field(default_factory=list)
    whole: Spread | None = None  # whole-process wall seconds
    whole_cpu: Spread | None = None  # whole-process CPU seconds (user + system, every process of the run)
    whole_peak_mb: float = 0.0
    missing: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    # Lines that differ from the text this row must equal: {"page", "ours": [...], "reference": [...]}.
    differences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.missing is None and bool(self.seconds)

    @property
    def ours(self) -> bool:
        return self.mode not in YARDSTICKS

    @property
    def median_ips(self) -> float:
        return self.images_per_s.get("median", 0.0)

    @property
    def label(self) -> str:
        return self.mode if self.variant == DEFAULT_VARIANT else f"{self.mode} [{self.variant}]"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
