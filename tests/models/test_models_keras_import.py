"""Keras is imported without the optional extras this project never uses through it, and they import
normally afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CODE = """
import sys
from scratchbench.models import keras_models
from scratchbench.models.keras_import import UNUSED_EXTRAS
loaded = [m for m in UNUSED_EXTRAS if m in sys.modules]
import matplotlib.pyplot, pandas, sklearn.neural_network  # afterwards: importable as ever
impl = keras_models.KerasMLP()
print(loaded, matplotlib.pyplot.__name__, pandas.__name__, sklearn.neural_network.__name__, impl.name)
"""


def test_keras_loads_without_pyplot_pandas_and_sklearn_which_import_normally_afterwards():
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.split()[0] == "[]", p.stdout
    assert "matplotlib.pyplot pandas sklearn.neural_network keras_mlp" in p.stdout


BUDGET = """
from scratchbench.models import keras_models
from models_helpers import make_cfg, spec_for
import numpy as np
import tensorflow as tf
x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
impl = keras_models.KerasMLP()
impl.build(make_cfg(model={"layers": [{"units": 3, "activation": "softmax"}]}), spec_for(x, 3))
print(tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())
"""


def test_tensorflow_keeps_to_the_thread_budget_a_launcher_set():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", BUDGET], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.split()[-2:] == ["1", "1"], p.stdout
