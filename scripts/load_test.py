"""Load / soak test for the "Nothing lost" promise: many small images, every one accounted for, and
memory that stays flat over the whole run.

It generates N small, distinct images (one short line of text each, e.g. "item 00042 ok"), spread
over a few subfolders, with about 2% of them deliberately bad (zero-byte, truncated PNG, a text file
named .png). It then runs the real command line as a subprocess,

    python -m pipeline run IMAGES -o OUT --workers W --quiet --overwrite

and samples, every 0.5 s (psutil), the RSS of the pipeline's main process and of each of its child
processes (recursively; worker processes are told apart from multiprocessing helpers such as the
resource tracker), together with the number of records written so far (lines of OUT).

Afterwards it checks that:

* the run exited as it should (1 when there are bad images: "some images are error records");
* OUT holds exactly N records, one per image: the (image, page) keys are unique and equal the
  generated names;
* bad images are "error" records and good ones "ok" records;
* no record carries another image's text (the numbers in the text are all distinct, so a record
  whose text reads as some *other* image's line means results were mixed up);
* memory is flat: the median RSS over the first 20% of records (after the first record, i.e. after
  the workers have warmed up) against the median over the last 20%, for the main process, the
  workers together, and everything together. Flat means each grew by less than --max-growth
  percent (default 10), *and* the least-squares trend over the whole run, in MiB per 1,000 records,
  of the main process and of the workers together stays under --max-trend (default 5): a slow leak
  of a few MiB per thousand images passes the first check on a short run but adds up over a million.

--max-worker-rss-mb and --max-tasks-per-worker set the pipeline's limits of the same names (workers
retired and replaced between tasks), to see whether they keep the trend flat.

OCR accuracy is reported, not judged: how many ok records read exactly the drawn line, and how many
match once whitespace is ignored (the recogniser may drop the spaces).

It prints the figures (wall time, images/s, peak RSS per process, growth) and writes every sample to
OUT's name + ".samples.csv", for plotting. Exit code 0 when every check passes, 1 otherwise,
2 for bad usage.

Usage::

    python scripts/load_test.py [--images 5000] [--workers 2] [--keep DIR]

Without --keep, everything goes to a fresh temporary folder; the images are deleted afterwards, the
results, the samples CSV and the pipeline's stderr log are kept there (the paths are printed). With
--keep DIR, the images stay in DIR/images as well (DIR must be empty, or a folder this script made
before, in which case it is regenerated).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Sequence

import psutil
import yaml
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MANIFEST = "load_test_manifest.json"
SUBFOLDERS = 5
IMAGE_SIZE = (320, 80)
BAD_KINDS = ("zero-byte", "truncated", "text-as-png")
MIB = 1024 * 1024

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class Expected:
    rel: str  # path relative to the images folder, forward slashes (the record's "image")
    text: str  # the line drawn, "" for a bad image
    bad: str | None  # which kind of bad file, None for a good image


def _font() -> Font:
    for name in ("DejaVuSans.ttf", "DejaVuSansMono.ttf"):
        path = FONT_DIR / name
        if path.is_file():
            return ImageFont.truetype(str(path), 28)
    print(f"warning: no DejaVu font in {FONT_DIR}; using PIL's default font", file=sys.stderr)
    try:
        return ImageFont.load_default(size=28)
    except TypeError:  # Pillow < 10.1: a fixed-size bitmap font
        return ImageFont.load_default()


def _png_bytes(text: str, index: int, font: Font) -> bytes:
    image = Image.new("RGB", IMAGE_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    # A little deterministic jitter in position and ink, so the images are not just the same
    # picture with other digits.
    x = 12 + (index * 7) % 23
    y = 18 + (index * 5) % 17
    ink = (index * 13) % 60
    draw.text((x, y), text, fill=(ink, ink, ink), font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bad_plan(count: int, fraction: float) -> dict[int, str]:
    """Indices of the deliberately bad images, spread evenly over the run, and their kind."""
    bad = round(count * fraction)
    if bad <= 0:
        return {}
    step = count / bad
    return {int(k * step + step / 2): BAD_KINDS[k % len(BAD_KINDS)] for k in range(bad)}


def generate(folder: Path, count: int, bad_fraction: float) -> list[Expected]:
    """Write `count` images under `folder` (in SUBFOLDERS subfolders); their expected records."""
    font = _font()
    plan = _bad_plan(count, bad_fraction)
    expected: list[Expected] = []
    for index in range(count):
        rel = f"part{index % SUBFOLDERS}/item_{index:05d}.png"
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"item {index:05d} ok"
        kind = plan.get(index)
        if kind is None:
            path.write_bytes(_png_bytes(text, index, font))
            expected.append(Expected(rel, text, None))
            continue
        if kind == "zero-byte":
            data = b""
        elif kind == "truncated":
            whole = _png_bytes(text, index, font)
            data = whole[: len(whole) // 2]
        else:
            data = f"this is not an image, just text number {index}\n".encode()
        path.write_bytes(data)
        expected.append(Expected(rel, "", kind))
    return expected


def prepare_workdir(keep: Path | None) -> tuple[Path, bool]:
    """The folder for images and results, and whether it is a temporary one."""
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="pipeline-load-test-")), True
    keep = keep.absolute()
    if keep.exists():
        if not keep.is_dir():
            raise ValueError(f"--keep {keep} is not a folder")
        if any(keep.iterdir()):
            if not (keep / MANIFEST).is_file():
                raise ValueError(f"--keep {keep} is not empty and was not made by this script; "
                                 f"give an empty or new folder")
            shutil.rmtree(keep / "images", ignore_errors=True)
    keep.mkdir(parents=True, exist_ok=True)
    return keep, False


# --------------------------------------------------------------------------- sampling


@dataclass
class Sample:
    t: float  # seconds since the pipeline started
    records: int
    parent: int  # RSS bytes of the pipeline's main process
    workers: dict[int, int]  # pid -> RSS bytes of each worker process
    helpers: int  # RSS bytes of other descendants (multiprocessing resource tracker, forks of workers, ...)

    @property
    def workers_total(self) -> int:
        return sum(self.workers.values())

    @property
    def total(self) -> int:
        return self.parent + self.workers_total + self.helpers


class LineCounter:
    """Counts the newlines of a growing file, reading only what was added since the last call."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self.lines = 0

    def update(self) -> int:
        try:
            with open(self._path, "rb") as handle:
                handle.seek(self._offset)
                while chunk := handle.read(1 << 20):
                    self.lines += chunk.count(b"\n")
                    self._offset += len(chunk)
        except FileNotFoundError:
            pass
        return self.lines


def _is_worker(process: psutil.Process, main: psutil.Process) -> bool:
    """A pool worker: a direct child of the main process started by multiprocessing's spawn.
    (Not the resource tracker, nor a short-lived fork *of* a worker, which still shows the
    worker's command line until it execs.)"""
    try:
        return process.ppid() == main.pid and any("spawn_main" in part for part in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def take_sample(main: psutil.Process, started: float, counter: LineCounter,
                roles: dict[int, bool]) -> Sample | None:
    try:
        parent = main.memory_info().rss
        children = main.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    workers: dict[int, int] = {}
    helpers = 0
    for child in children:
        try:
            rss = child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if not roles.get(child.pid, False):
            # Asked again until it is a worker: a process just spawned still shows its parent's
            # command line until it execs, and must not stay labelled a helper.
            roles[child.pid] = _is_worker(child, main)
        if roles[child.pid]:
            workers[child.pid] = rss
        else:
            helpers += rss
    return Sample(time.perf_counter() - started, counter.update(), parent, workers, helpers)


@dataclass
class RunResult:
    returncode: int
    wall: float
    samples: list[Sample] = field(default_factory=list)
    stderr: str = ""
    helper_pids: int = 0  # distinct non-worker descendants seen


def run_pipeline(images: Path, output: Path, workers: int, interval: float, log: Path,
                 config: Path | None = None) -> RunResult:
    command = [sys.executable, "-m", "pipeline", "run", str(images), "-o", str(output),
               "--workers", str(workers), "--quiet", "--overwrite"] + (["-c", str(config)] if config else [])
    print("running:", " ".join(command), flush=True)
    counter = LineCounter(output)
    roles: dict[int, bool] = {}
    samples: list[Sample] = []
    with open(log, "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO)
        main = psutil.Process(process.pid)
        last_report = started
        try:
            while process.poll() is None:
                sample = take_sample(main, started, counter, roles)
                if sample is not None:
                    samples.append(sample)
                    if sample.t - (last_report - started) >= 30:
                        last_report = time.perf_counter()
                        print(f"  {sample.t:6.0f}s  {sample.records:6d} records  "
                              f"RSS main {sample.parent / MIB:.0f} MiB, workers {sample.workers_total / MIB:.0f} MiB "
                              f"({len(sample.workers)})", flush=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            process.terminate()  # the pipeline takes SIGTERM as Ctrl-C: it kills its workers and stops
            process.wait()
            raise
        returncode = process.wait()
        wall = time.perf_counter() - started
    counter.update()
    helper_pids = sum(1 for is_worker in roles.values() if not is_worker)
    return RunResult(returncode, wall, samples, log.read_text(encoding="utf-8", errors="replace"), helper_pids)


def write_samples(path: Path, samples: Sequence[Sample]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["t_s", "records", "main_rss_mib", "workers_rss_mib", "helpers_rss_mib", "total_rss_mib",
                      "workers", "worker_rss_mib"])
        for s in samples:
            per_worker = ";".join(f"{pid}={rss / MIB:.1f}" for pid, rss in sorted(s.workers.items()))
            out.writerow([f"{s.t:.2f}", s.records, f"{s.parent / MIB:.1f}", f"{s.workers_total / MIB:.1f}",
                          f"{s.helpers / MIB:.1f}", f"{s.total / MIB:.1f}", len(s.workers), per_worker])


# --------------------------------------------------------------------------- checks


@dataclass
class Checks:
    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def info(self, text: str) -> None:
        self.lines.append(text)

    def check(self, ok: bool, text: str) -> None:
        self.lines.append(f"[{'PASS' if ok else 'FAIL'}] {text}")
        if not ok:
            self.failures.append(text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _examples(items: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f", ... ({len(items) - most} more)" if len(items) > most else "")


def check_records(output: Path, expected: Sequence[Expected], checks: Checks) -> None:
    records: list[dict[str, object]] = []
    unparsable = 0
    with open(output, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except ValueError:
                unparsable += 1
    total = len(records) + unparsable
    checks.check(total == len(expected), f"records: {total} lines in the output, expected exactly {len(expected)}")
    checks.check(unparsable == 0, f"unparsable lines: {unparsable}")

    by_key: dict[tuple[str, int], list[dict[str, object]]] = {}
    for record in records:
        key = (str(record.get("image")), int(record.get("page", -1)))  # type: ignore[call-overload]
        by_key.setdefault(key, []).append(record)
    wanted = {(e.rel, 0): e for e in expected}
    duplicates = sorted(f"{k[0]}#{k[1]} x{len(v)}" for k, v in by_key.items() if len(v) > 1)
    missing = sorted(f"{k[0]}#{k[1]}" for k in wanted.keys() - by_key.keys())
    unexpected = sorted(f"{k[0]}#{k[1]}" for k in by_key.keys() - wanted.keys())
    checks.check(not duplicates, f"duplicate (image, page) keys: {len(duplicates)}"
                 + (f" ({_examples(duplicates)})" if duplicates else ""))
    checks.check(not missing, f"generated images without a record: {len(missing)}"
                 + (f" ({_examples(missing)})" if missing else ""))
    checks.check(not unexpected, f"records for no generated image: {len(unexpected)}"
                 + (f" ({_examples(unexpected)})" if unexpected else ""))
    checks.check(len(by_key) == len(wanted) and not missing and not unexpected,
                 f"unique keys: {len(by_key)}, equal to the {len(wanted)} generated names: "
                 f"{'yes' if not missing and not unexpected else 'no'}")

    bad = [e for e in expected if e.bad]
    good = [e for e in expected if not e.bad]
    bad_wrong = [e.rel for e in bad if (e.rel, 0) in by_key and by_key[(e.rel, 0)][0].get("status") != "error"]
    good_wrong = [f"{e.rel} ({by_key[(e.rel, 0)][0].get('error')})" for e in good
                  if (e.rel, 0) in by_key and by_key[(e.rel, 0)][0].get("status") != "ok"]
    kinds = ", ".join(f"{sum(1 for e in bad if e.bad == k)} {k}" for k in BAD_KINDS)
    errors_total = sum(1 for r in records if r.get("status") == "error")
    checks.check(not bad_wrong, f"bad images ({len(bad)}: {kinds}) recorded as status 'error': "
                 f"{len(bad) - len(bad_wrong)}/{len(bad)}" + (f" (not: {_examples(bad_wrong)})" if bad_wrong else ""))
    checks.check(not good_wrong, f"good images ({len(good)}) recorded as status 'ok': "
                 f"{len(good) - len(good_wrong)}/{len(good)}" + (f" (not: {_examples(good_wrong)})" if good_wrong else ""))
    checks.info(f"error records in the output: {errors_total}")
    reasons: dict[str, int] = {}
    for e in bad:
        if (e.rel, 0) in by_key:
            reason = str(by_key[(e.rel, 0)][0].get("error"))
            reasons[f"{e.bad}: {reason}"] = reasons.get(f"{e.bad}: {reason}", 0) + 1
    for reason, count in sorted(reasons.items()):
        checks.info(f"    {count:4d} x {reason}")

    # Text: accuracy is reported; text that belongs to another image is a failure (mixed-up results).
    owner = {_squash(e.text): e.rel for e in good}
    exact = squashed = 0
    differ: list[str] = []
    foreign: list[str] = []
    for e in good:
        if (e.rel, 0) not in by_key:
            continue
        text = str(by_key[(e.rel, 0)][0].get("text", ""))
        if text == e.text:
            exact += 1
        if _squash(text) == _squash(e.text):
            squashed += 1
        else:
            differ.append(f"{e.rel}: {text!r}")
            other = owner.get(_squash(text))
            if other is not None and other != e.rel:
                foreign.append(f"{e.rel} reads as {other}")
    checks.info(f"text of good images matching exactly: {exact}/{len(good)}")
    checks.info(f"text matching with whitespace removed: {squashed}/{len(good)}; differing even so: {len(differ)}"
                + (f" ({_examples(differ)})" if differ else ""))
    checks.check(not foreign, f"records carrying another image's text: {len(foreign)}"
                 + (f" ({_examples(foreign)})" if foreign else ""))


@dataclass(frozen=True)
class Growth:
    name: str
    early: float  # median RSS, MiB, first window
    late: float  # median RSS, MiB, last window

    @property
    def mib(self) -> float:
        return self.late - self.early

    @property
    def percent(self) -> float:
        return 100.0 * self.mib / self.early if self.early else 0.0

    def describe(self) -> str:
        return f"{self.name:<8} first 20%: {self.early:8.1f} MiB   last 20%: {self.late:8.1f} MiB   " \
               f"growth {self.mib:+7.1f} MiB ({self.percent:+.1f}%)"


def _slope_per_1000(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares MiB per 1000 records."""
    if len(points) < 3:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return None
    return 1000 * sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def check_memory(samples: Sequence[Sample], count: int, workers: int, max_growth: float, checks: Checks,
                 max_trend: float = 5.0, retiring: bool = False) -> None:
    running = [s for s in samples if s.workers]
    if not running:
        checks.check(False, "memory: no samples with running workers")
        return
    pids = sorted({pid for s in running for pid in s.workers})
    checks.info(f"samples: {len(samples)} ({len(running)} with workers running); worker processes seen: "
                f"{len(pids)} (expected {workers}; more means the pool was rebuilt)")
    if retiring:  # workers are replaced on purpose
        checks.info(f"worker processes seen: {len(pids)} ({workers} at a time, retired and replaced)")
    else:
        checks.check(len(pids) == workers, f"worker processes seen: {len(pids)}, expected {workers} (no restarts)")

    peak_parent = max(s.parent for s in samples) / MIB
    checks.info(f"peak RSS: main {peak_parent:.1f} MiB")
    for number, pid in enumerate(pids, 1):
        peak = max(s.workers.get(pid, 0) for s in running) / MIB
        checks.info(f"peak RSS: worker {number} (pid {pid}) {peak:.1f} MiB")
    checks.info(f"peak RSS: workers together {max(s.workers_total for s in running) / MIB:.1f} MiB, "
                f"helpers {max(s.helpers for s in samples) / MIB:.1f} MiB, "
                f"total {max(s.total for s in samples) / MIB:.1f} MiB")

    # Windows by records written: the first window starts at the first record (workers warmed up).
    first = [s for s in running if 1 <= s.records <= 0.2 * count]
    last = [s for s in running if s.records >= 0.8 * count]
    if len(first) < 3 or len(last) < 3:
        checks.check(False, f"memory: too few samples to compare ({len(first)} in the first 20% of records, "
                            f"{len(last)} in the last 20%); use more images")
        return
    growths = [
        Growth("main", statistics.median(s.parent for s in first) / MIB,
               statistics.median(s.parent for s in last) / MIB),
        Growth("workers", statistics.median(s.workers_total for s in first) / MIB,
               statistics.median(s.workers_total for s in last) / MIB),
        Growth("total", statistics.median(s.total for s in first) / MIB,
               statistics.median(s.total for s in last) / MIB),
    ]
    checks.info(f"memory windows (median RSS): {len(first)} samples at records 1..{int(0.2 * count)}, "
                f"{len(last)} samples at records {int(0.8 * count)}..{count}")
    for growth in growths:
        checks.info("    " + growth.describe())
    for pid in pids:
        early = [s.workers[pid] for s in first if pid in s.workers]
        late = [s.workers[pid] for s in last if pid in s.workers]
        if early and late:
            checks.info("    " + Growth(f"w{pid}", statistics.median(early) / MIB,
                                        statistics.median(late) / MIB).describe())
    after_warmup = [s for s in running if s.records >= 1]
    trends_flat = True
    for name, value in (("main", lambda s: s.parent), ("workers", lambda s: s.workers_total)):
        slope = _slope_per_1000([(s.records, value(s) / MIB) for s in after_warmup])
        if slope is not None:
            flat_here = slope < max_trend
            trends_flat = trends_flat and flat_here
            checks.lines.append(f"memory trend ({name}, least squares over the run): {slope:+.2f} MiB per 1000 "
                                f"records: {'flat' if flat_here else 'NOT flat'} (threshold < {max_trend:g})")
    if not trends_flat:
        checks.failures.append(f"memory trend not flat (>= {max_trend:g} MiB per 1000 records)")
    total = growths[-1]
    flat = all(g.percent < max_growth for g in growths)
    checks.lines.append(f"memory flat: {'yes' if flat else 'no'} (growth {total.mib:+.1f} MiB, {total.percent:+.1f}% "
                        f"total; main {growths[0].mib:+.1f} MiB, workers {growths[1].mib:+.1f} MiB; "
                        f"threshold < {max_growth:g}% for each)")
    if not flat:
        checks.failures.append("memory not flat")


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000, help="images to generate (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="pipeline worker processes (default 2)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep everything there")
    parser.add_argument("--bad-fraction", type=float, default=0.02,
                        help="share of deliberately bad files (default 0.02)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples (default 0.5)")
    parser.add_argument("--max-growth", type=float, default=10.0,
                        help="memory is flat if RSS grows less than this many percent (default 10)")
    parser.add_argument("--max-trend", type=float, default=5.0,
                        help="... and its least-squares trend is under this many MiB per 1000 records (default 5)")
    parser.add_argument("--max-worker-rss-mb", type=int, help="the pipeline's limits.max_worker_rss_mb")
    parser.add_argument("--max-tasks-per-worker", type=int, help="the pipeline's limits.max_tasks_per_worker")
    return parser


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)  # stop the pipeline and clean up, as Ctrl-C does
    if args.images < 10 or args.workers < 1 or not 0 <= args.bad_fraction < 1 or args.interval <= 0:
        print("error: need --images >= 10, --workers >= 1, 0 <= --bad-fraction < 1, --interval > 0",
              file=sys.stderr)
        return 2
    try:
        workdir, temporary = prepare_workdir(args.keep)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    images = workdir / "images"
    output = workdir / "results.jsonl"
    samples_csv = workdir / "results.jsonl.samples.csv"
    log = workdir / "pipeline.stderr.log"

    for stale in (output, samples_csv, log):  # from an earlier run into the same --keep folder
        stale.unlink(missing_ok=True)
    try:
        started = time.perf_counter()
        (workdir / MANIFEST).write_text(json.dumps({"images": args.images, "bad_fraction": args.bad_fraction}),
                                        encoding="utf-8")
        expected = generate(images, args.images, args.bad_fraction)
        bad = sum(1 for e in expected if e.bad)
        print(f"generated {len(expected)} images ({bad} bad) in {SUBFOLDERS} subfolders of {images} "
              f"in {time.perf_counter() - started:.1f}s", flush=True)
        limits = {"max_worker_rss_mb": args.max_worker_rss_mb, "max_tasks_per_worker": args.max_tasks_per_worker}
        limits = {key: value for key, value in limits.items() if value is not None}
        config = None
        if limits:  # laid over the packaged defaults by the pipeline
            config = workdir / "load_test_config.yaml"
            config.write_text(yaml.safe_dump({"limits": limits}), encoding="utf-8")
        result = run_pipeline(images, output, args.workers, args.interval, log, config)
    finally:
        if temporary:
            shutil.rmtree(images, ignore_errors=True)
    write_samples(samples_csv, result.samples)

    checks = Checks()
    print()
    print("pipeline stderr (last lines):")
    for line in result.stderr.strip().splitlines()[-6:]:
        print("  " + line)
    print()
    want_code = 1 if bad else 0
    checks.check(result.returncode == want_code,
                 f"pipeline exit code {result.returncode}, expected {want_code}")
    checks.info(f"wall time: {result.wall:.1f}s for {args.images} images at {args.workers} workers: "
                f"{args.images / result.wall:.2f} images/s (including start-up and model warm-up)")
    timed = [s for s in result.samples if s.records >= 1]
    if len(timed) >= 2 and timed[-1].t > timed[0].t:
        rate = (timed[-1].records - timed[0].records) / (timed[-1].t - timed[0].t)
        checks.info(f"steady throughput (first to last record sampled): {rate:.2f} images/s; "
                    f"first record after {timed[0].t:.1f}s")
    if output.is_file():
        check_records(output, expected, checks)
    else:
        checks.check(False, f"no output file {output}")
    checks.info(f"other descendant processes seen (resource tracker, short-lived forks): {result.helper_pids}")
    check_memory(result.samples, args.images, args.workers, args.max_growth, checks, args.max_trend,
                 retiring=bool(args.max_tasks_per_worker or args.max_worker_rss_mb))

    for line in checks.lines:
        print(line)
    print()
    print(f"results: {output}")
    print(f"samples: {samples_csv}")
    print(f"pipeline log: {log}")
    if checks.failures:
        print(f"FAILED: {len(checks.failures)} check(s): " + "; ".join(checks.failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
