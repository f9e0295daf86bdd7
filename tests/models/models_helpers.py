"""Tiny made-up datasets and configs for the implementation tests (unique name: no clash with other dirs)."""

from __future__ import annotations

import copy

import numpy as np

from scratchbench.models.base import DataSpec, Split


def blobs(n: int = 240, n_classes: int = 2, n_features: int = 4, seed: int = 0, spread: float = 0.6):
    """``n_classes`` Gaussian blobs at distinct corners; returns (x float32, y int64)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-2.0, 2.0, size=(n_classes, n_features))
    y = np.arange(n) % n_classes
    x = centers[y] + spread * rng.standard_normal((n, n_features))
    return x.astype(np.float32), y.astype(np.int64)


def split(x, y, n_train):
    return Split(x[:n_train], y[:n_train]), Split(x[n_train:], y[n_train:])


def spec_for(x, n_classes, dataset="blobs", image_shape=None):
    return DataSpec(
        dataset=dataset,
        input_shape=tuple(x.shape[1:]),
        n_classes=n_classes,
        class_names=tuple(str(i) for i in range(n_classes)),
        image_shape=image_shape,
    )


BASE_CFG = {
    "seed": 3,
    "model": {
        "name": "x",
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 3, "activation": "softmax"},
        ],
        "bias": True,
        "loss": "categorical_crossentropy",
        "init": {"name": "glorot_uniform"},
        "dtype": "float32",
        "input_scaling": "none",
        "target_on": 1.0,
        "target_off": 0.0,
    },
    "optimizer": {"name": "sgd", "learning_rate": 0.1, "momentum": 0.0},
    "train": {"epochs": 5, "batch_size": 16, "shuffle": True, "max_train_samples": None,
              "early_stopping_patience": None},
}


def make_cfg(**overrides):
    """Deep copy of ``BASE_CFG`` with ``section={...}`` dicts merged in."""
    cfg = copy.deepcopy(BASE_CFG)
    for key, val in overrides.items():
        if isinstance(val, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(val)
        else:
            cfg[key] = val
    return cfg
