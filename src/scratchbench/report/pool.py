"""Draw the report's figures in worker processes (one per core, at most two), in the order asked for.

A figure function (``report/figures.py``) writes its own PNG and returns a small
:class:`~scratchbench.report.figures.Figure` record, so a worker sends back only that. The workers
are forked at the first figure, before the report loads any model: a framework's threads are never
forked, and the workers start with the report's modules already imported.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Sequence

from scratchbench.threads import affinity_cores

MAX_WORKERS = 2  # the pipeline's 2 cores (issue 12); beyond 2 the main process's store reads are the longer part


def default_workers() -> int:
    """Worker processes for this machine: its usable cores, at most ``MAX_WORKERS`` (1: draw in-process,
    also where processes cannot be forked)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return min(MAX_WORKERS, affinity_cores())


class FigurePool:
    """``draw(fn, *args)`` queues a figure and returns its future; :func:`drawn` waits for a list of them."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        self._executor: ProcessPoolExecutor | None = None

    def draw(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        if self.workers <= 1:
            done: Future = Future()
            done.set_result(fn(*args, **kwargs))
            return done
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        return self._executor.submit(fn, *args, **kwargs)

    def close(self) -> None:
        if self._executor is not None:  # after an error: the figures still queued are cancelled
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "FigurePool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drawn(queued: Sequence[Future]) -> list[Any]:
    """The figures of ``queued``, in that order, once drawn (a function with nothing to draw returned ``None``)."""
    return [f for f in (q.result() for q in queued) if f is not None]
