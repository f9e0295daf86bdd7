"""Spread, alternation and load flags: the small rules every benchmark shares."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def alternated(names: Sequence[str], repeat: int) -> list[str]:
    """ABBA order: forward on even repeats, reversed on odd ones (A B | B A | A B | ...), so a drift
    in machine speed over the run hits every implementation alike."""
    return list(names) if repeat % 2 == 0 else list(reversed(names))


def load_flagged(loads: Sequence[float], threads: int) -> bool:
    """A sample is flagged when the 1-minute load average seen during it exceeded the thread count
    the benchmark uses (someone else was using the cores)."""
    return max(loads) > threads


def bootstrap_ci(values: Sequence[float], n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of the median."""
    v = np.asarray(values, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(v), size=(n_boot, len(v)))
    meds = np.median(v[idx], axis=1)
    a = (1 - level) / 2
    return [float(np.quantile(meds, a)), float(np.quantile(meds, 1 - a))]


def summary(values: Sequence[float], flags: Sequence[bool] = ()) -> dict[str, Any]:
    """median, interquartile range, bootstrap 95% CI of the median, every sample and its load flag."""
    v = np.asarray(values, dtype=float)
    q1, q3 = np.quantile(v, [0.25, 0.75])
    return {"median": float(np.median(v)), "iqr": [float(q1), float(q3)], "ci95_median": bootstrap_ci(v),
            "n": len(v), "samples": [float(x) for x in v], "load_flagged": [bool(f) for f in flags],
            "n_load_flagged": int(sum(bool(f) for f in flags))}
