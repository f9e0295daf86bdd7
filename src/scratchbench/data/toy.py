"""Toy data sets of R1-R4 and R10: tiny tables (train = test) and scikit-learn's two moons."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

TABLES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    # R1: target = first input, rows in the single-neuron tutorial's order
    "r1_table": (np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=np.float64), np.array([0, 1, 1, 0])),
    # R2/R3: target = XOR of the first two inputs, rows in the R2/R3 tutorials' order
    "xor3": (np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64), np.array([0, 1, 1, 0])),
    # R4: PyBrain 2-input XOR
    "xor": (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64), np.array([0, 1, 1, 0])),
}
TOY_DATASETS: tuple[str, ...] = ("moons", *TABLES)

MOONS_DEFAULTS: dict[str, Any] = {
    "n_samples": 1000, "noise": 0.2, "random_state": 100, "test_size": 0.1, "split_seed": 42,
}


def table_features(name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A 4-row truth table: train and test are the same rows (as in R1-R4)."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; valid: {', '.join(TABLES)}")
    x, y = TABLES[name]
    arrays = {"x_train": x.copy(), "y_train": y.astype(np.int64), "x_test": x.copy(), "y_test": y.astype(np.int64),
              "class_names": np.array(["0", "1"])}
    return arrays, {"source": "built-in table", "train_equals_test": True}


def moons_features(params: Mapping[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """R10: ``make_moons(n_samples, noise, random_state)``, ``test_size`` held out with ``split_seed``."""
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    p = {**MOONS_DEFAULTS, **dict(params or {})}
    unknown = set(p) - set(MOONS_DEFAULTS)
    if unknown:
        raise ValueError(f"featurize.moons: unknown option(s) {sorted(unknown)}; valid: {sorted(MOONS_DEFAULTS)}")
    if not 0 < float(p["test_size"]) < 1:
        raise ValueError(f"featurize.moons.test_size must be in (0, 1), got {p['test_size']!r}")
    x, y = make_moons(n_samples=int(p["n_samples"]), noise=float(p["noise"]), random_state=int(p["random_state"]))
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=float(p["test_size"]), random_state=int(p["split_seed"]))
    arrays = {"x_train": x_tr.astype(np.float64), "y_train": y_tr.astype(np.int64),
              "x_test": x_te.astype(np.float64), "y_test": y_te.astype(np.int64), "class_names": np.array(["0", "1"])}
    return arrays, {"source": "sklearn.datasets.make_moons", "resolved_params": p}
