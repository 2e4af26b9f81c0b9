"""Settings that only some backends use (a module of its own: the command line builds them before
it imports any backend)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BackendOptions"]


@dataclass(frozen=True)
class BackendOptions:
    """Settings that only some backends use."""

    scheduler: str | None = None  # dask: address of a running scheduler; None starts a local cluster
    ship_bytes: bool = False  # send each file's bytes with its task instead of its path
