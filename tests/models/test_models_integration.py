"""Every implementation on real features made from the dataset mirror (cat vs non-cat: small)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from scratchbench.models import adapter
from scratchbench.models.measure import measure
from scratchbench.models.registry import get_implementation, input_kind

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def catvnoncat(tmp_path_factory):
    mirror = os.environ.get("SCRATCHBENCH_DATA_MIRROR", "")
    if not mirror or not Path(mirror).is_dir():
        pytest.skip("SCRATCHBENCH_DATA_MIRROR is not set to a local dataset folder")
    from scratchbench.data.features import load_features
    from scratchbench.data.featurize import featurize_dataset
    from scratchbench.data.fetch import fetch_dataset

    root = tmp_path_factory.mktemp("cat")
    fetch_dataset("catvnoncat", mirror=mirror, dest_dir=root / "raw", upstream=False)
    out = featurize_dataset("catvnoncat", raw_dir=root / "raw", out_dir=root / "features" / "catvnoncat")
    return load_features("catvnoncat", root=out)


def _cfg(name, **model):
    return {
        "seed": 1,
        "model": {"name": name, "loss": "binary_crossentropy", "input_scaling": "unit", "dtype": "float32",
                  "init": {"name": "randn", "scale": 0.01}, **model},
        "optimizer": {"name": "adam", "learning_rate": 0.001},
        "train": {"epochs": 2, "batch_size": 32, "shuffle": True, "max_train_samples": None},
    }


def test_flat_and_image_views_agree(catvnoncat):
    flat = adapter.prepare(catvnoncat, "flat", _cfg("x"))
    img = adapter.prepare(catvnoncat, "image", _cfg("x"))
    assert flat.train.x.shape == (209, 12288) and img.train.x.shape == (209, 64, 64, 3)
    np.testing.assert_allclose(img.train.x, catvnoncat.images_train / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(flat.train.x, img.train.x.reshape(209, -1))


def test_cnn_twins_on_real_images(catvnoncat):
    layers = [{"type": "conv2d", "filters": 4, "kernel_size": 3, "strides": 2, "activation": "relu"},
              {"type": "maxpool2d", "pool_size": 2}, {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]
    hist = {}
    for name in ("numpy_cnn", "keras_cnn"):
        cfg = _cfg(name, layers=layers, init={"name": "glorot_uniform"})
        prep = adapter.prepare(catvnoncat, input_kind(name), cfg)
        impl = get_implementation(name)
        impl.build(cfg, prep.spec)
        res = measure(impl, prep.train, prep.test, val=prep.test)
        assert res.test_samples == 50 and res.inference_samples_per_second > 0 and res.peak_memory_mb > 0
        hist[name] = [h.loss for h in res.history]
    np.testing.assert_allclose(hist["keras_cnn"], hist["numpy_cnn"], rtol=1e-4)


@pytest.mark.parametrize("name", ["numpy_mlp", "keras_mlp", "sklearn_mlp", "pybrain"])
def test_dense_implementations_learn_on_real_cats(catvnoncat, name):
    cfg = _cfg(name, layers_dims=[12288, 7, 1], hidden_activation="relu", output_activation="sigmoid")
    cfg["train"].update(epochs=8, batch_size=16)
    if name == "pybrain":  # ~ per-sample pure Python: capped, and the cap is recorded
        cfg["optimizer"] = {"name": "sgd", "learning_rate": 0.01}
        cfg["train"].update(max_train_samples=60, epochs=3)
    prep = adapter.prepare(catvnoncat, input_kind(name), cfg)
    impl = get_implementation(name)
    impl.build(cfg, prep.spec)
    res = measure(impl, prep.train, prep.test, val=prep.test)
    assert res.train_samples == prep.info["train_samples"] == (60 if name == "pybrain" else 209)
    assert prep.info["train_capped"] is (name == "pybrain")
    losses = [h.loss for h in res.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert 0.0 <= res.test_accuracy <= 1.0 and res.n_params == 12288 * 7 + 7 + 7 + 1
