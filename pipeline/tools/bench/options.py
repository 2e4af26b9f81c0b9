"""The `bench` command's flags, added to the command line's `bench` subcommand. Kept apart from the
rest of the bench so that `pipeline run` (timed as a whole process by the bench) does not import it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.config import usable_cores
from pipeline.tools.bench.data import PEERS

__all__ = ["ENGINES", "BenchOptions", "add_arguments", "default_reference_threads", "options_from_args"]

ENGINES = ("paddle", "onnxruntime")  # PaddleOCR's own `engine` for the plain PaddleOCR row (and our runtime of that name)


def default_reference_threads() -> str:
    """1, 2, 4, ... up to the cores, and the cores: PaddleOCR's best is among them."""
    cores = usable_cores()
    values = [1]
    while values[-1] * 2 <= cores:
        values.append(values[-1] * 2)
    return ",".join(str(v) for v in dict.fromkeys([*values, cores]))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="image files or folders to OCR in every setting")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (default: 1,2,4)")
    parser.add_argument("--threads", default="1,2", help="engine CPU threads per worker, comma-separated (default: 1,2)")
    parser.add_argument("--modes", default="serial,thread,process", help="backends (default: serial,thread,process)")
    parser.add_argument("--ref-threads", default=None,
                        help="cpu_threads to try for plain PaddleOCR; the best is its row (default: 1,2,4.. up to the cores)")
    parser.add_argument("--yardsticks", default=",".join(PEERS),
                        help="programs to time ours against, each at its own defaults, comma-separated, or none "
                             f"(default: {','.join(PEERS)}); one not installed is a row saying why")
    parser.add_argument("--reference-engine", default="paddle", choices=ENGINES,
                        help="PaddleOCR's engine for the plain PaddleOCR row (default: paddle, as users run it)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config key for every setting of ours, e.g. --set detection.max_side_limit=2000 (repeatable)")
    parser.add_argument("--variant", dest="variants", action="append", default=[], metavar="LABEL:KEY=VALUE[,...]",
                        help="also measure our settings with these keys changed, e.g. ort:engine.runtime=onnxruntime "
                             "(repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each setting, pool warm (default: 3)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="whole-process runs of each setting, alternated (default: --repeat; 0: none)")
    parser.add_argument("--out", default="bench-out", help="folder for bench.json and bench.png (default: bench-out)")
    parser.add_argument("-c", "--config", help="YAML config laid over the packaged defaults (see `ocr-pipeline config`)")


@dataclass(frozen=True)
class BenchOptions:
    inputs: Sequence[str]
    workers: str = "1,2,4"
    threads: str = "1,2"
    modes: str = "serial,thread,process"
    ref_threads: str | None = None
    yardsticks: str = ",".join(PEERS)
    reference_engine: str = "paddle"
    overrides: Sequence[str] = field(default_factory=list)
    variants: Sequence[str] = field(default_factory=list)
    repeat: int = 3
    rounds: int | None = None
    out: str = "bench-out"
    config: str | None = None


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    return BenchOptions(**{name: getattr(args, name) for name in BenchOptions.__dataclass_fields__})
