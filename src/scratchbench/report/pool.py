"""Draw the report's figures in worker processes (one per core, at most two), in the order asked for.

A figure function (``report/figures.py``) writes its own PNG and returns a small
:class:`~scratchbench.report.figures.Figure` record, so a worker sends back only that. The workers
are forked at the first figure, before the report loads any model: a framework's threads are never
forked, and the workers start with the report's modules already imported.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable

MAX_WORKERS = 2  # the cores the report stage has (issue 12); more buys nothing for ~50 figures


def default_workers() -> int:
    """Worker processes for this machine: its usable cores, at most ``MAX_WORKERS`` (1: draw in-process)."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


class FigurePool:
    """``draw(fn, *args)`` queues a figure; ``results()`` waits and returns the figures drawn, in order."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        self._executor: ProcessPoolExecutor | None = None
        self._queued: list[Any] = []  # a Future, or a figure drawn in-process

    def draw(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self.workers <= 1:
            self._queued.append(fn(*args, **kwargs))
            return
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        self._queued.append(self._executor.submit(fn, *args, **kwargs))

    def results(self) -> list[Any]:
        """Every queued figure that was drawn (functions that had nothing to draw return ``None``)."""
        done = [q.result() if isinstance(q, Future) else q for q in self._queued]
        self._queued = []
        return [f for f in done if f is not None]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "FigurePool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
