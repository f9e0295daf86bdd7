"""Conv2D with the fused ReLU, and the chunk workers: same numbers as the unfused / single-thread path."""

from __future__ import annotations

import numpy as np
import pytest

from scratchbench.scratch import conv as conv_mod
from scratchbench.scratch.conv import Conv2D, set_workers
from scratchbench.scratch.network import Network

from test_conv import _check_layer


@pytest.mark.parametrize("cin,stride,padding", [(2, 1, "valid"), (2, 2, "same"), (8, 1, "valid"), (8, 1, "same")])
def test_fused_relu_gradients_match_finite_differences(cin, stride, padding):
    rng = np.random.default_rng(11)
    layer = Conv2D(3, 3, strides=stride, padding=padding, activation="relu")
    layer.build((7, 6, cin), rng, np.float64)
    layer.params["b"][...] = rng.standard_normal(3) * 0.1
    assert layer.algorithm == ("shift" if cin == 8 and stride == 1 else "im2col")
    _check_layer(layer, rng.standard_normal((2, 7, 6, cin)), rng)


@pytest.mark.parametrize("cin", [1, 8])
def test_fused_relu_equals_linear_conv_then_relu(cin):
    rng = np.random.default_rng(12)
    lin, fused = Conv2D(4, 3, activation="linear"), Conv2D(4, 3, activation="relu")
    for layer in (lin, fused):
        layer.build((9, 9, cin), np.random.default_rng(0), np.float32)
        layer.params["b"][...] = np.float32([0.1, -0.2, 0.0, 0.3])
    x = rng.standard_normal((3, 9, 9, cin)).astype(np.float32)
    g = rng.standard_normal((3, 7, 7, 4)).astype(np.float32)
    z = lin.forward(x, training=True).copy()
    a = fused.forward(x, training=True)
    assert a.dtype == np.float32 and (a == 0).any() and (a > 0).any()
    np.testing.assert_allclose(a, np.maximum(z, 0), rtol=1e-6, atol=1e-6)
    dx_lin = lin.backward(g * (z > 0)).copy()
    dx_fused = fused.backward(g)
    np.testing.assert_allclose(dx_fused, dx_lin, rtol=1e-5, atol=1e-6)
    for k in ("W", "b"):
        np.testing.assert_allclose(fused.grads[k], lin.grads[k], rtol=1e-5, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("cin,activation", [(1, "relu"), (8, "relu"), (8, "linear")])
def test_two_workers_give_the_single_thread_results(cin, activation):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((6, 12, 12, cin))
    g = rng.standard_normal((6, 10, 10, 5))
    results = []
    try:
        for n in (1, 2):
            set_workers(n)
            layer = Conv2D(5, 3, activation=activation)
            layer.build((12, 12, cin), np.random.default_rng(0), np.float64)
            layer.chunk_rows = 256  # several chunks per batch
            y = layer.forward(x, training=True).copy()
            dx = layer.backward(g)
            results.append((y, None if dx is None else dx.copy(), layer.grads["W"].copy(), layer.grads["b"].copy()))
    finally:
        set_workers(1)
    assert conv_mod.workers() == 1
    for one, two in zip(*results, strict=True):
        np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)


def test_bad_activation_and_workers_are_clear_errors():
    with pytest.raises(ValueError, match="conv2d activation"):
        Conv2D(4, 3, activation="tanh")
    with pytest.raises(ValueError, match="workers"):
        set_workers(0)


def test_network_fuses_relu_into_conv_and_keeps_other_activations():
    layers = [{"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
              {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "tanh"},
              {"type": "conv2d", "filters": 4, "kernel_size": 3},
              {"type": "dense", "units": 3, "activation": "softmax"}]
    net = Network.from_config({"layers": layers, "loss": "categorical_crossentropy"}, (9, 9, 1), 3, 0)
    names = [type(layer).__name__ for layer in net.layers]
    assert names == ["Conv2D", "Conv2D", "Activation", "Conv2D", "Flatten", "Dense", "Activation"]
    conv_acts = [layer.activation for layer in net.layers if type(layer).__name__ == "Conv2D"]
    assert conv_acts == ["relu", "linear", "linear"]
