"""`fn(item)` for every item in forked worker processes: the evaluation's sequences, the report's pictures.

A forked worker starts with the parent's imports and inputs in place (copy-on-write): no interpreter to start,
nothing to re-import or to pickle on the way in; only the results come back. A spawned pool (joblib/loky) paid ~0.8 s
a worker in imports, which short jobs cannot win back. The work must not use the parent's threads (torch, Rich,
Dask): numpy, pandas, TrackEval, PIL and matplotlib only.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # set only while forked_map's pool runs


def can_fork() -> bool:
    """Forked workers need fork (not on Windows) and a parent allowed to have children (not a daemon process)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def _run(index: int) -> Any:
    assert _WORK is not None, "only called in a worker forked by forked_map"
    fn, items = _WORK
    return fn(items[index])


def _worker_ignores_signals() -> None:
    """Ctrl-C in a terminal signals the whole process group. Workers leave it to the parent, which kills them
    and reports; otherwise an idle worker would print a KeyboardInterrupt traceback, and a worker dying first
    could reach the parent as a broken pool instead of an interruption."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def forked_map(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """[fn(x) for x in items], in up to `jobs` forked workers (the caller checks `can_fork()`), in order. `fn` and
    `items` reach the workers by the fork itself, so they may be closures and unpicklable; results are pickled back.
    Ctrl-C, SIGTERM or an error kills the workers before it propagates; a worker killed from outside raises
    BrokenProcessPool."""
    global _WORK
    _WORK = (fn, items)
    others = set(mp.active_children())
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(items))), mp_context=mp.get_context("fork"),
                               initializer=_worker_ignores_signals)
    try:
        return list(pool.map(_run, range(len(items))))
    except BaseException:  # Ctrl-C/SIGTERM (or an error): the workers' results are not wanted any more
        for worker in set(mp.active_children()) - others:
            worker.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _WORK = None
