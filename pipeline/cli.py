"""`python -m pipeline` / `ocr-pipeline`: the command line.

Exit codes (also in the README):
  0  every image was OCR'd
  1  the run finished, but some images are error records
  2  bad usage or config (nothing was run)
  3  the run could not finish (workers kept dying, or an internal error)
  130 interrupted (Ctrl-C / SIGTERM); finished records are kept
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from pipeline.backends import BackendOptions, backend_names
from pipeline.config import load_config, usable_cores
from pipeline.errors import ConfigError, ResumeError

__all__ = ["EXIT_FAILED_IMAGES", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_RUN_FAILED", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED_IMAGES = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocr-pipeline", description="Parallel OCR for folders of images.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="OCR images and folders into one results file")
    run.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    run.add_argument("-o", "--output", help="output path (default: config 'output', results.jsonl)")
    run.add_argument("-c", "--config", help="YAML config (default: configs/default.yaml)")
    run.add_argument("-w", "--workers", type=_positive_int, help="worker processes (default: one per core)")
    run.add_argument("--threads", type=_positive_int, help="engine CPU threads per worker (default: 1)")
    run.add_argument("--format", choices=("jsonl", "txt", "csv"), help="output format (default: jsonl)")
    run.add_argument("--backend", default="process", choices=backend_names(),
                     help="how workers run (default: process; dask needs pip install -e '.[dask]')")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="with --backend dask: a running Dask scheduler, like tcp://HOST:8786 "
                          "(default: start a local cluster)")
    run.add_argument("--ship-bytes", action="store_true",
                     help="send each file's bytes with its task, for workers that cannot open the input paths")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    resume = run.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="skip pages already complete in the output (the default when it exists)")
    resume.add_argument("--overwrite", action="store_true", help="start the output afresh")
    run.add_argument("--retry-errors", action="store_true", help="with --resume: OCR error records again")
    bench = commands.add_parser("bench", help="time the serial, thread and process backends against plain PaddleOCR")
    bench.add_argument("inputs", nargs="+", help="image files or folders to OCR in every setting")
    bench.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (default: 1,2,4)")
    bench.add_argument("--threads", default="1,2", help="engine CPU threads per worker, comma-separated (default: 1,2)")
    bench.add_argument("--modes", default="serial,thread,process",
                       help=f"backends, of {','.join(backend_names())} (default: serial,thread,process)")
    bench.add_argument("--repeat", type=_positive_int, default=3, help="timed runs of each setting (default: 3)")
    bench.add_argument("--out", default="bench-out", help="folder for bench.json and bench.png (default: bench-out)")
    bench.add_argument("-c", "--config", help="YAML config (default: configs/default.yaml)")
    return parser


def _bench(args: argparse.Namespace) -> int:
    from pipeline.bench import bench_command

    return bench_command(args.inputs, workers=args.workers, threads=args.threads, modes=args.modes,
                         repeat=args.repeat, out=args.out, config_path=args.config)


def _run(args: argparse.Namespace) -> int:
    from pipeline.errors import Interrupted, RunFailed
    from pipeline.runner import run

    overrides: dict[str, Any] = {
        "output": args.output,
        "workers": args.workers,
        "threads_per_worker": args.threads,
        "format": args.format,
    }
    if args.output is None and args.format in ("txt", "csv"):
        overrides["output"] = {"txt": "results", "csv": "results.csv"}[args.format]
    if args.scheduler and args.backend != "dask":
        raise ConfigError("--scheduler needs --backend dask")
    options = BackendOptions(scheduler=args.scheduler, ship_bytes=args.ship_bytes)
    config = load_config(args.config, overrides)
    cores = usable_cores()
    if args.backend != "serial" and not args.scheduler and config.resolved_workers() * config.threads_per_worker > cores:
        print(f"warning: {config.resolved_workers()} workers x {config.threads_per_worker} threads oversubscribe "
              f"{cores} cores, which is usually slower (`python -m pipeline bench` measures it)", file=sys.stderr)
    try:
        summary = run(args.inputs, config, backend=args.backend, quiet=args.quiet,
                      overwrite=args.overwrite, retry_errors=args.retry_errors, options=options)
    except Interrupted as stop:
        print(f"interrupted: {stop}", file=sys.stderr)
        print(f"Finished records are in {config.output}; run again (or with --resume) to continue.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary.describe(), file=sys.stderr)
    print(f"Results: {config.output}", file=sys.stderr)
    return EXIT_FAILED_IMAGES if summary.failed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "bench":
            return _bench(args)
    except (ConfigError, ResumeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before the run started
        return EXIT_INTERRUPTED
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
