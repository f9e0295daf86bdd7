"""Cross-check the NumPy conv layers and the R7 networks against TensorFlow/Keras (same weights)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from scratchbench.scratch.conv import Conv2D, MaxPool2D  # noqa: E402
from scratchbench.scratch.network import Network  # noqa: E402

from scratch_helpers import preset_layers, preset_model  # noqa: E402

def _keras_twin(layers: list[dict]) -> "keras.Model":
    """The Keras model for an architecture (same layer order, so get_weights() orders match)."""
    ks = [keras.Input((28, 28, 1))]
    for spec in layers:
        if spec["type"] == "conv2d":
            ks.append(keras.layers.Conv2D(spec["filters"], spec["kernel_size"], strides=spec["strides"],
                                          padding=spec["padding"], activation=spec["activation"]))
        elif spec["type"] == "maxpool2d":
            ks.append(keras.layers.MaxPooling2D(spec["pool_size"]))
        elif spec["type"] == "flatten":
            ks.append(keras.layers.Flatten())
        else:
            ks.append(keras.layers.Dense(spec["units"], activation=spec["activation"]))
    return keras.Sequential(ks)


@pytest.mark.parametrize("cin,padding,stride", [(1, "valid", 1), (3, "same", 2), (8, "valid", 1), (8, "same", 1),
                                                (8, "same", 2), (16, "valid", 2)])
def test_conv2d_matches_tensorflow(cin, padding, stride):
    rng = np.random.default_rng(cin + stride)
    x = rng.standard_normal((4, 9, 8, cin)).astype(np.float32)
    conv = Conv2D(6, 3, strides=stride, padding=padding)
    conv.build(x.shape[1:], rng, np.float32)
    conv.params["b"][:] = rng.standard_normal(6)
    y = conv.forward(x, training=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = conv.backward(g)

    xt, wt, bt = tf.constant(x), tf.Variable(conv.params["W"]), tf.Variable(conv.params["b"])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = tf.nn.conv2d(xt, wt, stride, padding.upper()) + bt
        loss = tf.reduce_sum(yt * g)
    dxt, dwt, dbt = tape.gradient(loss, [xt, wt, bt])
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, dxt.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.grads["W"], dwt.numpy(), rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(conv.grads["b"], dbt.numpy(), rtol=1e-4, atol=1e-4)


def test_maxpool2d_matches_tensorflow():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 9, 8, 5)).astype(np.float32)
    pool = MaxPool2D(2)
    pool.build(x.shape[1:], rng, np.float32)
    y = pool.forward(x, training=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = pool.backward(g)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = tf.nn.max_pool2d(xt, 2, 2, "VALID")
        loss = tf.reduce_sum(yt * g)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_allclose(dx, tape.gradient(loss, xt).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("preset,keras_loss", [("r7_mnist_cnn", "categorical_crossentropy"),
                                              ("r7_mnist_cnn_pool", "mean_squared_error")])
def test_r7_first_step_loss_and_gradients_match_keras(preset, keras_loss):
    layers, loss = preset_layers(preset), preset_model(preset)["loss"]
    cfg = {"layers": layers, "loss": loss, "init": {"name": "glorot_uniform"}, "input_scaling": "unit",
           "dtype": "float32"}
    net = Network.from_config(cfg, (28, 28, 1), 10, seed=3)
    model = _keras_twin(layers)
    model.set_weights(net.get_weights())  # Keras layouts: conv HWIO, dense (in, out), NHWC flatten

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    y = rng.integers(0, 10, 16)
    loss_np, grads_np = net.loss_and_grads(x, y)

    xt = tf.constant(x.astype(np.float32) / 255.0)
    yt = tf.one_hot(y, 10)
    loss_fn = keras.losses.get(keras_loss)
    with tf.GradientTape() as tape:
        loss_k = tf.reduce_mean(loss_fn(yt, model(xt, training=True)))
    grads_k = tape.gradient(loss_k, model.trainable_weights)

    assert loss_np == pytest.approx(float(loss_k), rel=1e-5, abs=1e-6)
    assert len(grads_np) == len(grads_k)
    for i, (a, b) in enumerate(zip(grads_np, grads_k, strict=True)):
        b = b.numpy()
        assert a.shape == b.shape, f"grad {i}"
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * max(1.0, np.abs(b).max()), err_msg=f"grad {i}")


def test_r7_pool_variant_trains_with_sgd_mse():
    """A few SGD steps on a tiny separable image task lower the MSE loss (pooling net end to end)."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 64)
    x = rng.integers(0, 60, (64, 28, 28, 1)).astype(np.uint8)
    x[y == 1, 4:12, 4:12, 0] += 180  # class 1: a bright square
    small = [dict(layer, filters=8) if layer["type"] == "conv2d" else layer
             for layer in preset_layers("r7_mnist_cnn_pool")]
    cfg = {"layers": small, "loss": "mse", "input_scaling": "unit"}
    net = Network.from_config(cfg, (28, 28, 1), 10, seed=0)
    hist = net.fit(x, y, epochs=4, batch_size=16, optimizer={"name": "sgd", "learning_rate": 0.5})
    assert hist[-1]["loss"] < hist[0]["loss"]
    again = Network.from_config(cfg, (28, 28, 1), 10, seed=0)
    again.fit(x, y, epochs=4, batch_size=16, optimizer={"name": "sgd", "learning_rate": 0.5})
    for a, b in zip(net.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # deterministic under a seed
