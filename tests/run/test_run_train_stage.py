"""The DVC train stage script (pipelines/train.py --preset): longest predicted run first, one BLAS and
TensorFlow thread per side-by-side worker, every entry spooled."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from run_helpers import REPO

SCRIPT = REPO / "pipelines" / "train.py"


def _stage_module():
    spec = importlib.util.spec_from_file_location("train_stage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _params(root: Path, epochs: dict[str, int], extra: tuple[str, ...] = ()) -> dict:
    """params.yaml for a moons matrix in project ``root`` (given the repo's conf/): one R10 entry per
    name, ``epochs`` full-batch iterations each, and ``extra`` overrides."""
    from scratchbench.config.compose import compose_run

    shutil.copytree(REPO / "conf", root / "conf")
    base = compose_run(["profile=quick"], root=REPO)
    matrix = {name: {"experiment": "r10_moons", "model": "numpy_mlp", "dataset": "moons",
                     "overrides": [f"train.epochs={n}", *extra]} for name, n in epochs.items()}
    return {"profile": base["profile"], "tracking": base["tracking"], "train_matrix": matrix,
            "train_pipeline": {"workers": 2, "blas_threads": 1, "record": "spool"}}


def test_longest_predicted_run_goes_first(fresh_root: Path) -> None:
    stage = _stage_module()
    params = _params(fresh_root, {"short": 10, "long": 4000, "middle": 400})
    order = [key for key, _ in stage.longest_first(list(params["train_matrix"]), params)]
    assert order == ["long", "middle", "short"]


def test_a_preset_stage_runs_every_entry_side_by_side_with_one_thread_each(fresh_root: Path) -> None:
    # 20,000 hidden units: a full-batch step over the tiny moons (~180 samples) is big enough for every core
    wide = ("model.layers=[{units:20000,activation:relu},{units:1,activation:sigmoid}]",)
    params = _params(fresh_root, {"a": 30, "b": 20, "c": 10}, wide)
    (fresh_root / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(fresh_root)}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        env.pop(var, None)
    p = subprocess.run([sys.executable, str(SCRIPT), "--preset", "r10_moons"], cwd=fresh_root, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Warning" not in p.stderr, p.stderr[-3000:]
    runs_before = []
    for key in ("a", "b", "c"):
        assert f"train {key}: run " in p.stdout
        spool = json.loads((fresh_root / "reports" / "runs" / key / "run" / "run.json").read_text())
        assert spool["status"] == "FINISHED"
        tags = spool["tags"]
        assert json.loads(tags["threads"])["blas_fit"] == 1, tags["threads"]  # not every core: side by side
        runs_before.append(tags["process_runs_before"])
    assert sorted(runs_before) == ["0", "0", "1"]  # two worker processes shared the three runs
