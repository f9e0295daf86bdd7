"""Conv2D / MaxPool2D / Flatten / Dropout: finite-difference gradient checks (float64) and layer contracts."""

from __future__ import annotations

import numpy as np
import pytest

from scratchbench.scratch.conv import Conv2D, Dropout, Flatten, MaxPool2D, same_padding


def _num_grad(f, arr: np.ndarray, idx: list[tuple], eps: float = 1e-6) -> np.ndarray:
    """Central differences of scalar ``f()`` w.r.t. ``arr`` at the given indices (arr edited in place)."""
    out = []
    for i in idx:
        old = arr[i]
        arr[i] = old + eps
        fp = f()
        arr[i] = old - eps
        fm = f()
        arr[i] = old
        out.append((fp - fm) / (2 * eps))
    return np.array(out)


def _sample(shape: tuple[int, ...], rng: np.random.Generator, k: int = 40) -> list[tuple]:
    flat = rng.choice(int(np.prod(shape)), size=min(k, int(np.prod(shape))), replace=False)
    return [np.unravel_index(int(i), shape) for i in flat]


def _check_layer(layer, x: np.ndarray, rng: np.random.Generator, train: bool = True) -> None:
    """Loss = sum(R * layer(x)); compare analytic dL/dx and dL/dparams with central differences."""
    out = layer.forward(x, training=True)
    r = rng.standard_normal(out.shape)
    dx = layer.backward(r.copy())
    grads = {k: v.copy() for k, v in layer.grads.items()}

    def loss() -> float:
        return float(np.sum(r * layer.forward(x, training=train)))

    idx = _sample(x.shape, rng)
    np.testing.assert_allclose(np.array([dx[i] for i in idx]), _num_grad(loss, x, idx), rtol=1e-5, atol=1e-7)
    for name, p in layer.params.items():
        idx = _sample(p.shape, rng)
        np.testing.assert_allclose(np.array([grads[name][i] for i in idx]), _num_grad(loss, p, idx),
                                   rtol=1e-5, atol=1e-7, err_msg=f"d{name}")


@pytest.mark.parametrize("cin", [2, 8])  # 2 -> im2col algorithm, 8 -> shift algorithm (stride 1)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv2d_gradients_match_finite_differences(cin, padding, stride, use_bias):
    rng = np.random.default_rng(cin * 100 + stride * 10 + use_bias)
    x = rng.standard_normal((2, 6, 7, cin))
    conv = Conv2D(3, 3, strides=stride, padding=padding, use_bias=use_bias)
    out_shape = conv.build(x.shape[1:], rng, np.float64)
    assert conv.algorithm == ("shift" if (stride == 1 and cin >= 8) else "im2col")
    if use_bias:
        conv.params["b"][:] = rng.standard_normal(3)
    else:
        assert "b" not in conv.params
    expect_hw = ((-(-6 // stride), -(-7 // stride)) if padding == "same"
                 else ((6 - 3) // stride + 1, (7 - 3) // stride + 1))
    assert out_shape == (*expect_hw, 3)
    _check_layer(conv, x, rng)


def test_conv2d_rectangular_kernel_and_direct_formula():
    """A 2x3 kernel, checked against the textbook sum over the receptive field."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 6, 9))
    conv = Conv2D(4, (2, 3), use_bias=True)
    conv.build(x.shape[1:], rng, np.float64)
    conv.params["b"][:] = rng.standard_normal(4)
    y = conv.forward(x)
    W, b = conv.params["W"], conv.params["b"]
    ref = np.zeros((2, 4, 4, 4))
    for i in range(4):
        for j in range(4):
            ref[:, i, j, :] = np.einsum("nhwc,hwcf->nf", x[:, i : i + 2, j : j + 3, :], W) + b
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    _check_layer(conv, x, rng)


@pytest.mark.parametrize("pool,stride", [(2, None), (3, 2), (2, 1)])
def test_maxpool2d_gradients_match_finite_differences(pool, stride):
    rng = np.random.default_rng(pool + 7)
    x = rng.permutation(2 * 7 * 6 * 3).reshape(2, 7, 6, 3) * 0.01  # distinct values: no ties
    layer = MaxPool2D(pool, stride)
    shape = layer.build(x.shape[1:], rng, np.float64)
    s = pool if stride is None else stride
    assert shape == ((7 - pool) // s + 1, (6 - pool) // s + 1, 3)
    y = layer.forward(x, training=True)
    ref = np.max(np.stack([x[:, i : i + (shape[0] - 1) * s + 1 : s, j : j + (shape[1] - 1) * s + 1 : s]
                           for i in range(pool) for j in range(pool)]), axis=0)
    np.testing.assert_array_equal(y, ref)
    _check_layer(layer, x, rng)


def test_maxpool2d_tie_sends_gradient_to_first_max_only():
    layer = MaxPool2D(2)
    layer.build((2, 2, 1), np.random.default_rng(0), np.float32)
    x = np.zeros((1, 2, 2, 1), np.float32)
    layer.forward(x, training=True)
    dx = layer.backward(np.ones((1, 1, 1, 1), np.float32))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])


def test_flatten_round_trip_and_gradient():
    rng = np.random.default_rng(1)
    layer = Flatten()
    assert layer.build((3, 4, 2), rng, np.float64) == (24,)
    x = rng.standard_normal((2, 3, 4, 2))
    np.testing.assert_array_equal(layer.forward(x), x.reshape(2, 24))  # NHWC C order, as Keras
    _check_layer(layer, x, rng)


def test_dropout_fixed_mask_gradient_and_inference_identity():
    rng = np.random.default_rng(2)
    layer = Dropout(0.4)
    layer.build((50,), np.random.default_rng(3), np.float64)
    x = rng.standard_normal((40, 50))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    y = layer.forward(x, training=True)
    mask = layer._mask.copy()
    kept = mask != 0
    assert 0.5 < kept.mean() < 0.7  # about 1 - rate kept
    np.testing.assert_allclose(y[kept], x[kept] / 0.6)
    np.testing.assert_array_equal(y[~kept], 0.0)
    r = rng.standard_normal(y.shape)
    dx = layer.backward(r)
    np.testing.assert_allclose(dx, r * mask)  # d/dx sum(r * x * mask) with the mask held fixed
    # same seed -> same mask; next call -> a fresh mask
    other = Dropout(0.4)
    other.build((50,), np.random.default_rng(3), np.float64)
    np.testing.assert_array_equal(other.forward(x, training=True), y)
    assert not np.array_equal(other.forward(x, training=True), y)


def test_keras_same_padding_is_asymmetric_for_stride_2():
    assert same_padding(28, 3, 1) == (1, 1)
    assert same_padding(28, 3, 2) == (0, 1)  # TF pads the extra row/col after
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(6, 4, 2) == (1, 1)


def test_buffers_reused_across_batch_sizes_and_eval_between_forward_and_backward():
    """Reused scratch buffers must never leak values between batches or modes."""
    rng = np.random.default_rng(4)
    for cin, padding in [(8, "valid"), (8, "same"), (2, "same")]:
        conv = Conv2D(5, 3, padding=padding)
        conv.build((6, 6, cin), rng, np.float64)
        fresh = Conv2D(5, 3, padding=padding)
        fresh.build((6, 6, cin), rng, np.float64)
        fresh.params["W"][...] = conv.params["W"]
        for n in (4, 3, 4):
            x = rng.standard_normal((n, 6, 6, cin))
            g = rng.standard_normal((n, *conv.out_shape))
            y = conv.forward(x, training=True)
            conv.forward(rng.standard_normal((n, 6, 6, cin)), training=False)  # an evaluation in between
            dx = conv.backward(g)
            fresh.__init__(5, 3, padding=padding)
            fresh.build((6, 6, cin), np.random.default_rng(0), np.float64)
            fresh.params["W"][...] = conv.params["W"]
            np.testing.assert_allclose(y, fresh.forward(x, training=True), rtol=1e-12)
            np.testing.assert_allclose(dx, fresh.backward(g), rtol=1e-12)
            np.testing.assert_allclose(conv.grads["W"], fresh.grads["W"], rtol=1e-12)


def test_first_layer_skips_input_gradient():
    rng = np.random.default_rng(6)
    for cin in (1, 8):
        conv = Conv2D(4, 3)
        conv.build((5, 5, cin), rng, np.float32)
        conv.needs_input_grad = False
        conv.forward(rng.standard_normal((2, 5, 5, cin)).astype(np.float32), training=True)
        assert conv.backward(np.ones((2, 3, 3, 4), np.float32)) is None
        assert conv.grads["W"].dtype == np.float32 and np.abs(conv.grads["W"]).sum() > 0


def test_float32_stays_float32():
    rng = np.random.default_rng(7)
    conv = Conv2D(4, 3, padding="same")
    conv.build((6, 6, 8), rng, np.float32)
    assert conv.params["W"].dtype == np.float32
    y = conv.forward(rng.standard_normal((2, 6, 6, 8)).astype(np.float32), training=True)
    assert y.dtype == np.float32
    assert conv.backward(np.ones_like(y)).dtype == np.float32


def test_default_init_is_glorot_uniform_with_keras_fans_and_seeded():
    a, b = Conv2D(32, 3), Conv2D(32, 3)
    a.build((10, 10, 64), np.random.default_rng(9), np.float32)
    b.build((10, 10, 64), np.random.default_rng(9), np.float32)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    limit = np.sqrt(6.0 / (9 * 64 + 9 * 32))
    assert a.params["W"].shape == (3, 3, 64, 32)
    assert np.abs(a.params["W"]).max() <= limit and np.abs(a.params["W"]).max() > 0.9 * limit
    np.testing.assert_array_equal(a.params["b"], 0.0)
    c = Conv2D(2, 3, init={"name": "randn", "scale": 0.01})
    c.build((4, 4, 1), np.random.default_rng(0), np.float64)
    assert np.abs(c.params["W"]).max() < 0.05


@pytest.mark.parametrize(
    "make,shape,match",
    [
        (lambda: Conv2D(4, 3, padding="full"), None, "padding"),
        (lambda: Conv2D(0, 3), None, "filters"),
        (lambda: Conv2D(4, 0), None, "kernel_size"),
        (lambda: Conv2D(4, 3, strides=(1, 2, 3)), None, "strides"),
        (lambda: Conv2D(4, 5), (3, 3, 1), "does not fit"),
        (lambda: Conv2D(4, 3), (9, 9), r"\(H, W, C\)"),
        (lambda: MaxPool2D(4), (3, 3, 1), "does not fit"),
        (lambda: Dropout(1.0), None, "rate"),
    ],
)
def test_bad_configuration_names_the_field(make, shape, match):
    with pytest.raises(ValueError, match=match):
        layer = make()
        layer.build(shape, np.random.default_rng(0), np.float32)


def test_wrong_input_shape_is_a_clear_error():
    conv = Conv2D(4, 3)
    conv.build((8, 8, 1), np.random.default_rng(0), np.float32)
    with pytest.raises(ValueError, match=r"conv2d expected input \(N, 8, 8, 1\)"):
        conv.forward(np.zeros((2, 8, 8, 3), np.float32))


def test_conv_network_saves_and_loads(tmp_path):
    """A Network with every image layer round-trips through save/load with identical predictions."""
    from scratchbench.scratch.network import Network

    layers = [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 8, "kernel_size": 3, "strides": 2, "activation": "tanh"},
        {"type": "dropout", "rate": 0.3},
        {"type": "flatten"},
        {"type": "dense", "units": 3, "activation": "softmax"},
    ]
    net = Network.from_config({"layers": layers, "loss": "categorical_crossentropy", "input_scaling": "unit"},
                              (10, 10, 1), 3, seed=0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 10, 10, 1), dtype=np.uint8)
    y = rng.integers(0, 3, 20)
    net.fit(x, y, epochs=2, batch_size=8, optimizer={"name": "adam", "learning_rate": 0.01})
    path = net.save(tmp_path / "cnn")
    again = Network.load(path)
    np.testing.assert_array_equal(again.predict_proba(x), net.predict_proba(x))
    assert net.predict_proba(x).shape == (20, 3)
