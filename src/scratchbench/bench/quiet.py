"""Wait for worker processes to go quiet before the next timed epoch.

After a multi-threaded call returns, OpenBLAS's threads spin for a while (about 0.12 s here)
before they sleep; any other library's spinning threads are caught the same way. With every
worker pinned to the same cores, an epoch started right after another process's epoch shares its
cores with those spinning threads: on the 2-vCPU Intel Xeon an engine epoch at batch 1024 took
0.20-0.25 s right after the other worker's epoch and 0.14-0.15 s right after its own.
:func:`wait_quiet` waits until every worker's threads together use less than
``busy`` of a core over ``window`` seconds, read from ``/proc/<pid>/task/*/schedstat`` (nanoseconds
on a CPU; the 10 ms clock ticks of ``/proc/<pid>/task/*/stat`` where a kernel has no schedstat).
"""

from __future__ import annotations

import os
import time
from typing import Iterable


def _task_ns(pid: int, tid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def task_stat_seconds(pid: int | str, tid: str) -> float | None:
    """CPU seconds (user + system, 10 ms clock ticks) of thread ``tid`` of ``pid`` (``"self"`` works), from
    ``/proc/<pid>/task/<tid>/stat``; ``None`` when the thread is gone."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ns(pids: Iterable[int]) -> tuple[int, bool]:
    """CPU time (ns) used so far by every thread of ``pids`` and whether it is ns-exact (schedstat)."""
    total, exact = 0, True
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:  # the process is gone
            continue
        for tid in tids:
            ns = _task_ns(pid, tid)
            if ns is None:
                exact, ns = False, round((task_stat_seconds(pid, tid) or 0.0) * 1e9)
            total += ns
    return total, exact


def wait_quiet(pids: Iterable[int], window: float = 0.02, busy: float = 0.05, timeout: float = 3.0) -> dict[str, float]:
    """Block until ``pids`` together use under ``busy`` of one core over ``window`` s (0.1 s on tick
    clocks), or ``timeout`` s passed. Returns ``{"seconds": waited, "timed_out": 0 or 1}``."""
    pids = list(pids)
    t0 = time.perf_counter()
    before, exact = cpu_ns(pids)
    win = window if exact else max(window, 0.1)
    while True:
        time.sleep(win)
        after, _ = cpu_ns(pids)
        waited = time.perf_counter() - t0
        if after - before < busy * win * 1e9:
            return {"seconds": waited, "timed_out": 0.0}
        if waited >= timeout:
            return {"seconds": waited, "timed_out": 1.0}
        before = after
