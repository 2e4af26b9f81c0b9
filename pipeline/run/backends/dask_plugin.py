"""The worker plugin that builds a Dask worker's engine. Imported by the dask backend only once
`distributed` is known to be installed, and by every Dask worker when it unpickles the plugin."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from pipeline.config import Config
from pipeline.ocr.models import resolve_models
from pipeline.run.backends.base import Initializer

__all__ = ["EngineSetup"]


class EngineSetup(WorkerPlugin):
    """Runs the pool initializer once per worker process, fed the same plain config data as the
    process pool. Workers on other machines cannot use the client's model cache: each prepares
    the embedded models itself (`resolve_models`, under its file lock)."""

    def __init__(self, config: Config, initializer: Initializer, ignore_sigint: bool = False) -> None:
        self.config = config
        self.initializer = initializer
        self.ignore_sigint = ignore_sigint  # a local cluster's worker: Ctrl-C is for the parent to handle

    def _build(self) -> None:
        self.initializer(self.config, resolve_models(self.config.models, self.config.engine.runtime))

    async def setup(self, worker: Any) -> None:
        # On the worker's event loop, its main thread: the one place a signal handler can be set.
        if self.ignore_sigint and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        # On the thread pool that runs the tasks, not on the worker's event loop: building takes
        # seconds, and a blocked loop misses heartbeats.
        await asyncio.get_running_loop().run_in_executor(worker.executors["default"], self._build)
