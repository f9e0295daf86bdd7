"""Probes: the numbers a reference experiment publishes, computed from a trained run.

A small table of functions, one per ``experiment.probes[].kind``; each returns one float.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from scratchbench.models.base import EpochRecord, Implementation, Split


def _predict_input(impl: Implementation, probe: Mapping[str, Any], history: Sequence[EpochRecord], train: Split,
                   adapt: Callable[[np.ndarray], np.ndarray]) -> float:
    """Probability of class 1 (binary) or of the predicted class, for the probe's input row."""
    x = adapt(np.asarray(probe["inputs"], dtype=np.float64))
    p = np.asarray(impl.predict_proba(x))
    return float(p[0, 1] if p.shape[1] == 2 else p[0].max())


def _final_loss(impl, probe, history, train, adapt) -> float:
    return float(history[-1].loss) if history else float("nan")


def _loss_monotonic(impl, probe, history, train, adapt) -> float:
    losses = np.array([r.loss for r in history], dtype=np.float64)
    return float(bool(np.all(np.diff(losses) <= 1e-12))) if len(losses) else float("nan")


def _abs_errors(impl: Implementation, train: Split) -> np.ndarray:
    """|p(class of the target) - 1| per training row = |output - target| for 0/1 targets."""
    p = np.asarray(impl.predict_proba(train.x))
    return np.abs(1.0 - p[np.arange(len(train.y)), train.y])


def _max_abs_error(impl, probe, history, train, adapt) -> float:
    return float(np.max(_abs_errors(impl, train)))


def _mean_abs_error(impl, probe, history, train, adapt) -> float:
    """The error R3's original post prints every 10,000 iterations."""
    return float(np.mean(_abs_errors(impl, train)))


def _first_loss(impl, probe, history, train, adapt) -> float:
    """The loss of the first epoch (for full-batch training: the cost at iteration 0, before any update)."""
    return float(history[0].loss) if history else float("nan")


def _train_set_accuracy(impl, probe, history, train, adapt) -> float:
    """Accuracy of the trained model on its training rows (R6 scores itself on the training data)."""
    return float(np.mean(np.asarray(impl.predict(train.x)) == train.y))


def printed_view(actual: np.ndarray, printed: np.ndarray, edgeitems: int) -> np.ndarray:
    """The entries of ``actual`` that NumPy's summarised print shows (first/last ``edgeitems`` of a long axis)."""
    for axis, (n_actual, n_printed) in enumerate(zip(actual.shape, printed.shape, strict=True)):
        if n_actual != n_printed:
            if n_printed != 2 * edgeitems:
                raise ValueError(f"param_dump: printed shape {printed.shape} does not match {actual.shape}")
            keep = np.r_[0:edgeitems, n_actual - edgeitems:n_actual]
            actual = np.take(actual, keep, axis=axis)
    return actual


def _param_dump(impl, probe, history, train, adapt) -> float:
    """Largest |ours - printed| over a printed parameter dump (``probe.dump``).

    The dump holds ``W<l>`` as (out, in) and ``b<l>`` as (out, 1) (the course's layout) and
    ``edgeitems``: NumPy prints only the first/last ``edgeitems`` rows and columns of large
    arrays. NaN when the implementation cannot hand out its weights.
    """
    weights = impl.weights()
    if weights is None:
        return float("nan")
    dump = dict(probe["dump"])
    edge = int(dump.pop("edgeitems", 3))
    worst = 0.0
    for name, values in dump.items():
        layer = int(name[1:]) - 1
        ours = np.asarray(weights[2 * layer] if name[0] == "W" else weights[2 * layer + 1], dtype=np.float64)
        ours = ours.T if name[0] == "W" else ours.reshape(-1, 1)
        printed = np.asarray(values, dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(printed_view(ours, printed, edge) - printed))))
    return worst


PROBES: dict[str, Callable[..., float]] = {
    "predict_input": _predict_input,
    "final_loss": _final_loss,
    "loss_monotonic": _loss_monotonic,
    "max_abs_error": _max_abs_error,
    "mean_abs_error": _mean_abs_error,
    "first_loss": _first_loss,
    "train_set_accuracy": _train_set_accuracy,
    "param_dump": _param_dump,
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
