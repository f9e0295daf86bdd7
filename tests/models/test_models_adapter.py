"""Adapter: features -> Split (reshape, scaling, cap, recorded)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchbench.data.features import FeatureSet
from scratchbench.models import adapter


def _fs(x_train, x_test, n_classes=2, images=None, dataset="mnist"):
    rng = np.random.default_rng(0)
    return FeatureSet(
        dataset=dataset,
        x_train=x_train,
        y_train=rng.integers(0, n_classes, len(x_train)),
        x_test=x_test,
        y_test=rng.integers(0, n_classes, len(x_test)),
        class_names=[str(i) for i in range(n_classes)],
        images_train=images,
    )


def test_unit_and_r5_scaling_of_uint8():
    x = np.array([[0, 255, 51]], dtype=np.uint8)
    np.testing.assert_allclose(adapter.scale(x, "unit"), [[0.0, 1.0, 0.2]], rtol=1e-6)
    np.testing.assert_allclose(adapter.scale(x, "r5", "float64"), [[0.01, 1.0, 0.2 * 0.99 + 0.01]])
    assert adapter.scale(x, "none").max() == 255.0
    assert adapter.scale(x, "unit", "float64").dtype == np.float64


def test_float_features_are_not_rescaled_by_unit():
    x = np.array([[0.5, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(adapter.scale(x, "unit"), x)
    np.testing.assert_allclose(adapter.scale(x, "r5"), [[0.505, 1.0]], rtol=1e-6)


def test_bad_scaling_and_dtype_name_the_option():
    x = np.zeros((1, 2), np.uint8)
    with pytest.raises(ValueError, match=r"model.input_scaling='minmax'.*\['none', 'unit', 'r5'\]"):
        adapter.scale(x, "minmax")
    with pytest.raises(ValueError, match="model.dtype='float16'"):
        adapter.scale(x, "unit", "float16")


def test_mnist_like_images_flat_and_image():
    x = np.random.default_rng(1).integers(0, 256, (10, 28, 28, 1), dtype=np.uint8)
    fs = _fs(x, x[:4], n_classes=10)
    cfg = {"seed": 0, "model": {"input_scaling": "unit", "dtype": "float32"}, "train": {}}
    flat = adapter.prepare(fs, "flat", cfg)
    img = adapter.prepare(fs, "image", cfg)
    assert flat.train.x.shape == (10, 784) and img.train.x.shape == (10, 28, 28, 1)
    np.testing.assert_allclose(flat.train.x, img.train.x.reshape(10, -1))
    assert flat.train.x.max() <= 1.0 and flat.train.x.dtype == np.float32
    assert flat.info["train_capped"] is False and flat.info["train_samples"] == 10


def test_flat_features_with_images_become_images():
    images = np.random.default_rng(2).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    flat = (images.reshape(6, -1) / 255.0).astype(np.float32)
    fs = _fs(flat, flat[:2], images=images, dataset="catvnoncat")
    spec = adapter.data_spec(fs)
    assert spec.image_shape == (4, 4, 3) and spec.input_shape == (48,)
    prep = adapter.prepare(fs, "image", {"model": {"input_scaling": "unit"}})
    np.testing.assert_allclose(prep.train.x, images / 255.0, rtol=1e-6)


def test_image_model_on_unreshapeable_features_is_a_clear_error():
    x = np.zeros((5, 102), np.float32)
    fs = _fs(x, x, n_classes=4, dataset="fruits360")
    with pytest.raises(ValueError, match=r"'fruits360'.*\(102,\).*cannot be viewed as images"):
        adapter.prepare(fs, "image", {"model": {}})


def test_cap_is_seeded_recorded_and_keeps_order():
    x = np.arange(100, dtype=np.float64).reshape(100, 1)
    fs = _fs(x, x[:5])
    cfg = {"seed": 7, "model": {}, "train": {"max_train_samples": 10}}
    a = adapter.prepare(fs, "flat", cfg)
    b = adapter.prepare(fs, "flat", cfg)
    c = adapter.prepare(fs, "flat", {**cfg, "seed": 8})
    assert a.train.x.shape == (10, 1)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.x, c.train.x)
    assert np.all(np.diff(a.train.x[:, 0]) > 0)
    np.testing.assert_array_equal(a.train.y, fs.y_train[a.train.x[:, 0].astype(int)])
    assert a.info == {**a.info, "train_samples": 10, "train_samples_available": 100, "max_train_samples": 10,
                      "train_capped": True}
    big = adapter.prepare(fs, "flat", {"model": {}, "train": {"max_train_samples": 1000}})
    assert big.info["train_samples"] == 100 and big.info["train_capped"] is False
    with pytest.raises(ValueError, match="train.max_train_samples"):
        adapter.prepare(fs, "flat", {"model": {}, "train": {"max_train_samples": 0}})
