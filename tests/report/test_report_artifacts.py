"""Runs that carry ``predictions.npz``: the report loads no model (no framework import) and draws the same figures
as from the models themselves (a store recorded before the artifact existed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scratchbench.report.build import build_report
from scratchbench.tracking.names import ARTIFACT_PREDICTIONS

HEAVY = ("tensorflow", "keras", "sklearn", "pybrain3")
BUILD = """
import json, sys
from pathlib import Path
from scratchbench.report.build import build_report
report = build_report(Path(sys.argv[1]), sys.argv[2])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r} or m == "scratchbench.predict")
print(json.dumps({{"figures": [f.path.name for f in report.figures], "loaded": loaded}}))
"""


def test_report_from_artifacts_loads_no_model_and_draws_the_same_figures(in_store, tmp_path):
    store = in_store
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(store.root), "MLFLOW_TRACKING_URI": store.uri}
    proc = subprocess.run([sys.executable, "-c", BUILD.format(heavy=HEAVY), str(tmp_path / "a"), store.uri],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fast = json.loads(proc.stdout.strip().splitlines()[-1])
    assert fast["loaded"] == [], "the report loaded a model although every run has its predictions"

    saved = sorted((store.root / "mlartifacts").rglob(ARTIFACT_PREDICTIONS))
    assert len(saved) >= 5  # every training run of the store (r8 trains nothing)
    hidden = [p.rename(p.with_name(p.name + ".hidden")) for p in saved]  # a store from before the artifact
    try:
        old = build_report(tmp_path / "b", store.uri)
    finally:
        for p in hidden:
            p.rename(p.with_name(ARTIFACT_PREDICTIONS))
    assert fast["figures"] == [f.path.name for f in old.figures]
    assert "r10_decision_boundaries.png" in fast["figures"]
    assert any(n.startswith("confusion_") for n in fast["figures"])
    for name in fast["figures"]:  # the same data drawn: the same pixels
        a, b = tmp_path / "a" / "figures" / name, tmp_path / "b" / "figures" / name
        assert a.read_bytes() == b.read_bytes(), f"{name} differs between the artifact and the loaded model"


def test_report_loads_the_model_for_a_run_without_the_artifact(in_store):
    """Only the runs lacking the artifact fall back to their saved model (older stores)."""
    from scratchbench.report.collect import load_runs
    from scratchbench.report.predictions import run_predictions

    (run,) = [r for r in load_runs(in_store.uri) if r.run_id == in_store.runs["moons_sklearn"]]
    with_artifact = run_predictions(run, in_store.uri, boundary=True)
    (path,) = Path(run.artifact_uri.removeprefix("file://")).glob(ARTIFACT_PREDICTIONS)
    path.rename(path.with_name("hidden"))
    try:
        from_model = run_predictions(run, in_store.uri, boundary=True)
    finally:
        path.with_name("hidden").rename(path)
    assert with_artifact.model is None and from_model.model is not None
    for key in ("y_true", "y_pred"):
        assert (getattr(with_artifact, key) == getattr(from_model, key)).all(), key
    for key in ("extent", "p_grid", "p_points"):
        assert (getattr(with_artifact.boundary, key) == getattr(from_model.boundary, key)).all(), key
