"""How the process backend starts its workers: `start_method` in the config.

- `spawn` starts each worker as a fresh interpreter that imports numpy, OpenCV and the engine's
  modules itself (0.3-0.4 s and some 60 MiB of its own) before it builds its engine.
- `forkserver` starts one such interpreter, early (`start_early`, while the parent is still finding
  the pages), which imports those modules once (`pipeline.run.preload`); each worker is forked
  from it, starts with them loaded and shares their pages. Seven sample images, whole process:
  median 2.29 s with spawn, 2.03 s with it (README, figures).
- `auto`: forkserver on Linux, spawn elsewhere. Windows has no fork; on macOS a fork after loading
  these libraries is not safe.

Both are the stdlib's own start methods, used through `multiprocessing`'s public API.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import sys
from multiprocessing.context import BaseContext

from pipeline.errors import ConfigError

__all__ = ["PRELOAD", "context", "resolved", "start_early"]

PRELOAD = ["pipeline.run.preload"]


def resolved(method: str, platform: str = sys.platform) -> str:
    """The start method `method` (a config's: auto, spawn or forkserver) means on `platform`."""
    if method == "auto":
        return "forkserver" if platform.startswith("linux") else "spawn"
    if method == "forkserver" and "forkserver" not in multiprocessing.get_all_start_methods():
        raise ConfigError(f"config key 'start_method': forkserver is not available on {platform}; use spawn or auto")
    return method


def context(method: str) -> BaseContext:
    """The multiprocessing context that starts workers by `method`."""
    name = resolved(method)
    if name == "forkserver":
        multiprocessing.set_forkserver_preload(PRELOAD)  # read when the server starts
    return multiprocessing.get_context(name)


def start_early(method: str) -> None:
    """Start the forkserver now (when `method` uses one), so that it imports while the parent works."""
    if resolved(method) == "forkserver":
        # Neither this process nor the server multiplies matrices: without this, numpy's OpenBLAS
        # starts a thread in each that spins for some 50 ms of CPU, while both cores are busy
        # importing. A forked worker holds no such thread either way.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        context(method)
        multiprocessing.forkserver.ensure_running()
