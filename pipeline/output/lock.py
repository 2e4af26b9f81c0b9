"""One run at a time per output: a lock held for the whole run (resume repair included).

Two runs on one output would OCR and append the same pages, or one's `--retry-errors` rewrite would
send the other's records into an unlinked file. The lock is an OS lock on a small file beside the
output (`results.jsonl.lock`; for the txt format, `.pipeline.lock` inside its folder) holding the
owner's pid. The OS drops the lock when its process dies however it dies, so a lock file left by a
killed run never blocks the next one: the file stays, the lock does not.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.errors import ConfigError
from pipeline.output.formats import output_format
from pipeline.output.paths import open_no_follow, shown

__all__ = ["OutputInUse", "lock_path", "output_lock"]

class OutputInUse(ConfigError):
    """Another live run holds the output's lock (exit code 2: nothing was run)."""


def lock_path(output: Path, fmt: str) -> Path:
    return output_format(fmt).lock_path(output)


if os.name == "nt":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # byte 0 only: the pid after it stays readable
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _holder(fd: int) -> str:
    os.lseek(fd, 1, os.SEEK_SET)
    text = os.read(fd, 32).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"


@contextmanager
def output_lock(output: Path, fmt: str) -> Iterator[Path]:
    """Hold the lock of `output` until the block ends; OutputInUse when another run holds it."""
    path = lock_path(Path(output), fmt)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_no_follow(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # -o /proc/x.jsonl, a read-only folder: nothing was run
        raise ConfigError(f"cannot write the output {shown(output)}: {exc.strerror or exc} "
                          f"({shown(exc.filename or path)})") from None
    try:
        if not _try_lock(fd):
            raise OutputInUse(f"output is in use by another run (pid {_holder(fd)}): {shown(output)}; "
                              f"wait for it to finish or choose another output")
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f" {os.getpid()}\n".encode("ascii"))  # byte 0 is the locked one, the pid follows
            yield path
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
