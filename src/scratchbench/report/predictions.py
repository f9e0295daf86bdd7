"""Test-set predictions of a run: its ``predictions.npz`` artifact, else its saved model on the features.

The artifact (written by the runner, ``experiment/predictions.py``) spares the report loading a
model and its framework; runs recorded before it existed fall back to the saved model.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np

from scratchbench.experiment.caps import capped_test_rows
from scratchbench.experiment.predictions import Boundary, boundary_of, load_predictions
from scratchbench.report.collect import RunRecord
from scratchbench.tracking.names import ARTIFACT_PREDICTIONS


@dataclass
class Predictions:
    y_true: np.ndarray
    y_pred: np.ndarray
    class_names: list[str]
    images: np.ndarray | None = None
    boundary: Boundary | None = None  # when asked for: P(class 1) over the plane and on the test points
    model: Any = None  # scratchbench.predict.RunModel when the model was loaded


def _features(dataset: str):
    """The dataset's test split (training arrays left unread), read once per process and feature file."""
    from scratchbench.data.features import features_path

    path = features_path(dataset)
    return _features_of(dataset, str(path), path.stat().st_mtime_ns if path.is_file() else 0)


@functools.cache
def _features_of(dataset: str, path: str, version: int):
    from scratchbench.data.features import load_features

    return load_features(dataset, Path(path).parent, test_only=True)


def test_subset(run: RunRecord, n_test: int) -> np.ndarray | None:
    """The test rows the run was scored on when it capped them (same seeded draw as the runner)."""
    cap = run.param("train.max_test_samples_effective")
    try:
        return capped_test_rows(n_test, int(cap) if cap not in (None, "", "None") else None, int(run.seed))
    except ValueError:
        return None


def _test_images(fs: Any, idx: np.ndarray | None, n: int) -> np.ndarray | None:
    src = fs.images_test if fs.images_test is not None else (fs.x_test if fs.x_test.ndim == 4 else None)
    if src is None:
        return None
    return src[idx] if idx is not None else (src if len(src) == n else None)


def _download(run: RunRecord, tracking_uri: str | None):
    """The run's artifact, read, or ``None`` when the run has none (recorded before it existed)."""
    from scratchbench.report.collect import _client

    local = urlparse(run.artifact_uri)
    if local.scheme in ("", "file") and run.artifact_uri:  # a SQLite store's folder: read in place
        path = Path(url2pathname(local.path)) / ARTIFACT_PREDICTIONS
        return load_predictions(path) if path.is_file() else None
    client = _client(tracking_uri)
    if ARTIFACT_PREDICTIONS not in {a.path for a in client.list_artifacts(run.run_id)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return load_predictions(client.download_artifacts(run.run_id, ARTIFACT_PREDICTIONS, tmp))


def run_predictions(run: RunRecord, tracking_uri: str | None = None, boundary: bool = False) -> Predictions | None:
    """Predictions on the test split (with the decision boundary when ``boundary``), or ``None``
    (with a warning saying why) when unavailable."""
    fs = None
    try:
        fs = _features(run.dataset)
    except Exception as exc:  # features not built here: fine when the artifact carries everything
        warnings.warn(f"features of {run.dataset!r} unavailable for figures: {exc}", stacklevel=2)
    saved = _download(run, tracking_uri)
    if saved is not None and (saved.boundary is not None or not boundary):
        classes = saved.class_names
        if classes is None:
            classes = (list(fs.class_names) if fs is not None
                       else [str(i) for i in range(int(max(saved.y_true.max(), saved.y_pred.max())) + 1)])
        images = None if fs is None else _test_images(fs, saved.test_indices, len(saved.y_true))
        return Predictions(saved.y_true, saved.y_pred, classes, images, saved.boundary)
    if fs is None:
        return None
    try:
        from scratchbench.models.adapter import data_spec
        from scratchbench.predict import load_run_model

        model = load_run_model(run.run_id, tracking_uri, spec=data_spec(fs))
        idx = test_subset(run, len(fs.y_test))
        sel = slice(None) if idx is None else idx
        y_pred = model.predict_proba(fs.x_test[sel]).argmax(axis=1)
        drawn = boundary_of(model.predict_proba, fs.x_test) if boundary and fs.x_test.shape[1:] == (2,) else None
    except Exception as exc:
        warnings.warn(f"run {run.run_id} ({run.implementation}, {run.experiment}): no predictions: {exc}", stacklevel=2)
        return None
    return Predictions(np.asarray(fs.y_test, int)[sel], y_pred, list(fs.class_names),
                       _test_images(fs, idx, len(y_pred)), drawn, model)


def boundary_points(dataset: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The test points and labels a decision-boundary figure draws (``None`` without features)."""
    try:
        fs = _features(dataset)
    except Exception:
        return None
    return np.asarray(fs.x_test, float), np.asarray(fs.y_test, int)
