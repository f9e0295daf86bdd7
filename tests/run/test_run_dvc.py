"""`dvc repro` / `dvc exp run -S` on the train stages, in a temp clone with a tiny matrix (real dvc, real git)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from run_helpers import REPO, all_runs, client_for, clone_with_matrix, dvc_ran as _ran, sh as _sh

TINY_MATRIX = """# @package _global_
train_matrix:
  r1_single_neuron-numpy_mlp: {experiment: r1_single_neuron, model: numpy_mlp, dataset: r1_table}
  r10_moons-sklearn_mlp: {experiment: r10_moons, model: sklearn_mlp, dataset: moons}
  r10_moons-numpy_mlp: {experiment: r10_moons, model: numpy_mlp, dataset: moons}
train_pipeline: {workers: 2, blas_threads: 1, record: spool}
"""


@pytest.mark.integration
def test_dvc_repro_skips_second_time_and_exp_run_reruns_only_affected(tmp_path: Path, template_store: Path) -> None:
    repo, env = clone_with_matrix(tmp_path, TINY_MATRIX, template_store)  # committed, as `dvc exp run` needs

    first = _sh(["dvc", "repro", "record", "experiment"], repo, env)
    assert {"train-r1_single_neuron", "train-r10_moons", "record", "experiment"} <= _ran(first)
    metrics = json.loads(_sh(["dvc", "metrics", "show", "--json"], repo, env, stdout_only=True))
    flat = json.dumps(metrics)
    assert "reports/runs/r10_moons-sklearn_mlp/metrics.json" in flat and "test_accuracy" in flat
    r1 = json.loads((repo / "reports/runs/r1_single_neuron-numpy_mlp/metrics.json").read_text())
    assert 0.5 < r1["new_input_prediction"] <= 1.0
    runs = all_runs(client_for(repo))
    assert len(runs) == 4 and all(r.data.tags["launcher"] == "dvc" and r.info.status == "FINISHED" for r in runs)
    assert sorted(r.data.tags["dvc_stage"] for r in runs) == ["experiment", "train-r10_moons", "train-r10_moons",
                                                              "train-r1_single_neuron"]
    assert sum("spool_id" in r.data.tags for r in runs) == 3  # the matrix runs came through the record stage
    recorded = json.loads((repo / "reports" / "recorded.json").read_text())
    assert sorted(v["action"] for v in recorded.values()) == ["recorded"] * 3
    r10 = [r for r in runs if r.data.tags["dvc_stage"] == "train-r10_moons"]
    assert {r.data.tags["threads.blas_fit"] for r in r10 if "threads.blas_fit" in r.data.tags} <= {"1"}  # side by side

    second = _sh(["dvc", "repro", "record", "experiment"], repo, env)
    assert _ran(second) == set() and "didn't change, skipping" in second

    # one preset's or one implementation's conf changed: only the stage running it is out of date
    for conf, stage in (("conf/experiment/r1_single_neuron.yaml", "train-r1_single_neuron"),
                        ("conf/model/sklearn_mlp.yaml", "train-r10_moons")):
        before = (repo / conf).read_text()
        (repo / conf).write_text(before + "\n# touched\n")
        status = json.loads(_sh(["dvc", "status", "record", "--with-deps", "--json"], repo, env, stdout_only=True))
        assert set(status) == {stage}, (conf, status)
        (repo / conf).write_text(before)

    _sh(["git", "add", "-A"], repo, env)
    _sh(["git", "commit", "-qm", "lock"], repo, env)
    third = _sh(["dvc", "exp", "run", "record", "experiment", "-S", "optimizer.learning_rate=0.05"], repo, env)
    assert _ran(third) == {"experiment"}, third
    assert "learning_rate: 0.05" in (repo / "params.yaml").read_text()
    current = [r for r in all_runs(client_for(repo)) if r.data.tags.get("dvc_stage") == "experiment"]
    assert sorted(r.data.params["optimizer.learning_rate"] for r in current) == ["0.01", "0.05"]


@pytest.mark.integration
def test_bench_pipeline_times_stages_and_runs_of_a_fresh_clone(tmp_path: Path) -> None:
    """`python -m scratchbench.bench pipeline --stages`: clone, dvc repro, a table per stage from the store."""
    out = tmp_path / "pipeline.json"
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("SCRATCHBENCH_ROOT", None)
    _sh([sys.executable, "-m", "scratchbench.bench", "pipeline", "--rev", "HEAD", "--stages", "train-r1_single_neuron",
         "experiment", "--repo", str(REPO), "--out", str(out)], tmp_path, env, timeout=600)
    res = json.loads(out.read_text())
    assert res["cpu"]["family"] and res["nproc"] >= 1
    (rev,) = res["revs"]
    assert rev["exit_code"] == 0 and len(rev["commit"]) == 40
    stages = {s["stage"]: s for s in rev["stages"]}
    assert stages["train-r1_single_neuron"]["runs"] == 0  # spooled: in the store only after `record`
    row = stages["experiment"]  # a direct run: timed from its process start
    assert row["runs"] == 1 and row["wall_seconds"] > row["fit_seconds"] > 0
    assert 0 < row["before_open_seconds"] < row["wall_seconds"] and row["overhead_seconds"] >= 0
    (run,) = rev["runs"]  # what its process read from disk before the run opened (cold imports show here)
    assert run["disk_read_mib_before_open"] >= 0 and run["major_faults_before_open"] >= 0
    assert rev["totals"]["runs"] == 1 and rev["wall_seconds"] >= sum(s["wall_seconds"] for s in rev["stages"]) - 1e-6
