"""The threads a process may use: its cores, capped by the thread budget a launcher gave it.

Processes that run side by side each get a budget in the environment, read by BLAS and OpenMP
when they load: joblib's loky workers (a Hydra ``hydra/launcher=joblib`` sweep) get
``cores // n_jobs``, the DVC train stages ``train_pipeline.blas_threads`` (pipelines/train.py).
Code that picks its own thread count (``threadpool_limits``, the conv workers) must stay within it,
else two workers on two cores run four threads. No NumPy import here: pipelines/train.py sets the
budget before NumPy loads.
"""

from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def affinity_cores() -> int:
    """CPU cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def thread_budget() -> int | None:
    """The smallest positive thread count set in :data:`THREAD_VARS`, else ``None``."""
    values = []
    for var in THREAD_VARS:
        try:
            values.append(int(os.environ.get(var, "")))
        except ValueError:
            continue
    return min((v for v in values if v > 0), default=None)


def cores() -> int:
    """Threads this process may use: :func:`affinity_cores`, capped by :func:`thread_budget`."""
    budget = thread_budget()
    return affinity_cores() if budget is None else max(1, min(affinity_cores(), budget))
