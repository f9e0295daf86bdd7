"""MNIST IDX parser (gzip or plain) with magic-number and size checks, and its featurizer."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np

from scratchbench.data.errors import DataFormatError

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # 0x00000803 (uint8, 3 dims), 0x00000801 (uint8, 1 dim)


def read_idx(path: str | Path, expect_magic: int | None = None) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (``.gz`` transparently); check magic and length."""
    path = Path(path)
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataFormatError(f"{path}: cannot read IDX data ({e})") from e
    if len(raw) < 4:
        raise DataFormatError(f"{path}: file too short for an IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    zero, dtype_code, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if expect_magic is not None and magic != expect_magic:
        raise DataFormatError(f"{path}: bad IDX magic number {magic}, expected {expect_magic}")
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 4:
        raise DataFormatError(f"{path}: bad IDX magic number {magic} (only unsigned-byte IDX with 1-4 dims supported)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFormatError(f"{path}: IDX header truncated ({len(raw)} bytes, need {header})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataFormatError(f"{path}: IDX size mismatch: header says {dims} -> {expected} bytes, file has {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_split(raw_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N,28,28,1) uint8 and labels (N,) int64 of ``train`` or ``test``."""
    img_path, lab_path = raw_dir / FILES[f"{split}_images"], raw_dir / FILES[f"{split}_labels"]
    images = read_idx(img_path, IMAGES_MAGIC)
    labels = read_idx(lab_path, LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataFormatError(f"{img_path}: expected images of shape (N, 28, 28), got {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataFormatError(f"{lab_path}: {labels.shape} labels for {len(images)} images in {img_path.name}")
    if labels.max(initial=0) > 9:
        raise DataFormatError(f"{lab_path}: label {int(labels.max())} outside 0-9")
    return images[..., None].copy(), labels.astype(np.int64)


def featurize(raw_dir: Path, params: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """MNIST features = the uint8 images (N,28,28,1); scaling is a model-side option."""
    if params:
        raise ValueError(f"featurize.mnist takes no options, got {sorted(params)}")
    x_tr, y_tr = load_split(raw_dir, "train")
    x_te, y_te = load_split(raw_dir, "test")
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
              "class_names": np.array([str(i) for i in range(10)])}
    return arrays, {"scaling": "none (uint8 0-255; models scale, see model.input_scaling)"}
