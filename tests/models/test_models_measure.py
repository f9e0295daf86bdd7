"""The measurement harness returns sane numbers for any implementation."""

from __future__ import annotations

import time

import numpy as np
from models_helpers import make_cfg

from scratchbench.models.measure import PeakRSS, measure
from scratchbench.models.registry import get_implementation


def test_peak_rss_sees_an_allocation():
    with PeakRSS(interval=0.002) as before:
        time.sleep(0.01)
    with PeakRSS(interval=0.002) as peak:
        block = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB, touched
        time.sleep(0.05)
        del block
    assert before.peak_mb > 0
    assert peak.peak_mb > before.peak_mb + 32


def test_measure_sklearn(three_blobs):
    spec, train, test = three_blobs
    impl = get_implementation("sklearn_mlp")
    impl.build(make_cfg(train={"epochs": 3}), spec)
    seen = []
    res = measure(impl, train, test, val=test, on_epoch=seen.append)
    assert len(res.history) == 3 and seen == res.history
    assert res.fit_seconds > 0 and all(s > 0 for s in res.epoch_seconds)
    assert res.fit_seconds >= sum(res.epoch_seconds)
    assert res.inference_samples_per_second > 0 and res.peak_memory_mb > 0
    assert res.peak_memory_mb >= res.start_memory_mb * 0.5
    assert res.test_accuracy == np.mean(impl.predict(test.x) == test.y)
    m = res.metrics()
    assert set(m) == {"test_accuracy", "fit_seconds", "inference_samples_per_second", "peak_memory_mb", "n_params",
                      "train_samples"}
    assert m["train_samples"] == len(train.y) and m["n_params"] == impl.n_params()
    assert res.threads and all(v >= 1 for v in res.threads.values())
