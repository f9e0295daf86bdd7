"""numpy_mlp picks its BLAS threads from the step size: one for small mini-batches, every core for big ones."""

from __future__ import annotations

import numpy as np
import pytest
from models_helpers import make_cfg, spec_for
from threadpoolctl import threadpool_info

from scratchbench.models.base import Split
from scratchbench.models.numpy_net import SMALL_STEP_MACS, cores, dense_blas_threads
from scratchbench.models.registry import get_implementation


def test_rule_switches_at_the_measured_step_size():
    assert dense_blas_threads(79_400, 32, available=2) == 1  # MNIST 784-100-10 at batch 32
    assert dense_blas_threads(79_400, 128, available=2) == 2
    assert dense_blas_threads(1, SMALL_STEP_MACS - 1, available=8) == 1
    assert dense_blas_threads(1, SMALL_STEP_MACS, available=8) == 8
    assert dense_blas_threads(10**9, 1) == cores()


def _blas_threads_now() -> set[int]:
    return {int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"}


@pytest.mark.parametrize(("batch", "expected"), [(16, 1), (None, "cores")])
def test_fit_runs_under_the_chosen_blas_threads_and_records_them(batch, expected):
    rng = np.random.default_rng(0)
    x = rng.random((256, 784), dtype=np.float32)  # 784-100-2: 78,600 MACs a sample
    y = (x[:, :392].sum(axis=1) > x[:, 392:].sum(axis=1)).astype(np.int64)
    cfg = make_cfg(model={"layers": [{"units": 100, "activation": "sigmoid"}, {"units": 2, "activation": "softmax"}]},
                   train={"epochs": 2, "batch_size": batch})
    impl = get_implementation("numpy_mlp")
    impl.build(cfg, spec_for(x, 2))
    seen: list[set[int]] = []
    impl.fit(Split(x, y), on_epoch=lambda rec: seen.append(_blas_threads_now()))
    want = cores() if expected == "cores" else expected
    assert seen == [{want}, {want}]
    assert impl.threads()["blas_fit"] == want
    impl.predict_proba(x[:4])  # 4 rows: a small step
    assert impl.threads() == {"blas_fit": want, "blas_predict": 1}
    assert _blas_threads_now() != {1} or cores() == 1  # the limit is lifted again afterwards

