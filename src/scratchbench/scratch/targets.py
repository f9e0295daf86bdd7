"""Class labels <-> network outputs: the one home of target encoding and of reading one sigmoid
column as two class probabilities (every implementation imports these)."""

from __future__ import annotations

import numpy as np


def encode_labels(labels: np.ndarray, n_out: int, on: float = 1.0, off: float = 0.0, dtype=np.float64) -> np.ndarray:
    """Integer labels (N,) -> targets (N, n_out): ``on`` at the label's unit, ``off`` elsewhere.

    One output unit is a binary problem: the column is ``on`` for label 1 and ``off`` for 0
    (R5 trains with on/off = 0.99/0.01).
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    n_classes = max(n_out, 2)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"y: labels must lie in [0, {n_classes - 1}] for {n_out} output unit(s), "
                         f"got range [{labels.min()}, {labels.max()}]")
    targets = np.full((labels.size, n_out), off, dtype=dtype)
    if n_out == 1:
        targets[labels == 1, 0] = on
    else:
        targets[np.arange(labels.size), labels] = on
    return targets


def two_class_proba(p: np.ndarray) -> np.ndarray:
    """One sigmoid column, (N,) or (N, 1), -> (N, 2) class probabilities ``[1 - p, p]`` with p
    clipped to [0, 1]; (N, K > 1) outputs are returned unchanged."""
    p = np.asarray(p)
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[1] != 1:
        return p
    p = np.clip(p, 0.0, 1.0)
    return np.concatenate([1.0 - p, p], axis=1)
