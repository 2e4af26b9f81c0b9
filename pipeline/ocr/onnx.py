"""The one way our own ONNX models (page orientation, line angle) get an ONNX Runtime session."""

from __future__ import annotations

from pathlib import Path

__all__ = ["onnx_session"]


def onnx_session(model: Path, threads: int) -> object:
    """A CPU session of `model` with `threads` intra-op threads (onnxruntime imported here, when used)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
