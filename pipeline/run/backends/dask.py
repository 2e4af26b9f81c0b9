"""`dask`: the same tasks on a Dask distributed cluster, past one machine.

With `options.scheduler` the run connects to a running cluster (`dask scheduler`, `dask worker
tcp://HOST:8786 --nthreads 1`); without, it starts a `LocalCluster` on this machine: process
workers, one thread each, one per core. Each worker builds its engine once, in a worker plugin
(`pipeline.run.backends.dask_plugin`) that runs the same initializer as the process pool; results come
back here, to the scheduler and the one writer.

Faults: a worker that dies is replaced by its nanny, and Dask reports its task as `KilledWorker`;
the scheduler re-runs such tasks alone and counts deaths against `limits.max_retries`. A hung task
gets its worker restarted. The local cluster lets Dask itself retry nothing (`allowed-failures: 0`)
and gives each worker one task at a time (`worker-saturation: 1.0`), so a death is reported for
exactly the task that ran on it.

`distributed` is an optional dependency (`pip install -e '.[dask]'`), imported only when used.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import warnings
from contextlib import contextmanager
from concurrent.futures import Future, InvalidStateError
from dataclasses import replace
from typing import Any, Callable, ClassVar, Iterator, Sequence, TypeVar

from pipeline.config import Config, ModelConfig
from pipeline.errors import ConfigError, RunFailed, one_line
from pipeline.ocr.models import ResolvedModel, ResolvedModels
from pipeline.run.backends.base import Backend, Initializer
from pipeline.run.tasks import init_worker, ping

__all__ = ["DaskBackend", "require_dask"]

T = TypeVar("T")
PLUGIN_NAME = "pipeline-engine"
CONNECT_TIMEOUT = 30.0  # seconds to reach a scheduler, and for its first worker to show up
REPLACE_TIMEOUT = 120.0  # seconds to wait for a dead or hung worker's replacement to build its engine
_LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.scheduler.worker-saturation": 1.0,
}


def require_dask() -> Any:
    """The `distributed` module, or a ConfigError naming the extra that installs it."""
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            f"the dask backend needs Dask distributed, which is not installed ({exc}): "
            "pip install -e '.[dask]'"
        ) from None
    return distributed


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile (main thread only). Processes started meanwhile, from any thread,
    keep ignoring it: an ignored signal stays ignored across exec, and Python leaves it so."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _transfer(dask_future: Any, future: Future[Any]) -> None:
    """Runs in a Dask callback thread: hand the outcome over to the `concurrent.futures` side."""
    try:
        try:
            outcome = dask_future.result()
        except BaseException as exc:  # KilledWorker, the task's own error, a cancellation
            future.set_exception(exc)
        else:
            future.set_result(outcome)
    except InvalidStateError:  # cancelled by us meanwhile (a hung task given up on)
        pass


def _for_workers(config: Config, models: ResolvedModels, remote: bool) -> Config:
    """The config the workers build their engine from. A local model folder goes by the absolute
    path the client found (it must be on storage every worker sees); embedded models are prepared
    by each worker into its own cache. On a remote cluster the client does not know how many cores
    a worker's machine has, so no detection borrows the idle workers' cores."""

    def local(model: ModelConfig, resolved: ResolvedModel) -> ModelConfig:
        return replace(model, dir=resolved.dir) if model.source == "local" else model

    config = replace(config, models=replace(
        config.models,
        detection=local(config.models.detection, models.detection),
        recognition=local(config.models.recognition, models.recognition),
    ))
    if remote:
        config = replace(config, detection=replace(config.detection, use_idle_cores=False))
    return config


class DaskBackend(Backend):
    name = "dask"
    initializer: ClassVar[Initializer] = staticmethod(init_worker)  # fault-injection tests swap it

    def __init__(self, workers: int, config: Config, models: ResolvedModels, options: Any = None) -> None:
        super().__init__(workers, config, models, options)
        self._client: Any = None
        self._cluster: Any = None
        self._killed_worker: type[BaseException] | None = None
        self._tasks: dict[Future[Any], Any] = {}  # our future -> Dask's, kept until done
        self._lock = threading.Lock()

    @classmethod
    def check(cls) -> None:
        require_dask()

    # -- starting -------------------------------------------------------------------------------

    def start(self) -> None:
        distributed = require_dask()
        self._killed_worker = distributed.KilledWorker
        remote = self.options.scheduler is not None
        try:
            if remote:
                self._connect(distributed)
            else:
                self._start_local_cluster(distributed)
            from pipeline.run.backends.dask_plugin import EngineSetup

            plugin = EngineSetup(_for_workers(self.config, self.models, remote), type(self).initializer,
                                 ignore_sigint=not remote)  # a remote worker is its owner's to stop
            self._client.register_plugin(plugin, name=PLUGIN_NAME)
        except (ConfigError, RunFailed, KeyboardInterrupt):  # Ctrl-C while the workers start: close them first
            self.shutdown(kill=True)
            raise
        except Exception as exc:
            self.shutdown(kill=True)
            raise RunFailed(
                f"the dask workers failed to start: their OCR engine could not be built ({one_line(exc)})"
            ) from exc

    def _start_local_cluster(self, distributed: Any) -> None:
        import dask

        # Ctrl-C goes to the whole process group. The parent alone decides how to stop; a worker
        # process that took it would print tracebacks. The workers are started with SIGINT ignored
        # and keep ignoring it; replacements a nanny starts later ignore it from their engine's
        # setup on (EngineSetup). The price: a Ctrl-C in the second the workers are spawned is lost
        # (the next one stops the run). (Blocking it instead does not reach the spawned processes.)
        with _sigint_ignored(), dask.config.set(_LOCAL_CLUSTER_CONFIG), warnings.catch_warnings():
            # Its HTTP server moves to another port when another cluster holds 8787: no news for our user.
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            self._cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                dashboard_address=None, memory_limit=0,  # like the process pool: no memory cap
                silence_logs=logging.CRITICAL,  # worker deaths and hangs are ours to report (scheduler)
            )
        self._client = distributed.Client(self._cluster)

    def _connect(self, distributed: Any) -> None:
        address = self.options.scheduler
        try:
            self._client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
            self._client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise RunFailed(f"cannot use the Dask scheduler at {address}: {exc}") from None
        threads = self._client.nthreads()
        many = {worker: n for worker, n in threads.items() if n != 1}
        if many:
            worker, n = next(iter(many.items()))
            raise ConfigError(
                f"every Dask worker must run one thread (an OCR engine is not thread-safe), but {worker} "
                f"runs {n}: start the workers with `dask worker {address} --nthreads 1 --nworkers N`"
            )
        self.workers = len(threads)

    # -- tasks ----------------------------------------------------------------------------------

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        # pure=False: a retried task is a new task, not the same key as the one that failed.
        dask_future = self._client.submit(fn, *args, pure=False)
        future: Future[T] = Future()  # left pending until done, so that it can be cancelled
        with self._lock:
            self._tasks[future] = dask_future
        future.add_done_callback(self._forget)
        dask_future.add_done_callback(lambda done: _transfer(done, future))
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._tasks.pop(future, None)

    def is_crash(self, exc: BaseException) -> bool:
        return self._killed_worker is not None and isinstance(exc, self._killed_worker)

    # -- faults ---------------------------------------------------------------------------------

    @property
    def can_replace_workers(self) -> bool:
        return True

    def replace_dead_workers(self) -> None:
        self.restarts += 1  # the worker's nanny is starting a new one
        self._await_workers()

    def _await_workers(self) -> None:
        """Wait until the cluster is back to strength and every worker has built its engine (as the
        process pool does when it is rebuilt), so that a re-run task's time limit does not run out
        while it waits for a new worker. A worker that does not come back (no nanny) is not
        waited for beyond REPLACE_TIMEOUT: the run goes on with the others."""
        distributed = require_dask()
        try:
            self._client.wait_for_workers(self.workers, timeout=REPLACE_TIMEOUT)
        except TimeoutError:
            pass
        pings = [self._client.submit(ping, pure=False, workers=[worker], allow_other_workers=False)
                 for worker in self._client.nthreads()]
        try:
            distributed.wait(pings, timeout=REPLACE_TIMEOUT, return_when="ALL_COMPLETED")
        except TimeoutError:
            pass

    def replace_hung_workers(self, hung: Sequence[Future[Any]]) -> None:
        """Restart the workers running `hung`; the other workers and their tasks go on."""
        with self._lock:
            tasks = [self._tasks.pop(future) for future in hung if future in self._tasks]
        keys = {task.key for task in tasks}
        where = [worker for worker, running in self._client.processing().items() if keys & set(running)]
        for task in tasks:
            task.cancel()
        for future in hung:
            future.cancel()
        if where:
            self._client.restart_workers(where, raise_for_error=False)
            self.restarts += len(where)
            self._await_workers()

    def worker_pids(self) -> list[int]:
        if self._client is None or self._cluster is None:
            return []  # a remote cluster's pids are on other machines
        return sorted(self._client.run(os.getpid).values())

    # -- stopping -------------------------------------------------------------------------------

    def shutdown(self, *, kill: bool = False) -> None:
        """Best effort: a cluster whose workers keep dying may not close in time. Our local
        cluster's worker processes leave with this process anyway."""
        with self._lock:
            tasks = list(self._tasks.values())
            self._tasks.clear()
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        timeout = 5 if kill else 30
        if kill:  # stopping hard (Ctrl-C): connections cut meanwhile leave futures nobody reads, which
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # asyncio would print as tracebacks
        for task in tasks:
            task.cancel()
        for closing in (client, cluster):  # a remote cluster is left running: only our client closes
            if closing is not None:
                try:
                    closing.close(timeout=timeout)
                except Exception as exc:  # noqa: BLE001 (nothing more to do about it)
                    logging.getLogger(__name__).warning("closing the dask %s: %s", type(closing).__name__, exc)
