"""The engine replays the tutorials' own update rules, bugs included, step for step."""

from __future__ import annotations

import numpy as np
import pytest

from scratchbench.scratch.activations import ACTIVATIONS, sigmoid
from scratchbench.scratch.network import Network
from scratchbench.scratch.optimizers import ShrinkOnMiss, make_optimizer

XOR_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_r2_plain_sse_at_step_one_is_the_tutorials_update():
    """R2's class: w += X.T @ (2*(y - out) * s'(out)), no learning rate, weights rand [0, 1)."""
    cfg = {"layers": [{"units": 4, "activation": "sigmoid"}, {"units": 1, "activation": "sigmoid"}], "bias": False,
           "loss": "sse_plain", "dtype": "float64", "init": {"name": "uniform", "low": 0.0, "high": 1.0}}
    net = Network.from_config(cfg, (3,), 2, seed=0)
    w1, w2 = (w.copy() for w in net.get_weights())
    y = XOR_Y[:, None].astype(float)
    losses = []
    for _ in range(1500):
        layer1 = _sig(XOR_X @ w1)
        out = _sig(layer1 @ w2)
        losses.append(np.sum((y - out) ** 2))
        d2 = layer1.T @ (2 * (y - out) * out * (1 - out))
        d1 = XOR_X.T @ ((2 * (y - out) * out * (1 - out)) @ w2.T * layer1 * (1 - layer1))
        w1 += d1
        w2 += d2
    hist = net.fit(XOR_X, XOR_Y, epochs=1500, optimizer={"name": "sgd", "learning_rate": 1.0})
    got1, got2 = net.get_weights()
    np.testing.assert_allclose(got1, w1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got2, w2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([h["loss"] for h in hist], losses, rtol=1e-9)  # the tutorial's loss, not half of it
    assert np.all(np.abs(net.forward(XOR_X)[:, 0] - XOR_Y) < 0.1)  # on XOR the predictions converge


def test_r1_printed_outputs_are_the_last_forward_pass_after_9999_updates():
    cfg = {"layers": [{"units": 1, "activation": "sigmoid"}], "bias": False, "loss": "sse", "dtype": "float64",
           "rng": "legacy", "init": {"name": "uniform", "low": -1.0, "high": 1.0}}
    net = Network.from_config(cfg, (3,), 2, seed=1)
    net.fit(XOR_X, XOR_X[:, 0].astype(np.int64), epochs=9999, optimizer={"name": "sgd", "learning_rate": 1.0})
    published = [0.00966449, 0.00786506, 0.99358898, 0.99211957]
    np.testing.assert_allclose(net.forward(XOR_X)[:, 0], published, atol=1e-8)


def test_shrink_on_miss_multiplies_every_weight_by_one_minus_rate_per_miss():
    params = [np.full((2, 2), 2.0), np.full(3, -1.0)]
    opt = make_optimizer({"name": "shrink_on_miss", "learning_rate": 0.001})
    assert isinstance(opt, ShrinkOnMiss) and not opt.uses_gradients
    opt.shrink(params, 0)
    assert params[0][0, 0] == 2.0
    opt.shrink(params, 2)
    np.testing.assert_allclose(params[0], 2.0 * 0.999**2)
    np.testing.assert_allclose(params[1], -(0.999**2))


def _r6_as_written(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, passes: int) -> list[np.ndarray]:
    """The tutorial's loop: ReLU hidden layers, linear output, w - 0.001*w on every miss."""
    for _ in range(passes):
        for xi, yi in zip(x, y, strict=True):
            r = xi
            for w in weights[:-1]:
                r = np.maximum(r @ w, 0)
            if np.argmax(r @ weights[-1]) != yi:
                weights = [w - 0.001 * w for w in weights]
    return weights


def test_r6_rule_as_written_replays_the_tutorial_and_never_changes_a_prediction():
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 12)) * 100, rng.integers(0, 4, 60)
    cfg = {"layers": [{"units": 15, "activation": "relu"}, {"units": 6, "activation": "relu"},
                      {"units": 4, "activation": "linear"}], "bias": False, "loss": "mse", "dtype": "float64",
           "init": {"name": "uniform", "low": -0.1, "high": 0.1}}
    net = Network.from_config(cfg, (12,), 4, seed=3)
    before, initial = net.predict(x), net.get_weights()
    expected = _r6_as_written(net.get_weights(), x, y, passes=3)
    hist = net.fit(x, y, epochs=3, batch_size=1, shuffle=False,
                   optimizer={"name": "shrink_on_miss", "learning_rate": 0.001})
    for got, want in zip(net.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.abs(net.get_weights()[0]).sum() < 0.99 * np.abs(initial[0]).sum()  # misses did shrink it
    np.testing.assert_array_equal(net.predict(x), before)  # shrinking a bias-free ReLU net changes no argmax
    assert hist[-1]["train_accuracy"] == pytest.approx(np.mean(before == y))


def test_r11_tanh_as_written_takes_its_derivative_from_sigmoid():
    z = np.linspace(-4, 4, 41)
    g = np.ones_like(z)
    fn = ACTIVATIONS["tanh_sigmoid_grad"]
    np.testing.assert_allclose(fn.f(z), np.tanh(z))
    np.testing.assert_allclose(fn.backprop(g, z, np.tanh(z), np.empty_like(z)), 1 - sigmoid(z) ** 2)
    assert not np.allclose(fn.backprop(g, z, np.tanh(z), np.empty_like(z)), 1 - np.tanh(z) ** 2)


def _course_l_layer(x: np.ndarray, y: np.ndarray, dims: list[int], hidden: str, iterations: int, lr: float,
                    init: str) -> dict[str, np.ndarray]:
    """The course's L-layer code in (features, samples) layout, as the R11 text prints it."""
    np.random.seed(1)
    p = {}
    for layer in range(1, len(dims)):
        w = np.random.randn(dims[layer], dims[layer - 1])
        p[f"W{layer}"] = w * 0.01 if init == "0.01" else w / np.sqrt(dims[layer - 1])
        p[f"b{layer}"] = np.zeros((dims[layer], 1))
    X, Y, L, m = x.T, y[None, :].astype(float), len(dims) - 1, x.shape[0]
    for _ in range(iterations):
        caches, A = [], X
        for layer in range(1, L + 1):
            Z = p[f"W{layer}"] @ A + p[f"b{layer}"]
            caches.append((A, Z))
            A = _sig(Z) if layer == L else (np.tanh(Z) if hidden != "relu" else np.maximum(Z, 0))
        dA = -(Y / A - (1 - Y) / (1 - A))
        for layer in range(L, 0, -1):
            A_prev, Z = caches[layer - 1]
            if layer == L:
                dZ = dA * _sig(Z) * (1 - _sig(Z))
            elif hidden == "relu":
                dZ = dA * (Z > 0)
            elif hidden == "tanh_sigmoid_grad":
                dZ = dA * (1 - _sig(Z) ** 2)  # the text's tanh_backward
            else:
                dZ = dA * (1 - np.tanh(Z) ** 2)
            dW, db = dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m
            dA = p[f"W{layer}"].T @ dZ
            p[f"W{layer}"] -= lr * dW
            p[f"b{layer}"] -= lr * db
    return p


@pytest.mark.parametrize("hidden,init", [("tanh_sigmoid_grad", "0.01"), ("tanh", "0.01"), ("relu", "sqrt")])
def test_r11_runs_replay_the_texts_code(hidden, init):
    rng = np.random.default_rng(5)
    x, y = rng.random((30, 16)), rng.integers(0, 2, 30)
    dims = [16, 5, 3, 1]
    want = _course_l_layer(x, y, dims, hidden, iterations=200, lr=0.05, init=init)
    spec = ({"name": "randn", "scale": 0.01, "layout": "out_in"} if init == "0.01"
            else {"name": "randn_sqrt_fan_in", "layout": "out_in"})
    cfg = {"layers_dims": dims, "hidden_activation": hidden, "output_activation": "sigmoid",
           "loss": "binary_crossentropy", "init": spec, "bias_init": {"name": "zeros"}, "dtype": "float64",
           "rng": "legacy"}
    net = Network.from_config(cfg, (16,), 2, seed=1)
    net.fit(x, y, epochs=200, batch_size=None, optimizer={"name": "sgd", "learning_rate": 0.05})
    got = net.get_weights()
    for layer in range(1, len(dims)):
        np.testing.assert_allclose(got[2 * (layer - 1)].T, want[f"W{layer}"], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(got[2 * (layer - 1) + 1], want[f"b{layer}"][:, 0], rtol=1e-8, atol=1e-12)
