"""`python -m pipeline watch INBOX -o OUT`: OCR every image or PDF that lands in a folder.

One warm worker pool serves the whole session. A daemon thread runs `watchfiles` (inotify,
FSEvents, ReadDirectoryChangesW; polling where those are missing) and only wakes the main loop;
the main loop rescans the inbox itself (at least every `watch.poll_seconds`), so a missed event
costs a delay, never a file. A file is taken once its size and modification time have held still
for `watch.settle_seconds` (a scanner or a copy still writing it is left alone).

Each file is identified by its path and the SHA-256 of its content, noted in a ledger beside the
output (`<output>.watch-seen.jsonl`, one JSON line per file done) once all its pages are written,
and added to its records as `sha256`. A restart skips files whose path and hash are in the ledger;
a file replaced with new content is done again (appended formats then hold a newer record for the
same page: readers take the latest per (image, page)). `--once` processes what is there and exits.
Ctrl-C / SIGTERM stop it like `run`: finished records are kept, the workers are stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.core.types import ImageRef, Record
from pipeline.errors import ConfigError, Interrupted
from pipeline.inputs.discover import page_count, walk
from pipeline.ocr.models import resolve_models
from pipeline.output.base import PageFileSink, Sink
from pipeline.output.context import SinkContext
from pipeline.output.formats import beside, open_sink, output_format
from pipeline.output.lock import output_lock
from pipeline.output.names import json_text
from pipeline.output.paths import check_output_apart
from pipeline.output.writer import OrderedWriter
from pipeline.run.backends import Backend, open_backend
from pipeline.run.runner import process_images, sigterm_as_interrupt, sink_context

__all__ = ["WatchSummary", "ledger_path", "watch"]

log = logging.getLogger(__name__)

_Stat = tuple[int, int]  # (size, mtime_ns)


@dataclass
class WatchSummary:
    files: int = 0
    ok: int = 0
    failed: int = 0
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"watch: {self.files} files done, {self.ok} pages ok, {self.failed} failed."


def ledger_path(output: Path) -> Path:
    return beside(output, ".watch-seen.jsonl")


def _read_ledger(path: Path) -> dict[str, str]:
    """rel -> SHA-256 of the content last done. A torn last line (a kill mid-write, perhaps inside
    a UTF-8 character) is cut off, so that the next entry starts on a line of its own."""
    seen: dict[str, str] = {}
    if not path.is_file():
        return seen
    data = path.read_bytes()
    whole = data.rfind(b"\n") + 1
    if whole < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(whole)
            handle.flush()
            os.fsync(handle.fileno())
        log.warning("%s: removed a torn last entry (%d bytes) left by an interrupted run", path, len(data) - whole)
    for raw in data[:whole].split(b"\n"):
        try:
            entry = json.loads(raw)  # bytes: a line that is not UTF-8 is a ValueError too
            seen[entry["image"]] = entry["sha256"]
        except (ValueError, KeyError, TypeError):
            continue
    return seen


def _released(path: Path) -> bool:
    """Whether no other program has `path` open (Windows: it opens with no sharing). Explorer and
    robocopy set a copy's final size first, so a slow copy can look settled while still written.
    POSIX has no such check (and no need: a copy grows there): always True."""
    if sys.platform != "win32":
        return True
    import _winapi  # Windows only

    try:
        handle = _winapi.CreateFile(str(path), _winapi.GENERIC_READ, 0, 0, _winapi.OPEN_EXISTING, 0, 0)
    except OSError:
        return False  # ERROR_SHARING_VIOLATION (32): still open elsewhere; or gone: the next scan decides
    _winapi.CloseHandle(handle)
    return True


def _sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file's content; "" for anything else (a FIFO would block a read:
    its worker's read makes it an error record); None when it is gone or unreadable."""
    digest = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None  # gone or unreadable: the next scan decides
    with open(fd, "rb") as handle:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        except OSError:
            return None
    return digest.hexdigest()


class _LedgerSink:
    """Adds `sha256` to each record before the output's sink, and notes a file in the ledger once
    all of its pages are written. Closing it leaves the output's sink open (one per session)."""

    def __init__(self, sink: Sink, ledger: Path, hashes: dict[str, str], pages: dict[str, int],
                 seen: dict[str, str]) -> None:
        self._sink, self._ledger, self._hashes, self._left, self._seen = sink, ledger, hashes, dict(pages), seen
        self.ok = self.failed = 0

    def write(self, record: Record) -> None:
        image = record["image"]
        record = {**record, "sha256": self._hashes[image]}  # type: ignore[typeddict-unknown-key]
        self._sink.write(record)
        self.ok += record["status"] == "ok"
        self.failed += record["status"] != "ok"
        self._left[image] -= 1
        if self._left[image] == 0:
            with open(self._ledger, "a", encoding="utf-8") as handle:
                handle.write(json_text({"image": image, "sha256": self._hashes[image]}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self._seen[image] = self._hashes[image]

    def close(self) -> None:
        pass


class _Wakeup:
    """A daemon thread turning file-system events into a wake-up of the main loop."""

    def __init__(self, inbox: Path) -> None:
        self.event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(inbox,), name="watchfiles", daemon=True)
        self._thread.start()

    def _run(self, inbox: Path) -> None:
        try:
            import watchfiles

            for _changes in watchfiles.watch(inbox, stop_event=self._stop, debounce=200, raise_interrupt=False,
                                             recursive=True, ignore_permission_denied=True):
                self.event.set()
        except Exception as exc:  # no events here: the main loop's own rescans still find everything
            log.warning("file-system events unavailable (%s); polling every watch.poll_seconds", exc)

    def close(self) -> None:
        self._stop.set()


def _check_paths(inbox: Path, output: Path, fmt: str) -> None:
    if not inbox.is_dir():
        raise ConfigError(f"watch needs an existing folder to watch, got {inbox}")
    check_output_apart(output, [inbox])  # an output inside the inbox would be OCR'd in turn
    output_format(fmt).check_output(output)


class _Inbox:
    """Which files under the inbox are complete and not yet done."""

    def __init__(self, root: Path, settle: float, seen: dict[str, str], follow_symlinks: bool) -> None:
        self._root, self._settle, self._seen, self._follow = root, settle, seen, follow_symlinks
        self._changing: dict[str, tuple[_Stat, float]] = {}  # rel -> (stat, since when unchanged)
        self._done: dict[str, _Stat] = {}  # rel -> stat when it was last taken or found done
        self.warnings: list[str] = []  # each once: a rescan finds the same skipped symlink again
        self._warned: set[str] = set()

    def scan(self) -> tuple[list[tuple[str, Path, str]], bool]:
        """(files ready now as (rel, path, sha256), whether some are still settling)."""
        now = time.monotonic()
        ready: list[tuple[str, Path, str]] = []
        present: set[str] = set()
        warnings: list[str] = []
        for path in walk(self._root, [os.path.realpath(self._root)], self._follow, warnings):
            rel = path.relative_to(self._root).as_posix()
            if any(part.startswith(".") for part in rel.split("/")):
                continue  # hidden, or in a hidden folder: partial downloads, editors' temporary files
            present.add(rel)
            try:
                st = path.stat()
            except OSError:
                continue
            stat = (st.st_size, st.st_mtime_ns)
            if self._done.get(rel) == stat:
                continue
            previous = self._changing.get(rel)
            if previous is None or previous[0] != stat:
                self._changing[rel] = (stat, now)
                continue
            if now - previous[1] < self._settle:
                continue
            if not _released(path):
                continue  # still settling: a copy in progress
            del self._changing[rel]
            self._done[rel] = stat
            digest = _sha256(path)
            if digest is None:
                self._done.pop(rel)
            elif self._seen.get(rel) != digest:
                ready.append((rel, path, digest))
        for warning in warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                self.warnings.append(warning)
        for rel in set(self._changing) - present:
            del self._changing[rel]
        for rel in set(self._done) - present:
            del self._done[rel]  # deleted: a file put back under that name is looked at afresh
        return ready, bool(self._changing)


def watch(inbox: str | Path, config: Config, *, once: bool = False, backend: str = "process",
          quiet: bool = False, stop: threading.Event | None = None) -> WatchSummary:
    """Watch `inbox` until Ctrl-C / SIGTERM (raises `Interrupted`), `stop` is set, or with `once`
    until everything there when it started (and settled) is done."""
    root, output = Path(os.path.abspath(inbox)), Path(config.output)
    _check_paths(root, output, config.format)
    models = resolve_models(config.models, config.engine.runtime)
    ledger = ledger_path(output)
    seen: dict[str, str] = {}  # read under the lock: reading may repair the ledger
    summary = WatchSummary()
    files = _Inbox(root, config.watch.settle_seconds, seen, config.follow_symlinks)
    stop = stop or threading.Event()
    wakeup = None if once else _Wakeup(root)
    pool: Backend | None = None
    context = sink_context([], config)  # its sources grow batch by batch
    with sigterm_as_interrupt(), output_lock(output, config.format):
        seen.update(_read_ledger(ledger))
        sink = open_sink(config.format, output, append=True, context=context)
        try:
            while not stop.is_set():
                ready, settling = files.scan()
                if ready:
                    if pool is None:
                        pool = open_backend(backend, config, models)
                    _process(ready, config, context, sink, ledger, seen, pool, summary, quiet)
                    continue
                if once and not settling:
                    break
                wait = min(config.watch.settle_seconds / 2, config.watch.poll_seconds) if settling \
                    else config.watch.poll_seconds
                if wakeup is not None:
                    wakeup.event.wait(wait)
                    wakeup.event.clear()
                else:
                    time.sleep(wait)
        except (KeyboardInterrupt, Interrupted):
            if pool is not None:
                pool.shutdown(kill=True)
                pool = None
            raise Interrupted(f"{summary.describe()} Finished records are in {output}.") from None
        finally:
            if wakeup is not None:
                wakeup.close()
            if pool is not None:
                pool.shutdown()
            sink.close()
    summary.warnings = files.warnings
    return summary


def _process(ready: list[tuple[str, Path, str]], config: Config, context: SinkContext, sink: Sink, ledger: Path,
             seen: dict[str, str], pool: Backend, summary: WatchSummary, quiet: bool) -> None:
    images: list[ImageRef] = []
    for rel, path, _digest in ready:
        for page in range(page_count(path, config.limits.max_pages, config.limits.max_file_bytes)):
            images.append(ImageRef(len(images), str(path), rel, page))
    context.add(images)  # the hocr and pdf sinks look files up here
    pages = {rel: sum(1 for image in images if image.rel == rel) for rel, _, _ in ready}
    if isinstance(sink, PageFileSink):  # txt, hocr: a file replaced by a shorter one loses its old pages
        for rel, count in pages.items():
            if rel in seen:  # done before (a new file has no old pages to lose)
                sink.remove_pages_from(rel, count)
    noted = _LedgerSink(sink, ledger, {rel: digest for rel, _, digest in ready}, pages, seen)
    writer = OrderedWriter(noted)
    try:
        process_images(images, config, writer, quiet=True, pool=pool)
    finally:
        summary.ok += noted.ok
        summary.failed += noted.failed
    writer.close()
    summary.files += len(ready)
    if not quiet:
        print(f"watch: {len(ready)} files ({noted.ok} pages ok, {noted.failed} failed): "
              + ", ".join(rel for rel, _, _ in ready), file=sys.stderr, flush=True)
