"""Probes: the numbers a reference experiment publishes, computed from a trained run.

A small table of functions, one per ``experiment.probes[].kind``; each returns one float.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from scratchbench.models.base import EpochRecord, Implementation, Split


def _predict_input(impl: Implementation, probe: Mapping[str, Any], history: Sequence[EpochRecord], train: Split,
                   adapt: Callable[[np.ndarray], np.ndarray]) -> float:
    """Probability of class 1 (binary) or of the predicted class, for the probe's first input row."""
    x = adapt(np.asarray(probe["inputs"], dtype=np.float64))
    p = np.asarray(impl.predict_proba(x))
    return float(p[0, 1] if p.shape[1] == 2 else p[0].max())


def _final_loss(impl, probe, history, train, adapt) -> float:
    return float(history[-1].loss) if history else float("nan")


def _loss_monotonic(impl, probe, history, train, adapt) -> float:
    losses = np.array([r.loss for r in history], dtype=np.float64)
    return float(bool(np.all(np.diff(losses) <= 1e-12))) if len(losses) else float("nan")


def _max_abs_error(impl, probe, history, train, adapt) -> float:
    """max |p(class of the target) - 1| over the training rows = max |output - target| for 0/1 targets."""
    p = np.asarray(impl.predict_proba(train.x))
    return float(np.max(np.abs(1.0 - p[np.arange(len(train.y)), train.y])))


PROBES: dict[str, Callable[..., float]] = {
    "predict_input": _predict_input,
    "final_loss": _final_loss,
    "loss_monotonic": _loss_monotonic,
    "max_abs_error": _max_abs_error,
}


def run_probes(probes: Sequence[Mapping[str, Any]], impl: Implementation, history: Sequence[EpochRecord],
               train: Split, adapt: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    """``{probe.metric: value}`` for every probe of the preset."""
    out: dict[str, float] = {}
    for probe in probes:
        kind = probe["kind"]
        if kind not in PROBES:
            raise ValueError(f"experiment.probes: unknown kind {kind!r}; valid: {', '.join(PROBES)}")
        out[probe["metric"]] = PROBES[kind](impl, probe, history, train, adapt)
    return out
