"""The worker plugin that builds a Dask worker's engine. Imported by the dask backend only once
`distributed` is known to be installed, and by every Dask worker when it unpickles the plugin."""

from __future__ import annotations

import asyncio
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

    def __init__(self, config: Config, initializer: Initializer) -> None:
        self.config = config
        self.initializer = initializer

    def _build(self) -> None:
        self.initializer(self.config, resolve_models(self.config.models, self.config.engine.runtime))

    async def setup(self, worker: Any) -> None:
        # On the thread pool that runs the tasks, not on the worker's event loop: building takes
        # seconds, and a blocked loop misses heartbeats.
        await asyncio.get_running_loop().run_in_executor(worker.executors["default"], self._build)
