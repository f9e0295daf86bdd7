"""numpy_cnn runs its conv layers on one worker per core with a one-thread BLAS, and says so."""

from __future__ import annotations

import os

import numpy as np
from models_helpers import make_cfg

from scratchbench.models.base import DataSpec, Split
from scratchbench.models.registry import get_implementation
from scratchbench.scratch import conv


def test_numpy_cnn_uses_conv_workers_and_records_them():
    rng = np.random.default_rng(0)
    x = rng.random((40, 6, 6, 1), dtype=np.float32)
    y = (x[:, :3].mean(axis=(1, 2, 3)) > x[:, 3:].mean(axis=(1, 2, 3))).astype(np.int64)
    spec = DataSpec("tiny", (6, 6, 1), 2, ("a", "b"), (6, 6, 1))
    cfg = make_cfg(model={"layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
                                     {"type": "flatten"}, {"units": 2, "activation": "softmax"}]},
                   train={"epochs": 2, "batch_size": 8})
    impl = get_implementation("numpy_cnn")
    impl.build(cfg, spec)
    conv.set_workers(1)
    hist = impl.fit(Split(x, y), Split(x, y))
    cores = len(os.sched_getaffinity(0))
    assert conv.workers() == cores and len(hist) == 2
    assert impl.threads() == {"conv_workers": cores, "blas_per_worker": 1}
    assert impl.predict_proba(x).shape == (40, 2)
