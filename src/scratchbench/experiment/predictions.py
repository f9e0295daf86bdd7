"""A run's ``predictions.npz`` artifact: what the report draws, so it never has to load the model.

Keys: ``y_true``, ``y_pred`` (test rows the run was scored on), ``class_names``, ``test_indices``
(only when the test set was capped: rows of the feature file's test split) and, for presets
with a decision-boundary figure, ``boundary_extent`` (x0, x1, y0, y1 of the plane),
``boundary_p_grid`` (P(class 1) on :func:`grid` of that extent) and ``boundary_p_points``
(P(class 1) on every test point the figure draws).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

GRID_POINTS = 200  # per axis of the decision-boundary plane
GRID_PAD = 0.5  # around the test points


@dataclass
class Boundary:
    """P(class 1) of one model over the plane around the test points, and on the points themselves."""

    extent: np.ndarray  # x0, x1, y0, y1
    p_grid: np.ndarray  # (GRID_POINTS, GRID_POINTS), on grid(extent)
    p_points: np.ndarray  # (n_test,)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        return grid(self.extent, self.p_grid.shape[0])


@dataclass
class SavedPredictions:
    y_true: np.ndarray
    y_pred: np.ndarray
    class_names: list[str] | None
    test_indices: np.ndarray | None
    boundary: Boundary | None


def boundary_extent(points: np.ndarray) -> np.ndarray:
    """The plane a decision-boundary figure shows: the points' bounding box padded by ``GRID_PAD``."""
    x = np.asarray(points, dtype=float)
    return np.array([x[:, 0].min() - GRID_PAD, x[:, 0].max() + GRID_PAD,
                     x[:, 1].min() - GRID_PAD, x[:, 1].max() + GRID_PAD])


def grid(extent: Sequence[float], n: int = GRID_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Meshgrid (gx, gy), each (n, n), over ``extent``."""
    x0, x1, y0, y1 = (float(v) for v in extent)
    return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def boundary_of(proba: Callable[[np.ndarray], np.ndarray], points: np.ndarray) -> Boundary:
    """P(class 1) of ``proba`` (feature-file inputs -> (N, 2)) on the grid around ``points`` and on them."""
    points = np.asarray(points, dtype=float)
    extent = boundary_extent(points)
    gx, gy = grid(extent)
    p_grid = np.asarray(proba(np.c_[gx.ravel(), gy.ravel()]))[:, 1].reshape(gx.shape)
    return Boundary(extent, p_grid, np.asarray(proba(points))[:, 1])


def save_predictions(path: Path, y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                     test_indices: np.ndarray | None = None, boundary: Boundary | None = None) -> Path:
    """Write the artifact (compressed npz, no pickles)."""
    arrays = {"y_true": np.asarray(y_true, np.int64), "y_pred": np.asarray(y_pred, np.int64),
              "class_names": np.asarray([str(c) for c in class_names])}
    if test_indices is not None:
        arrays["test_indices"] = np.asarray(test_indices, np.int64)
    if boundary is not None:
        arrays.update(boundary_extent=boundary.extent, boundary_p_grid=boundary.p_grid,
                      boundary_p_points=boundary.p_points)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_predictions(path: Path) -> SavedPredictions:
    """Read the artifact; keys a run did not write (older runs) come back as ``None``."""
    with np.load(path, allow_pickle=False) as z:
        boundary = (Boundary(z["boundary_extent"], z["boundary_p_grid"], z["boundary_p_points"])
                    if "boundary_p_grid" in z else None)
        return SavedPredictions(
            y_true=z["y_true"].astype(int), y_pred=z["y_pred"].astype(int),
            class_names=[str(c) for c in z["class_names"]] if "class_names" in z else None,
            test_indices=z["test_indices"] if "test_indices" in z else None, boundary=boundary)
