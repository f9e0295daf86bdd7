"""A run's ``predictions.npz`` holds its saved model's own predictions, recorded directly and through a spool."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from scratchbench.config.compose import compose_run
from scratchbench.data.features import load_features
from scratchbench.experiment.caps import capped_test_rows
from scratchbench.experiment.predictions import SavedPredictions, boundary_extent, grid, load_predictions
from scratchbench.predict import load_run_model
from scratchbench.runner import run
from scratchbench.tracking.names import ARTIFACT_PREDICTIONS
from scratchbench.tracking.spool import find_spools, record_spools

from run_helpers import REPO, artifact_paths, client_for, store_uri


def _saved(root: Path, run_id: str) -> SavedPredictions:
    client = client_for(root)
    assert ARTIFACT_PREDICTIONS in artifact_paths(client, run_id)
    with tempfile.TemporaryDirectory() as tmp:
        return load_predictions(client.download_artifacts(run_id, ARTIFACT_PREDICTIONS, tmp))


def _matches_the_saved_model(root: Path, run_id: str) -> SavedPredictions:
    """The artifact against the model restored from the run's ``model/`` artifact, on the feature file."""
    saved = _saved(root, run_id)
    model = load_run_model(run_id, store_uri(root))
    fs = load_features("moons")
    sel = slice(None) if saved.test_indices is None else saved.test_indices
    np.testing.assert_array_equal(saved.y_true, fs.y_test[sel])
    np.testing.assert_array_equal(saved.y_pred, model.predict_proba(fs.x_test[sel]).argmax(axis=1))
    assert saved.class_names == list(fs.class_names)
    accuracy = client_for(root).get_run(run_id).data.metrics["test_accuracy"]
    assert float(np.mean(saved.y_true == saved.y_pred)) == accuracy
    b = saved.boundary  # r10_moons declares a decision-boundary figure: the plane around every test point
    np.testing.assert_array_equal(b.extent, boundary_extent(fs.x_test))
    gx, gy = grid(boundary_extent(fs.x_test))
    np.testing.assert_allclose(b.p_grid, model.predict_proba(np.c_[gx.ravel(), gy.ravel()])[:, 1].reshape(gx.shape),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.p_points, model.predict_proba(fs.x_test)[:, 1], rtol=0, atol=1e-12)
    assert b.p_grid.shape == (200, 200) and b.p_grid.std() > 0
    return saved


def test_direct_run_with_a_test_cap_records_the_rows_it_scored(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r10_moons", "train.epochs=7", "optimizer.learning_rate=0.5", "profile=full",
                       "seed=4", "train.max_test_samples=15"], root=REPO)
    res = run(cfg)
    assert res.status == "FINISHED"
    saved = _matches_the_saved_model(tiny_root, res.run_id)
    n_test = len(load_features("moons").y_test)
    np.testing.assert_array_equal(saved.test_indices, capped_test_rows(n_test, 15, 4))
    assert len(saved.y_true) == 15 < n_test


def test_spooled_run_reaches_the_store_with_its_predictions(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r10_moons", "model=sklearn_mlp", "train.epochs=5", "train.batch_size=32",
                       "optimizer.learning_rate=0.05", "profile=full", "seed=0", "tracking.record=spool"], root=REPO)
    assert run(cfg, out_dir=tiny_root / "reports" / "runs" / "s").status == "FINISHED"
    (done,) = record_spools(find_spools(tiny_root / "reports" / "runs"), client_for(tiny_root))
    saved = _matches_the_saved_model(tiny_root, done["run_id"])
    assert saved.test_indices is None and len(saved.y_true) == len(load_features("moons").y_test)


def test_preset_without_a_boundary_figure_records_predictions_only(tiny_root: Path) -> None:
    res = run(compose_run(["experiment=r2_two_layer_class", "profile=full", "train.epochs=5"], root=REPO))
    saved = _saved(tiny_root, res.run_id)
    fs = load_features("xor3")
    assert saved.boundary is None and saved.test_indices is None
    np.testing.assert_array_equal(saved.y_true, fs.y_test)
    model = load_run_model(res.run_id, store_uri(tiny_root))
    np.testing.assert_array_equal(saved.y_pred, model.predict_proba(fs.x_test).argmax(axis=1))
