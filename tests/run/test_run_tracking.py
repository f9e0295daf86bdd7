"""One tiny run against a real SQLite MLflow store: params, per-epoch metrics, tags, artifacts, failures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scratchbench.config.compose import compose_run
from scratchbench.runner import run
from scratchbench.tracking.names import EPOCH_METRICS, FINAL_METRICS

from run_helpers import FAST, REPO, all_runs, artifact_paths, client_for


def test_tiny_run_records_params_epoch_metrics_tags_andartifact_paths(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r10_moons", "train.epochs=7", "profile=full", "seed=5"], root=REPO)
    res = run(cfg, out_dir=tiny_root / "reports" / "runs" / "t")
    assert res.status == "FINISHED"
    client = client_for(tiny_root)
    r = client.get_run(res.run_id)
    assert r.info.status == "FINISHED"
    assert r.info.run_name == "r10_moons-numpy_mlp-seed5"
    assert client.get_experiment(r.info.experiment_id).name == "scratchbench-moons"
    # flattened resolved config + effective caps as params
    p = r.data.params
    from scratchbench.config import validate
    from scratchbench.tracking.run import flatten

    expected = flatten(validate(cfg))
    assert {k: p.get(k) for k in expected} == expected  # every resolved config value, nothing missing
    assert p["model.name"] == "numpy_mlp" and p["optimizer.learning_rate"] == "0.01" and p["seed"] == "5"
    assert json.loads(p["model.layers"])[0] == {"input_dim": 2, "output_dim": 4, "activation": "relu"}
    assert p["train.epochs_effective"] == "7" and p["profile.name"] == "full"
    # per-epoch metrics, step = epoch
    for key in EPOCH_METRICS:
        hist = client.get_metric_history(res.run_id, key)
        assert sorted(m.step for m in hist) == list(range(1, 8)), key
        assert all(math.isfinite(m.value) for m in hist)
    for key in FINAL_METRICS:
        assert key in r.data.metrics, key
    assert 0.0 <= r.data.metrics["test_accuracy"] <= 1.0
    assert r.data.metrics["train_samples"] == 180 and r.data.metrics["n_params"] > 0
    t = r.data.tags
    assert (t["implementation"], t["dataset"], t["experiment"], t["reference"]) == (
        "numpy_mlp", "moons", "r10_moons", "R10")
    assert len(t["features_sha256"]) == 64 and len(t["lockfile_sha256"]) == 64
    assert t["git_commit"] != "" and t["seed"] == "5" and t["profile"] == "full"
    assert json.loads(t["threads"]) and t["published_metric"] == "test_accuracy" and t["published_value"] == "0.95"
    arts = artifact_paths(client, res.run_id)
    assert {"config.yaml", "learning_curve.png", "learning_curve.csv"} <= arts
    assert any(a.startswith("model/") for a in arts)
    # artifacts sit beside the SQLite file, not in the cwd
    assert (tiny_root / "mlartifacts").is_dir()
    # DVC outputs
    metrics = json.loads((tiny_root / "reports" / "runs" / "t" / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(r.data.metrics["test_accuracy"])
    assert (tiny_root / "reports" / "runs" / "t" / "learning_curve.csv").read_text().count("\n") == 8


def test_profile_caps_are_recorded_not_silent(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r10_moons", "profile=quick", "profile.max_iterations=3",
                       "profile.max_train_samples=50"], root=REPO)
    res = run(cfg)
    r = client_for(tiny_root).get_run(res.run_id)
    assert r.data.params["train.epochs_requested"] == "10000" and r.data.params["train.epochs_effective"] == "3"
    assert r.data.params["sample_cap_source"] == "profile" and r.data.metrics["train_samples"] == 50
    assert r.data.tags["profile"] == "quick"


def test_r1_probe_logs_new_input_prediction(tiny_root: Path) -> None:
    res = run(compose_run(["experiment=r1_single_neuron", "profile=full", "train.epochs=2000"], root=REPO))
    m = client_for(tiny_root).get_run(res.run_id).data.metrics
    assert m["new_input_prediction"] > 0.95  # target of [1,0,0] is 1 (published 0.99993704 after 10,000)


def test_r2_probes_and_r8_activations_run(tiny_root: Path) -> None:
    r2 = run(compose_run(["experiment=r2_two_layer_class", *FAST], root=REPO))
    m = client_for(tiny_root).get_run(r2.run_id).data.metrics
    assert {"final_loss", "loss_monotonic", "max_abs_error"} <= set(m)
    r8 = run(compose_run(["experiment=r8_activations"], root=REPO), out_dir=tiny_root / "r8")
    client = client_for(tiny_root)
    assert client.get_run(r8.run_id).data.metrics["max_derivative_error"] < 1e-4
    assert "activations.png" in artifact_paths(client, r8.run_id)
    assert client.get_run(r8.run_id).data.tags["task"] == "activations"


def test_nan_loss_is_a_failed_run(tiny_root: Path) -> None:
    """xor features poisoned with a NaN: the loss is NaN, the run is FAILED with the reason, no crash."""
    cfg = compose_run(["experiment=r4_xor", "model=numpy_mlp", *FAST], root=REPO)
    res = run(cfg, raise_on_failure=False)
    assert res.status == "FAILED" and "nan" in res.error.lower()
    r = client_for(tiny_root).get_run(res.run_id)
    assert r.info.status == "FAILED"
    assert r.data.tags["failure_reason"] == "nan_loss"
    assert "error.txt" in artifact_paths(client_for(tiny_root), res.run_id)


def test_exception_is_a_failed_run_and_is_raised_for_single_runs(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r11_cat_tanh", *FAST], root=REPO)  # no catvnoncat features here
    with pytest.raises(Exception, match="catvnoncat"):
        run(cfg)
    (r,) = [r for r in all_runs(client_for(tiny_root)) if r.data.tags.get("experiment") == "r11_cat_tanh"]
    assert r.info.status == "FAILED" and r.data.tags["failure_reason"] == "exception"
    assert "catvnoncat" in r.data.tags["error"]


def test_unreachable_server_is_a_clear_error_at_start(fresh_root: Path) -> None:
    from scratchbench.tracking import TrackingError

    cfg = compose_run(["tracking=server", "tracking.uri=http://127.0.0.1:9", "tracking.connect_timeout=2", *FAST],
                      root=REPO)
    with pytest.raises(TrackingError, match=r"http://127.0.0.1:9 is unreachable"):
        run(cfg)
    assert not (fresh_root / "mlflow.db").exists()
