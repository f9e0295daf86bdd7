"""Test-set predictions of a run: its ``predictions.npz`` artifact, else its saved model on the features."""

from __future__ import annotations

import functools
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratchbench.report.collect import RunRecord


@dataclass
class Predictions:
    y_true: np.ndarray
    y_pred: np.ndarray
    class_names: list[str]
    images: np.ndarray | None = None
    model: Any = None  # scratchbench.predict.RunModel when the model was loaded


@functools.lru_cache(maxsize=4)
def _features(dataset: str):
    from scratchbench.data.features import load_features

    return load_features(dataset)


def test_subset(run: RunRecord, n_test: int) -> np.ndarray | None:
    """The test rows the run was scored on when it capped them (same seeded draw as the runner)."""
    cap = run.param("train.max_test_samples_effective")
    try:
        cap_n = int(cap) if cap not in (None, "", "None") else None
        seed = int(run.seed)
    except ValueError:
        return None
    if cap_n is None or cap_n >= n_test:
        return None
    return np.sort(np.random.default_rng([seed, 3]).permutation(n_test)[:cap_n])


def run_predictions(run: RunRecord, tracking_uri: str | None = None) -> Predictions | None:
    """Predictions on the test split, or ``None`` (with a warning saying why) when unavailable."""
    from scratchbench.report.collect import _client

    client = _client(tracking_uri)
    names = {a.path for a in client.list_artifacts(run.run_id)}
    fs = None
    try:
        fs = _features(run.dataset)
    except Exception as exc:  # features not built here: fine when the artifact carries everything
        warnings.warn(f"features of {run.dataset!r} unavailable for figures: {exc}", stacklevel=2)
    if "predictions.npz" in names:
        with tempfile.TemporaryDirectory() as tmp:
            with np.load(client.download_artifacts(run.run_id, "predictions.npz", tmp), allow_pickle=False) as z:
                y_true, y_pred = z["y_true"].astype(int), z["y_pred"].astype(int)
                classes = [str(c) for c in z["class_names"]] if "class_names" in z else None
                idx = z["test_indices"] if "test_indices" in z else None
        if classes is None:
            classes = (list(fs.class_names) if fs is not None
                       else [str(i) for i in range(int(max(y_true.max(), y_pred.max())) + 1)])
        images = None
        if fs is not None:
            src = fs.images_test if fs.images_test is not None else (fs.x_test if fs.x_test.ndim == 4 else None)
            if src is not None:
                images = src[idx] if idx is not None else (src if len(src) == len(y_true) else None)
        return Predictions(y_true, y_pred, classes, images)
    if fs is None:
        return None
    try:
        from scratchbench.predict import load_run_model

        model = load_run_model(run.run_id, tracking_uri)
        idx = test_subset(run, len(fs.y_test))
        sel = slice(None) if idx is None else idx
        y_pred = model.predict_proba(fs.x_test[sel]).argmax(axis=1)
    except Exception as exc:
        warnings.warn(f"run {run.run_id} ({run.implementation}, {run.experiment}): no predictions: {exc}", stacklevel=2)
        return None
    images = fs.images_test if fs.images_test is not None else (fs.x_test if fs.x_test.ndim == 4 else None)
    return Predictions(np.asarray(fs.y_test, int)[sel], y_pred, list(fs.class_names),
                       None if images is None else images[sel], model)


def moons_test_points(dataset: str = "moons") -> tuple[np.ndarray, np.ndarray] | None:
    try:
        fs = _features(dataset)
    except Exception:
        return None
    return np.asarray(fs.x_test, float), np.asarray(fs.y_test, int)
