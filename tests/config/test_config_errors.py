"""A user's config mistake is one line ``error: ...`` naming the option and the valid choices, exit 2.

Real entry points in subprocesses (train, a --multirun sweep, predict, report), an empty SQLite
store in a tmp dir: nothing is trained, because every check runs before any work starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BAD_LAYERS = "model.layers=[{type:dense,units:4,activation:reluu},{type:dense,units:2,activation:softmax}]"


def run(module: str, *args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db", "HYDRA_FULL_ERROR": ""}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize(
    ("module", "args", "names"),
    [
        ("scratchbench.train", ("experiment=adhoc", BAD_LAYERS),
         ("model.layers[0].activation", "reluu", "relu, leaky_relu")),
        ("scratchbench.train", ("experiment=r99",), ("experiment/r99", "r10_moons", "r9_cat_relu")),
        ("scratchbench.train", ("--multirun", "experiment=adhoc", "model.hidden_activation=relu,reluu",
                                "hydra.sweep.dir=sweep"), ("model.hidden_activation", "reluu", "tanh_sigmoid_grad")),
        ("scratchbench.train", ("--multirun", "experiment=adhoc,r99", "hydra.sweep.dir=sweep"),
         ("experiment/r99", "r11_cat_tanh")),
        ("scratchbench.predict", ("--experiment", "r99", "cat.png"), ("--experiment", "r99", "r11_cat_tanh")),
        ("scratchbench.predict", ("--run", "x", "--size", "3", "cat.png"), ("--size", "--run-id", "--no-resize")),
        ("scratchbench.report", ("--implementation", "numpy_mpl"),
         ("--implementation", "numpy_mpl", "numpy_mlp, pybrain")),
        ("scratchbench.report", ("--colour",), ("--colour", "--experiment", "--no-predictions")),
    ],
    ids=["train-layer", "train-preset", "sweep-value", "sweep-preset", "predict-preset", "predict-arg",
         "report-value", "report-option"],
)
def test_a_config_mistake_is_one_line_naming_option_and_choices(module, args, names, tmp_path):
    out = run(module, *args, tmp=tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "mlflow.db").exists()  # nothing started
