"""The floor's FLOP count, recomputed from the architecture the benchmarks compose, against a hand count."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchbench.bench import cnn, mlp
from scratchbench.bench.floor import (
    LAYOUTS,
    _operands,
    gemm_flops,
    layer_gemm,
    measure_gemm_rate,
    step_shapes,
    theoretical_peak,
    training_flops_per_sample,
)
from scratchbench.models.arch import macs_per_sample
from scratchbench.scratch.architecture import normalize_layers


def test_mlp_floor_flops_match_a_hand_count():
    layers = normalize_layers(mlp.compose_model()["model"], (784,), 10)
    # per image: layer 1 (784 -> 100) forward 2*784*100 and dW 2*784*100, no input gradient (the data needs none);
    # layer 2 (100 -> 10) forward, dW and dX, 2*100*10 each
    hand = 2 * 784 * 100 + 2 * 784 * 100 + 3 * (2 * 100 * 10)
    assert hand == 319_600
    assert training_flops_per_sample(layers) == hand
    assert macs_per_sample(layers) == 784 * 100 + 100 * 10  # the architecture's count, which the floor's shapes share
    assert sum(math.prod(g) for g in map(layer_gemm, layers) if g) == macs_per_sample(layers)
    assert step_shapes(layers, 128) == [(128, 784, 100), (784, 128, 100), (128, 100, 10), (100, 128, 10),
                                        (128, 10, 100)]


def test_r7_cnn_floor_flops_match_a_hand_count():
    layers = normalize_layers(cnn.compose_model(cnn.PRESET)["model"], (28, 28, 1), 10)
    conv1 = 26 * 26 * (3 * 3 * 1) * 64  # valid positions x kernel inputs x filters = 389,376 MACs
    conv2 = 24 * 24 * (3 * 3 * 64) * 32  # only the 24x24 valid rows: 10,616,832 MACs
    dense = 24 * 24 * 32 * 10  # 184,320 MACs
    hand = 2 * (2 * conv1 + 3 * conv2 + 3 * dense)  # conv1 is first: forward and dW only
    assert (conv1, conv2, dense, hand) == (389_376, 10_616_832, 184_320, 66_364_416)
    assert training_flops_per_sample(layers) == hand
    b = 128
    assert step_shapes(layers, b) == [(b * 676, 9, 64), (9, b * 676, 64),
                                      (b * 576, 576, 32), (576, b * 576, 32), (b * 576, 32, 576),
                                      (b, 18432, 10), (18432, b, 10), (b, 10, 18432)]
    assert gemm_flops(step_shapes(layers, b)) == b * hand


def test_theoretical_peak_arithmetic():
    avx2 = theoretical_peak(["avx2", "fma"], 2500.0, 2)
    assert avx2["gflops"] == 2 * 2.5 * 2 * 8 * 2 == 160.0 and avx2["fp32_lanes"] == 8
    assert theoretical_peak(["avx2", "fma", "avx512f"], 2500.0, 2)["gflops"] == 320.0
    # Zen 3/4 (AMD family 25) split AVX-512 into two 256-bit halves: no more lanes than AVX2
    assert theoretical_peak(["avx2", "fma", "avx512f"], 2500.0, 2, "AuthenticAMD", 25)["gflops"] == 160.0
    assert theoretical_peak(["avx2", "fma", "avx512f"], 2500.0, 2, "AuthenticAMD", 26)["gflops"] == 320.0
    assert "2 FMA units (assumed)" in avx2["assumption"]


def test_gemm_rate_is_measured():
    rate = measure_gemm_rate([(64, 64, 64), (32, 128, 16)], repeats=2, min_seconds=0.02)
    assert 1e6 < rate["median"] <= rate["best"]
    assert len(rate["layouts"]) == 2 and set(rate["layouts"]) <= set(LAYOUTS)


def test_floor_operands_have_the_layout_a_training_step_passes():
    rng = np.random.default_rng(0)
    a, b, out = _operands((5, 7, 3), "tn", rng, np.float32)  # x.T @ dz: A a transposed view
    assert a.shape == (5, 7) and a.flags.f_contiguous and not a.flags.c_contiguous and b.flags.c_contiguous
    a, b, out = _operands((5, 7, 3), "nt", rng, np.float32)  # dz @ W.T: B a transposed view
    assert b.shape == (7, 3) and b.flags.f_contiguous and not b.flags.c_contiguous and a.flags.c_contiguous
    assert out.shape == (5, 3) and out.dtype == np.float32


def test_scaling_fit_recovers_overhead_and_rate():
    from scratchbench.bench.scaling import fit_cost

    steps, gflop = [10, 20, 40, 80], [1.0, 1.0, 4.0, 2.0]
    secs = [2e-3 * s + g / 50.0 for s, g in zip(steps, gflop, strict=True)]
    fit = fit_cost(steps, gflop, secs)
    assert fit["seconds_per_step"] == pytest.approx(2e-3)
    assert fit["gflops"] == pytest.approx(50.0)
    assert fit["r2"] == pytest.approx(1.0)
