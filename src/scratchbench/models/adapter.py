"""Feature files -> model inputs: reshape (flat/image), scaling, optional training-sample cap.

One-hot encoding is each implementation's business (``scratch.targets.encode_labels``). Scaling
(``model.input_scaling``):

- ``none``: values as stored (cast to ``model.dtype``);
- ``unit``: uint8 -> ``x / 255``; float features are taken as already scaled;
- ``r5``: ``x / 255 * 0.99 + 0.01`` for uint8, ``x * 0.99 + 0.01`` for floats in [0, 1].

The cap (``train.max_train_samples``) keeps a seeded subset (``default_rng([seed, 2])``,
original order preserved); what was kept is returned in ``info`` so it is recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from scratchbench.models.base import DataSpec, InputKind, Split

SCALINGS = ("none", "unit", "r5")
DTYPES = ("float32", "float64")


@dataclass
class Prepared:
    """Adapted train/test splits plus what the adapter did (to record with the run)."""

    spec: DataSpec
    train: Split
    test: Split
    info: dict[str, Any] = field(default_factory=dict)


def _infer_image_shape(n: int) -> tuple[int, int, int] | None:
    for c in (1, 3):
        if n % c == 0:
            side = math.isqrt(n // c)
            if side * side * c == n:
                return (side, side, c)
    return None


def data_spec(fs: Any) -> DataSpec:
    """``DataSpec`` of a ``FeatureSet`` (image shape from ``images_*`` or a square flat size)."""
    shape = tuple(int(d) for d in fs.x_train.shape[1:])
    if len(shape) == 3:
        image = shape
    elif getattr(fs, "images_train", None) is not None and int(np.prod(fs.images_train.shape[1:])) == int(np.prod(shape)):
        image = tuple(int(d) for d in fs.images_train.shape[1:])
    else:
        image = _infer_image_shape(int(np.prod(shape))) if len(shape) == 1 else None
    return DataSpec(
        dataset=fs.dataset,
        input_shape=shape,
        n_classes=len(fs.class_names),
        class_names=tuple(fs.class_names),
        image_shape=image,
    )


def model_input_shape(spec: DataSpec, input_kind: InputKind) -> tuple[int, ...]:
    """Per-sample shape an implementation of ``input_kind`` receives for this data."""
    if input_kind == "flat":
        return (int(np.prod(spec.input_shape)),)
    if input_kind == "image":
        if spec.image_shape is None:
            raise ValueError(
                f"dataset {spec.dataset!r}: features of shape {spec.input_shape} cannot be viewed as "
                f"images (H, W, C); an image model (numpy_cnn/keras_cnn) cannot take them — use a flat "
                f"implementation (numpy_mlp, keras_mlp, sklearn_mlp, pybrain)"
            )
        return tuple(spec.image_shape)
    raise ValueError(f"input_kind {input_kind!r} unknown; valid: ['flat', 'image']")


def scale(x: np.ndarray, scaling: str, dtype: str = "float32") -> np.ndarray:
    """Apply ``model.input_scaling`` and cast to ``model.dtype``."""
    if scaling not in SCALINGS:
        raise ValueError(f"model.input_scaling={scaling!r} unknown; valid: {list(SCALINGS)}")
    if dtype not in DTYPES:
        raise ValueError(f"model.dtype={dtype!r} unknown; valid: {list(DTYPES)}")
    is_int = np.issubdtype(x.dtype, np.integer)
    out = x.astype(dtype)
    if scaling == "unit" and is_int:
        out /= 255.0
    elif scaling == "r5":
        if is_int:
            out /= 255.0
        out *= 0.99
        out += 0.01
    return out


def adapt_x(x: np.ndarray, spec: DataSpec, input_kind: InputKind, scaling: str = "none", dtype: str = "float32") -> np.ndarray:
    """Reshape a batch of stored features to the implementation's input shape, then scale."""
    shape = model_input_shape(spec, input_kind)
    x = np.asarray(x)
    if int(np.prod(x.shape[1:])) != int(np.prod(shape)):
        raise ValueError(f"inputs of per-sample shape {x.shape[1:]} do not match the data's {spec.input_shape}")
    return scale(x.reshape((len(x),) + shape), scaling, dtype)


def cap_indices(n: int, cap: int | None, seed: int) -> np.ndarray | None:
    """Sorted seeded subset of ``range(n)`` of size ``cap`` (``None`` when no cap applies)."""
    if cap is None:
        return None
    cap = int(cap)
    if cap <= 0:
        raise ValueError(f"train.max_train_samples must be a positive integer or null, got {cap}")
    if cap >= n:
        return None
    return np.sort(np.random.default_rng([int(seed), 2]).permutation(n)[:cap])


def prepare(fs: Any, input_kind: InputKind, cfg: Mapping[str, Any]) -> Prepared:
    """Adapt a ``FeatureSet`` for an implementation of ``input_kind`` under run config ``cfg``."""
    model = dict(cfg.get("model") or {})
    train_cfg = dict(cfg.get("train") or {})
    spec = data_spec(fs)
    scaling = str(model.get("input_scaling", "none") or "none")
    dtype = str(model.get("dtype", "float32") or "float32")
    x_train, y_train = fs.x_train, fs.y_train
    available = len(x_train)
    idx = cap_indices(available, train_cfg.get("max_train_samples"), int(cfg.get("seed", 0)))
    if idx is not None:
        x_train, y_train = x_train[idx], y_train[idx]
    train = Split(adapt_x(x_train, spec, input_kind, scaling, dtype), np.asarray(y_train, dtype=np.int64))
    test = Split(adapt_x(fs.x_test, spec, input_kind, scaling, dtype), np.asarray(fs.y_test, dtype=np.int64))
    info = {
        "input_kind": input_kind,
        "model_input_shape": list(model_input_shape(spec, input_kind)),
        "input_scaling": scaling,
        "dtype": dtype,
        "train_samples": int(len(train.y)),
        "train_samples_available": int(available),
        "max_train_samples": None if train_cfg.get("max_train_samples") is None else int(train_cfg["max_train_samples"]),
        "train_capped": idx is not None,
        "test_samples": int(len(test.y)),
    }
    return Prepared(spec=spec, train=train, test=test, info=info)
