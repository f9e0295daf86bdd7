"""The worker harness: a competitor that cannot run is recorded, the others still are; thread counts are checked."""

from __future__ import annotations

import os

import pytest

from scratchbench.bench import harness, mlp


def test_a_competitor_that_cannot_run_is_recorded_and_the_rest_still_run():
    cfg = mlp.compose_model()
    cfg["optimizer"] = {"name": "adam", "learning_rate": 0.001}  # PyBrain has no Adam
    base = {"cfg": cfg, "batch": 32, "data": {"source": "synthetic", "samples": 64, "input": "flat", "seed": 0},
            "slice": 16}
    workers = harness.start_workers({"numpy": ("numpy", None), "pybrain": ("pybrain", None)}, 1, log=lambda _: None)
    try:
        out = harness.measure(workers, [("batch_32", base, ["numpy", "pybrain"])], 1, 3,
                              harness.make_setting_fn(True, mlp.REGISTRY),
                              log=lambda _: None)
    finally:
        harness.close_all(workers)
    assert list(out["errors"]) == ["batch_32/pybrain"] and "pybrain" in out["errors"]["batch_32/pybrain"]
    assert out["batch_32"]["numpy"]["summary"]["n"] == 3 and [o[2] for o in out["order"]] == ["numpy"] * 3
    assert all(w.proc.poll() is not None for w in workers.values())  # closed


def test_more_threads_than_cores_is_refused():
    with pytest.raises(SystemExit, match="exceeds the"):
        harness.pinned_cpus(len(os.sched_getaffinity(0)) + 1)
