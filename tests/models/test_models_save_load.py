"""Every implementation's saved model comes back from a real MLflow run through ``Implementation.load``.

Each of the six trains a tiny model, saves it and logs it to a run the way ``runner.py`` does
(``TrackedRun.log_artifact(impl.save(...), "model")``, SQLite store in a tmp dir), the artifact
is downloaded back, loaded by the class's ``load`` and must predict the same probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from models_helpers import blobs, make_cfg, spec_for, split

from scratchbench.models.registry import get_implementation, implementation_class
from scratchbench.tracking import names
from scratchbench.tracking.run import TrackedRun
from scratchbench.tracking.store import init_store

pytestmark = pytest.mark.integration  # TensorFlow and PyBrain start-up, six MLflow runs

IMAGE_LAYERS = [{"type": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu"},
                {"type": "flatten"}, {"type": "dense", "units": 2, "activation": "softmax"}]
DENSE_SIGMOID = [{"type": "dense", "units": 5, "activation": "tanh"},
                 {"type": "dense", "units": 1, "activation": "sigmoid"}]


def data(image: bool):
    if image:
        rng = np.random.default_rng(0)
        y = np.arange(40) % 2
        x = (rng.random((40, 6, 6, 1)) + y[:, None, None, None] * 0.5).astype(np.float32)
        train, test = split(x, y, 30)
        return spec_for(x, 2, image_shape=(6, 6, 1)), train, test
    x, y = blobs(n=60, n_classes=2, seed=4)
    train, test = split(x, y, 45)
    return spec_for(x, 2), train, test


@pytest.mark.parametrize("name", ["numpy_mlp", "numpy_cnn", "keras_mlp", "keras_cnn", "sklearn_mlp", "pybrain"])
def test_a_model_logged_to_mlflow_loads_back_and_predicts_the_same(name, tmp_path):
    image = name.endswith("_cnn")
    spec, train, test = data(image)
    layers = IMAGE_LAYERS if image else DENSE_SIGMOID  # one sigmoid unit: two-column probabilities after load too
    dtype = "float64" if name.startswith("numpy") else "float32"
    cfg = make_cfg(model={"name": name, "layers": layers, "loss": "binary_crossentropy" if not image else
                          "categorical_crossentropy", "dtype": dtype}, train={"epochs": 2, "batch_size": 8})
    impl = get_implementation(name)
    impl.build(cfg, spec)
    impl.fit(train)
    before = np.asarray(impl.predict_proba(test.x), dtype=np.float64)
    assert before.shape == (len(test.x), 2)

    client = init_store(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = TrackedRun(client, "save-load", name)
    run.log_artifact(impl.save(tmp_path / "work" / "model"), names.ARTIFACT_MODEL_DIR)
    run.end("FINISHED")
    model_dir = Path(client.download_artifacts(run.run_id, names.ARTIFACT_MODEL_DIR, str(tmp_path / "down")))
    (saved,) = [p for p in model_dir.iterdir() if p.is_file()]

    loaded = implementation_class(name).load(saved)
    after = np.asarray(loaded.predict_proba(test.x), dtype=np.float64)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-12 if name.startswith("numpy") else 1e-6)
    assert not np.allclose(before, before[:1])  # the model distinguishes inputs: a real comparison
