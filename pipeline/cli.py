"""`python -m pipeline` / `ocr-pipeline`: the command line.

Every command returns an `ExitCode` (`pipeline.errors`, also in the README). Any exception is turned
into an exit code and a one-line message by one handler, `_report`: errors we raise on purpose carry
their code; anything else is an internal error (exit 3) whose traceback is shown with `--debug`.
"""

from __future__ import annotations

import argparse
import codecs
import gc
import os
import sys
import traceback
from typing import Any, Callable, Sequence

from pipeline.config import Config, default_config_source, default_config_text, usable_cores
from pipeline.errors import ConfigError, ExitCode, Interrupted, PipelineError, exit_code_of, one_line
from pipeline.output.formats import FORMATS
from pipeline.output.paths import shown
from pipeline.run.backends import BackendOptions, backend_names
from pipeline.run.settings import run_config
from pipeline.run.start_method import start_early
from pipeline.tools.bench.options import add_arguments as add_bench_arguments

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    debug_help = "show the traceback of an internal error"
    # --debug goes before or after the command; SUPPRESS keeps a command's parser from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    parser = argparse.ArgumentParser(prog="ocr-pipeline", description="Parallel OCR for folders of images.")
    parser.add_argument("--debug", action="store_true", help=debug_help)
    commands = parser.add_subparsers(dest="command", required=True)

    names = ", ".join(f"{f.default_output} for {f.name}" for f in FORMATS.values())
    running = argparse.ArgumentParser(add_help=False)  # what run and watch share
    running.add_argument("-o", "--output", help=f"output path (default: the config's 'output', else {names})")
    running.add_argument("-c", "--config", help="YAML config laid over the packaged defaults (see `ocr-pipeline config`)")
    running.add_argument("-w", "--workers", type=_positive_int, help="worker processes (default: one per core)")
    running.add_argument("--threads", type=_positive_int, help="engine CPU threads per worker (default: 1)")
    running.add_argument("--format", choices=tuple(FORMATS), help="output format (default: the config's, jsonl)")
    running.add_argument("--backend", default="process", choices=backend_names(),
                         help="how workers run (default: process; dask needs pip install -e '.[dask]')")
    running.add_argument("--follow-symlinks", action="store_true",
                         help="follow symlinks in input folders wherever they point (default: only to targets inside an input)")
    running.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    run = commands.add_parser("run", parents=[common, running], help="OCR images and folders into one results file")
    run.add_argument("inputs", nargs="+", help="image files, PDFs or folders (searched recursively)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="with --backend dask: a running Dask scheduler, like tcp://HOST:8786 "
                          "(default: start a local cluster)")
    run.add_argument("--ship-bytes", action="store_true",
                     help="send each file's bytes with its task, for workers that cannot open the input paths")
    resume = run.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="skip pages already complete in the output (the default when it exists)")
    resume.add_argument("--overwrite", action="store_true", help="start the output afresh")
    run.add_argument("--retry-errors", action="store_true", help="with --resume: OCR error records again")
    watch = commands.add_parser("watch", parents=[common, running],
                                help="keep OCR'ing every image or PDF that lands in a folder")
    watch.add_argument("inbox", help="the folder to watch (and its subfolders)")
    watch.add_argument("--once", action="store_true", help="process what is there now, then exit (for cron)")
    commands.add_parser("config", parents=[common],
                        help="print the packaged default config (every knob, with comments) to copy and edit")
    bench = commands.add_parser("bench", parents=[common],
                                help="time our backends and settings against plain PaddleOCR and RapidOCR")
    add_bench_arguments(bench)
    review = commands.add_parser("review", parents=[common],
                                 help="build a static review page of a run's output, pages most in need of a look first")
    review.add_argument("results", help="the jsonl or csv output of `run` or `watch`")
    review.add_argument("-o", "--output", default="review", help="the folder to write the page into (default: review)")
    review.add_argument("--images", metavar="DIR",
                        help="the folder the records' image paths are relative to (default: the one the run stored "
                             "beside its output, RESULTS.keys.json)")
    review.add_argument("-c", "--config", help="the run's config, for pdf.dpi and the image limits (default: the packaged one)")
    review.add_argument("--thumbnails", type=_count, default=1000, metavar="N",
                        help="how many pages, in review order, get a thumbnail (default: 1000)")
    review.add_argument("--thumb-size", type=_positive_int, default=1200, metavar="PX",
                        help="a thumbnail's longest side in pixels (default: 1200)")
    review.add_argument("-w", "--workers", type=_positive_int,
                        help="processes parsing a results file over 32 MB, threads making thumbnails (default: one per core)")
    review.add_argument("--low-score", type=_fraction, default=0.8, metavar="SCORE",
                        help="a line scoring under this is marked, and its page is listed to check (default: 0.8)")
    review.add_argument("--low-mean", type=_fraction, default=0.9, metavar="SCORE",
                        help="a page whose mean line score is under this is listed to check (default: 0.9)")
    review.add_argument("--few-chars", type=_fraction, default=0.25, metavar="FRACTION",
                        help="a page with fewer characters per megapixel than this fraction of the run's median is "
                             "listed to check (default: 0.25)")
    evaluate = commands.add_parser("eval", help="score a results file against ground truth (CER, WER, word-bag F1)")
    evaluate.add_argument("labels", help="JSONL of {\"image\": ..., \"text\": ...} per line")
    evaluate.add_argument("results", help="the JSONL output of `run` over the labels' folder")
    evaluate.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    evaluate.add_argument("--worst", type=int, default=10, help="how many of the worst images to list (default: 10)")
    evaluate.add_argument("--unordered", action="append", default=[], metavar="IMAGE",
                          help="an image whose reference lists regions in no reliable order: scored order-free "
                               "(repeatable)")
    return parser


def _review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.config import load_config
    from pipeline.tools.review.build import ReviewOptions, build_review
    from pipeline.tools.review.order import Thresholds

    options = ReviewOptions(
        images=Path(args.images) if args.images else None, thumbnails=args.thumbnails, thumb_size=args.thumb_size,
        workers=args.workers or 0,
        thresholds=Thresholds(low_line=args.low_score, low_mean=args.low_mean, few_chars=args.few_chars))
    report = build_review(Path(args.results), Path(args.output), load_config(args.config), options)
    print(report.describe(), file=sys.stderr)
    print(f"Review page: {shown(report.index)} (open it in a browser)", file=sys.stderr)
    return ExitCode.OK


def _eval(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from pipeline.tools.evaluate import evaluate_files, format_report

    for path in (args.labels, args.results):
        if not Path(path).is_file():
            raise ConfigError(f"no such file: {path}")
    try:
        report = evaluate_files(Path(args.labels), Path(args.results), args.unordered)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"cannot score: {exc}") from None
    if args.json:
        print(json.dumps(report.to_json(args.worst), ensure_ascii=False))
    else:
        print(format_report(report, args.worst))
    return ExitCode.OK


def _bench(args: argparse.Namespace) -> int:
    from pipeline.tools.bench.command import run_bench

    return run_bench(args)


def _config(args: argparse.Namespace) -> int:
    sys.stdout.write(default_config_text())
    return ExitCode.OK


MAX_WARNINGS = 20  # a folder of 100,000 outside symlinks is one line per kind, not 100,000


def _print_warnings(warnings: Sequence[str]) -> None:
    for warning in warnings[:MAX_WARNINGS]:
        print(f"warning: {shown(warning)}", file=sys.stderr)
    if len(warnings) > MAX_WARNINGS:
        print(f"warning: ... and {len(warnings) - MAX_WARNINGS} more warnings", file=sys.stderr)


def _running_config(args: argparse.Namespace) -> Config:
    """The config of run and watch: the file, then the flags; a warning if cores are oversubscribed."""
    overrides: dict[str, Any] = {
        "output": args.output,
        "workers": args.workers,
        "threads_per_worker": args.threads,
        "format": args.format,
        "follow_symlinks": True if args.follow_symlinks else None,
    }
    config = run_config(args.config, overrides)
    cores = usable_cores()
    remote = getattr(args, "scheduler", None)  # a cluster's cores are not this machine's
    if args.backend != "serial" and not remote and config.resolved_workers() * config.threads_per_worker > cores:
        print(f"warning: {config.resolved_workers()} workers x {config.threads_per_worker} threads oversubscribe "
              f"{cores} cores, which is usually slower (`python -m pipeline bench` measures it)", file=sys.stderr)
    return config


def _start_workers_early(args: argparse.Namespace, config: Config) -> None:
    """Start the process backend's forkserver now: it imports the workers' modules while this process
    imports the scheduler's and finds the pages (the commands import those only after this)."""
    if args.backend == "process":
        start_early(config.start_method)


def _watch(args: argparse.Namespace) -> int:
    config = _running_config(args)
    _start_workers_early(args, config)
    from pipeline.run.watch import watch

    print(f"Watching {args.inbox}; results: {config.output}. Ctrl-C stops.", file=sys.stderr, flush=True)
    summary = watch(args.inbox, config, once=args.once, backend=args.backend, quiet=args.quiet)
    _print_warnings(summary.warnings)
    print(summary.describe(), file=sys.stderr)
    return ExitCode.IMAGES_FAILED if summary.failed else ExitCode.OK


def _run(args: argparse.Namespace) -> int:
    if args.scheduler and args.backend != "dask":
        raise ConfigError("--scheduler needs --backend dask")
    options = BackendOptions(scheduler=args.scheduler, ship_bytes=args.ship_bytes)
    config = _running_config(args)
    _start_workers_early(args, config)
    from pipeline.run.runner import run

    summary = run(args.inputs, config, backend=args.backend, quiet=args.quiet,
                  overwrite=args.overwrite, retry_errors=args.retry_errors, options=options)
    _print_warnings(summary.warnings)
    print(summary.describe(), file=sys.stderr)
    print(f"Results: {config.output}", file=sys.stderr)
    print(f"Config: {args.config or default_config_source()}", file=sys.stderr)
    # The output's final state: error records kept from earlier runs count as this run's.
    return ExitCode.IMAGES_FAILED if summary.failed else ExitCode.OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run, "watch": _watch, "config": _config, "bench": _bench, "eval": _eval, "review": _review,
}


def _report(exc: BaseException, debug: bool) -> ExitCode:
    """The one error handler: an exit code and a one-line message for any exception."""
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
    elif isinstance(exc, Interrupted):
        print(f"interrupted: {shown(one_line(exc))}", file=sys.stderr)
    elif isinstance(exc, PipelineError):
        print(f"error: {shown(one_line(exc))}", file=sys.stderr)
    else:
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        hint = "" if debug else " (run again with --debug for the traceback)"
        print(f"internal error: {shown(one_line(exc))}{hint}", file=sys.stderr)
    return exit_code_of(exc)


def _safe_streams() -> None:
    """Printing a file name must never crash a command. Redirected to a file or a pipe, Windows
    writes in its ANSI code page (cp1252, cp936) and stops at the first character outside it (a CJK
    name in `eval`'s report): such a stream writes UTF-8 instead, unless PYTHONIOENCODING chose an
    encoding; and no stream raises on what it cannot encode (it writes an escape)."""
    for stream in (sys.stdout, sys.stderr):
        if not hasattr(stream, "reconfigure"):
            continue  # replaced by something that is not a text file (an embedding program's)
        changes: dict[str, str] = {}
        redirected = not stream.isatty()
        if redirected and not os.environ.get("PYTHONIOENCODING") and codecs.lookup(stream.encoding).name != "utf-8":
            changes["encoding"] = "utf-8"
        if stream.errors == "strict":
            changes["errors"] = "backslashreplace"
        if changes:
            stream.reconfigure(**changes)


def main(argv: Sequence[str] | None = None) -> int:
    _safe_streams()
    args = _parser().parse_args(argv)
    try:
        return int(_COMMANDS[args.command](args))
    except BrokenPipeError:
        # The reader of our output went away (`eval ... | head`): nothing more to print, no error.
        # Standard output is pointed at devnull so the interpreter's flush at exit stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except (Exception, KeyboardInterrupt) as exc:
        return int(_report(exc, debug=args.debug))


def entry() -> None:
    """Run one command, then leave (`pipeline.__main__.entry`, behind `ocr-pipeline` and `python -m
    pipeline`, calls it once it has started a forkserver the command will use). Every object the
    command made is moved out of the collector's reach first: the interpreter's last collections
    over them took 0.10-0.14 s after a run of the seven samples, 0.02 s without them. Finalizers
    and atexit handlers still run (the pool's semaphores are unlinked as before)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
