"""The one way our own ONNX models (page orientation, line angle) get an ONNX Runtime session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LazySession", "onnx_session"]


def onnx_session(model: Path, threads: int) -> Any:
    """A CPU session of `model` with `threads` intra-op threads (onnxruntime imported here, when used)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle pool threads (threads > 1) would spin after every run, taking CPU from other workers.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class LazySession:
    """A session of a one-input model, made on first use: a worker that never needs the model
    (line crops never ask for the page orientation) never pays for loading it."""

    def __init__(self, model: Path, threads: int) -> None:
        self._model = model
        self._threads = threads
        self._session: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = onnx_session(self._model, self._threads)
        return self._session

    def run(self, batch: np.ndarray) -> Any:
        """The model's first output for `batch`."""
        session = self.session
        return session.run(None, {session.get_inputs()[0].name: batch})[0]
