"""deeplearning.ai cat vs non-cat HDF5 loader (checks keys and shapes) and its featurizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scratchbench.data.errors import DataFormatError

FILES = {"train": "train_catvnoncat.h5", "test": "test_catvnoncat.h5"}
IMAGE_SHAPE = (64, 64, 3)


def load_split(raw_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (N,64,64,3) uint8, labels (N,) int64 and class names of ``train`` or ``test``."""
    import h5py

    path = raw_dir / FILES[split]
    x_key, y_key = f"{split}_set_x", f"{split}_set_y"
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable HDF5 file ({e})") from e
    with f:
        missing = [k for k in (x_key, y_key, "list_classes") if k not in f]
        if missing:
            raise DataFormatError(f"{path}: missing HDF5 key(s) {missing}; found {sorted(f.keys())}")
        x, y = np.asarray(f[x_key]), np.asarray(f[y_key])
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in np.asarray(f["list_classes"])]
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        raise DataFormatError(f"{path}: {x_key} has shape {x.shape}, expected (N, 64, 64, 3)")
    if x.dtype != np.uint8:
        raise DataFormatError(f"{path}: {x_key} has dtype {x.dtype}, expected uint8")
    if y.shape != (len(x),):
        raise DataFormatError(f"{path}: {y_key} has shape {y.shape}, expected ({len(x)},)")
    if len(classes) != 2 or not set(np.unique(y)) <= {0, 1}:
        raise DataFormatError(f"{path}: expected 2 classes and 0/1 labels, "
                              f"got classes {classes}, labels {np.unique(y)}")
    return x, y.astype(np.int64), classes


def featurize(raw_dir: Path, params: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Flatten to 12288 float32 features / 255 (R9, R11); keep the uint8 images."""
    if params:
        raise ValueError(f"featurize.catvnoncat takes no options, got {sorted(params)}")
    x_tr, y_tr, classes = load_split(raw_dir, "train")
    x_te, y_te, classes_te = load_split(raw_dir, "test")
    if classes != classes_te:
        raise DataFormatError(f"{raw_dir}: train classes {classes} differ from test classes {classes_te}")
    flat = lambda a: (a.reshape(len(a), -1).astype(np.float32) / np.float32(255.0))  # noqa: E731
    arrays = {"x_train": flat(x_tr), "y_train": y_tr, "x_test": flat(x_te), "y_test": y_te,
              "class_names": np.array(classes), "images_train": x_tr, "images_test": x_te}
    return arrays, {"scaling": "x.reshape(N, -1) / 255 (row-major over H, W, C)"}
