"""Implementation name -> class, imported lazily (TensorFlow loads only for the Keras ones)."""

from __future__ import annotations

import importlib

from scratchbench.models.base import Implementation, InputKind

# name: (module:Class, input kind). Adding a competitor = one line here + its module + conf.
IMPLEMENTATIONS: dict[str, tuple[str, InputKind]] = {
    "numpy_mlp": ("scratchbench.models.numpy_net:NumpyMLP", "flat"),
    "numpy_cnn": ("scratchbench.models.numpy_net:NumpyCNN", "image"),
    "keras_mlp": ("scratchbench.models.keras_models:KerasMLP", "flat"),
    "keras_cnn": ("scratchbench.models.keras_models:KerasCNN", "image"),
    "sklearn_mlp": ("scratchbench.models.sklearn_mlp:SklearnMLP", "flat"),
    "pybrain": ("scratchbench.models.pybrain_net:PyBrainNet", "flat"),
}


def _check(name: str) -> tuple[str, InputKind]:
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"unknown implementation {name!r} (model.name); valid: {', '.join(IMPLEMENTATIONS)}")
    return IMPLEMENTATIONS[name]


def input_kind(name: str) -> InputKind:
    """``flat`` or ``image`` without importing the implementation."""
    return _check(name)[1]


def implementation_class(name: str) -> type[Implementation]:
    target, _ = _check(name)
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def get_implementation(name: str) -> Implementation:
    """A fresh, unbuilt instance of implementation ``name``."""
    return implementation_class(name)()
