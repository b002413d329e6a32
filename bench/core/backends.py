"""Where units of work run: joblib/loky processes on this machine, or a Dask cluster.

A unit is a plain function of picklable, content-keyed input (`track_sequence(TrackJob)`, an ablation's
`run_unit`), so both backends run the same function on the same input and give the same results. `run_units` yields
results in completion order; the caller stores each one as it arrives, so an interrupted run keeps what finished.

Dask: `scheduler` is the address of a running `dask.distributed` scheduler; without one a `LocalCluster` with
`jobs` single-threaded worker processes is started for the call and closed after it (also on Ctrl-C). Units that
use the GPU ask for the `GPU` resource, so remote workers must be started with `--resources GPU=1`. Workers read
and write the cache folder, so on several machines it must be a shared filesystem.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.core.errors import BenchError

BACKENDS = ("loky", "dask")
CONNECT_TIMEOUT = "8s"  # a dead --scheduler address fails in seconds, not after distributed's default 30 s
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Backend:
    name: str = "loky"
    jobs: int = 1
    scheduler: str = ""  # dask only: address of a running scheduler, e.g. tcp://10.0.0.5:8786

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise BenchError(f"unknown backend {self.name!r}", hint=f"use one of {', '.join(BACKENDS)}")
        if self.scheduler and self.name != "dask":
            raise BenchError("--scheduler needs --backend dask", hint="add --backend dask, or drop --scheduler")


def run_units(
    fn: Callable[[T], R],
    items: Sequence[T],
    backend: Backend,
    *,
    keys: Sequence[str] | None = None,
    gpu: bool | Sequence[bool] = False,
) -> Iterator[R]:
    """`fn(item)` for every item, yielded as each finishes. `keys` name the Dask tasks (content keys); `gpu` (for
    all items or per item) makes a unit ask for one `GPU` resource on Dask (loky runs on this machine's device)."""
    if not items:
        return
    if backend.name == "loky":
        yield from _loky(fn, items, backend.jobs)
    else:
        yield from _dask(fn, items, backend, keys, [gpu] * len(items) if isinstance(gpu, bool) else list(gpu))


def _loky(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> Iterator[R]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=min(jobs, len(items)), return_as="generator_unordered")
    yield from parallel(delayed(fn)(x) for x in items)  # Ctrl-C: loky kills its workers (psutil)


@contextmanager
def dask_client(backend: Backend, gpu: bool = False) -> Iterator[Any]:
    """A client of the given scheduler, or of a LocalCluster with `jobs` single-threaded worker processes (each
    holding one `GPU` resource when `gpu`), closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BenchError(
            "--backend dask needs dask.distributed", hint="pip install 'dask[distributed]' (a bench dependency)"
        ) from None
    if backend.scheduler:
        with _connect(Client, backend.scheduler) as client:
            if gpu and not any("GPU" in w.get("resources", {}) for w in client.scheduler_info()["workers"].values()):
                raise BenchError(
                    f"the run uses CUDA but no worker of {backend.scheduler} has a GPU resource",
                    hint="start GPU workers with `dask worker ADDRESS --resources GPU=1`",
                )
            yield client
        return
    with _signals_deferred() as pending:  # a cluster stopped half-started prints tracebacks at exit
        cluster = LocalCluster(
            n_workers=backend.jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            resources={"GPU": 1} if gpu else None,
            silence_logs=logging.CRITICAL,  # a unit's own error reaches the caller through its future
        )
    with cluster, Client(cluster) as client:
        if pending:
            raise KeyboardInterrupt  # Ctrl-C/SIGTERM came while the cluster started: now it closes cleanly
        yield client


def _connect(client_cls: Any, address: str) -> Any:
    """A client of the scheduler at `address`, or one error line within about 10 s when none answers there."""
    try:
        return client_cls(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise BenchError(
            f"--scheduler / run.scheduler: cannot reach the Dask scheduler at {address} ({reason})",
            hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`, or drop --scheduler",
        ) from None


def check_scheduler(backend: Backend) -> None:
    """Fail before any work when `--scheduler` names an address where no scheduler answers. A refused TCP port fails
    at once (distributed itself would retry until its timeout); anything else gets the client's handshake."""
    if backend.name != "dask" or not backend.scheduler:
        return
    scheme, _, rest = backend.scheduler.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme in ("", "tcp") and host and port.isdigit():
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
        except OSError as e:
            raise BenchError(
                f"--scheduler / run.scheduler: cannot reach the Dask scheduler at {backend.scheduler} "
                f"({e.strerror or type(e).__name__})",
                hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`, or drop --scheduler",
            ) from None
    from distributed import Client

    _connect(Client, backend.scheduler).close()


@contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM during the block (main thread only); the list says which came."""
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in sigs}
    try:
        yield pending
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _dask(
    fn: Callable[[T], R], items: Sequence[T], backend: Backend, keys: Sequence[str] | None, gpu: list[bool]
) -> Iterator[R]:
    from distributed import as_completed

    with dask_client(backend, any(gpu)) as client:
        futures = [
            client.submit(
                fn,
                x,
                key=f"{getattr(fn, '__name__', 'unit')}-{keys[i]}" if keys else None,
                pure=keys is not None,
                resources={"GPU": 1} if gpu[i] else None,
            )
            for i, x in enumerate(items)
        ]
        try:
            for fut in as_completed(futures):
                yield fut.result()  # a unit's exception is raised here, with its own traceback
        finally:
            client.cancel(futures)
