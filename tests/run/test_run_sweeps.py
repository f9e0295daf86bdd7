"""Hydra --multirun through real launchers: one parent MLflow run, every child nested and complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchbench.tracking.names import EPOCH_METRICS, FINAL_METRICS, TAG_PARENT

from run_helpers import FAST, all_runs, client_for, train_cli


def _check_sweep(root: Path, n_jobs: int) -> tuple[object, list]:
    runs = all_runs(client_for(root))
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    assert len(parents) == 1, [r.info.run_name for r in runs]
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get(TAG_PARENT) == parent.info.run_id]
    assert len(children) == n_jobs and len(runs) == n_jobs + 1
    assert parent.info.status == "FINISHED" and parent.data.metrics["children"] == n_jobs
    return parent, children


@pytest.mark.integration
def test_joblib_two_workers_six_jobs_on_a_fresh_store(fresh_root: Path) -> None:
    """Two processes log into a store that did not exist: the parent initialises it first (no lost runs)."""
    assert not (fresh_root / "mlflow.db").exists()
    train_cli(fresh_root, "--multirun", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
              "model=numpy_mlp,sklearn_mlp", "seed=1,2,3", "train.epochs=4", "profile=full", timeout=400)
    _, children = _check_sweep(fresh_root, 6)
    client = client_for(fresh_root)
    assert {(c.data.tags["implementation"], c.data.tags["seed"]) for c in children} == {
        (m, s) for m in ("numpy_mlp", "sklearn_mlp") for s in ("1", "2", "3")}
    for c in children:
        assert c.info.status == "FINISHED"
        assert set(FINAL_METRICS) <= set(c.data.metrics)
        for key in EPOCH_METRICS:
            assert len(client.get_metric_history(c.info.run_id, key)) == 4, (c.info.run_name, key)
    assert len({c.info.run_name for c in children}) == 6  # readable and distinct (…-job<N>)


@pytest.mark.integration
def test_submitit_local_sweep_nests_children(tiny_root: Path) -> None:
    train_cli(tiny_root, "--multirun", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
              "seed=1,2", *FAST, timeout=400)
    _, children = _check_sweep(tiny_root, 2)
    assert all(c.info.status == "FINISHED" and "test_accuracy" in c.data.metrics for c in children)


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(tiny_root: Path) -> None:
    """Job 0 has no feature file (exception), job 1 hits a NaN loss, job 2 is fine: all three recorded."""
    proc = train_cli(tiny_root, "--multirun", "experiment=r11_cat_tanh,r4_xor,r1_single_neuron", "model=numpy_mlp",
                     *FAST, timeout=300)
    assert proc.returncode == 0
    parent, children = _check_sweep(tiny_root, 3)
    status = {c.data.tags["experiment"]: c.info.status for c in children}
    assert status == {"r11_cat_tanh": "FAILED", "r4_xor": "FAILED", "r1_single_neuron": "FINISHED"}
    assert parent.data.metrics["children_failed"] == 2


@pytest.mark.integration
def test_joblib_workers_keep_to_their_share_of_the_cores(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two joblib workers on two cores: a numpy_mlp run with a big step takes one BLAS thread each, not every core."""
    import json

    from scratchbench.threads import THREAD_VARS, affinity_cores

    if affinity_cores() < 2:
        pytest.skip("one core: every run has one thread anyway")
    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    big = ["model.layers=null", "model.layers_dims=[2,400,400,1]", *FAST]  # 160k MACs x 180 rows: above SMALL_STEP_MACS
    train_cli(tiny_root, "--multirun", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2", *big,
              timeout=400)
    train_cli(tiny_root, "--multirun", "seed=3", *big)
    threads = {c.data.tags["seed"]: json.loads(c.data.tags["threads"]) for c in all_runs(client_for(tiny_root))
               if c.data.tags.get("sweep") == "child"}
    assert threads["1"]["blas_fit"] == threads["2"]["blas_fit"] == 1  # loky gives each worker cores // n_jobs
    assert threads["3"]["blas_fit"] == affinity_cores()  # the basic launcher runs one job at a time: every core
