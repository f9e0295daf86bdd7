"""Benchmarks: ``python -m scratchbench.bench mlp|cnn`` (one-epoch timings against a GEMM floor)."""

from __future__ import annotations

import os
from types import ModuleType


def keras_with_threads(threads: int) -> ModuleType:
    """Import Keras with TensorFlow's intra/inter-op thread pools set to ``threads``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TF already initialised in this process
        pass
    import keras

    return keras
