"""The same network with the same weights in TensorFlow gives the same gradients and training path.

TensorFlow is imported here only (the engine never imports it).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scratch_helpers import targets_for, tiny_net

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

TF_ACTS = {
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
    "leaky_relu": lambda z: tf.nn.leaky_relu(z, alpha=0.1),
    "softmax": tf.nn.softmax,
    "linear": tf.identity,
}
TF_LOSSES = {  # Keras' own functions where the engine follows Keras' convention
    "binary_crossentropy": lambda y, a: tf.reduce_mean(keras.losses.binary_crossentropy(y, a)),
    "categorical_crossentropy": lambda y, a: tf.reduce_mean(keras.losses.categorical_crossentropy(y, a)),
    "mse": lambda y, a: tf.reduce_mean(keras.losses.mean_squared_error(y, a)),
    "mse_half": lambda y, a: tf.reduce_sum((a - y) ** 2) / (2.0 * tf.cast(tf.shape(a)[0], a.dtype)),
    "sse": lambda y, a: 0.5 * tf.reduce_sum((a - y) ** 2),
}
OUTPUT = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax"}
CASES = [(act, loss, i % 2 == 0) for i, (act, loss) in enumerate((a, loss) for a in TF_ACTS for loss in TF_LOSSES)]


@pytest.mark.parametrize("act,loss,bias", CASES,
                         ids=[f"{a}-{loss}-{'bias' if b else 'nobias'}" for a, loss, b in CASES])
def test_gradients_match_gradient_tape(act, loss, bias):
    out = OUTPUT.get(loss, "tanh")
    rng = np.random.default_rng(7)
    net = tiny_net(hidden=act, out=out, loss=loss, bias=bias, n_in=4, n_hidden=5, n_out=3)
    x = rng.normal(0.0, 1.0, (6, 4))
    y = targets_for(loss, out, 6, 3, rng)
    value, grads = net.loss_and_grads(x, y)

    weights = [tf.Variable(w) for w in net.get_weights()]
    with tf.GradientTape() as tape:
        h = tf.constant(x)
        per_layer = 2 if bias else 1
        for i, name in enumerate([act, out]):
            w = weights[i * per_layer : (i + 1) * per_layer]
            z = h @ w[0] + (w[1] if bias else 0.0)
            h = TF_ACTS[name](z)
        tf_loss = TF_LOSSES[loss](tf.constant(y), h)
    tf_grads = tape.gradient(tf_loss, weights)
    assert value == pytest.approx(float(tf_loss), rel=1e-6)
    for g, tg in zip(grads, tf_grads, strict=True):
        tg = tg.numpy()
        assert np.linalg.norm(g - tg) <= 1e-5 * max(np.linalg.norm(tg), 1e-12)


@pytest.mark.parametrize(
    "opt,loss,out",
    [
        ({"name": "sgd", "learning_rate": 0.5}, "categorical_crossentropy", "softmax"),
        ({"name": "momentum", "learning_rate": 0.1, "momentum": 0.9}, "binary_crossentropy", "sigmoid"),
        ({"name": "adam", "learning_rate": 0.01}, "mse", "linear"),
    ],
)
def test_training_path_matches_keras_twin(opt, loss, out):
    rng = np.random.default_rng(3)
    n_out = 1 if loss == "binary_crossentropy" else 3
    net = tiny_net(hidden="relu", out=out, loss=loss, dtype="float32", n_in=4, n_hidden=6, n_out=n_out)
    x = rng.normal(0.0, 1.0, (16, 4)).astype(np.float32)
    labels = rng.integers(0, 2 if n_out == 1 else 3, 16)
    y = labels.astype(np.float32)[:, None] if n_out == 1 else np.eye(3, dtype=np.float32)[labels]

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(n_out, activation=out)])
    kopt = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=opt["learning_rate"]),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=opt["learning_rate"], momentum=opt.get("momentum", 0.9)),
        "adam": lambda: keras.optimizers.Adam(learning_rate=opt["learning_rate"]),
    }[opt["name"]]()
    model.compile(optimizer=kopt, loss=loss)
    model.set_weights(net.get_weights())
    k_hist = model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0).history["loss"]
    hist = net.fit(x, labels if n_out == 1 or loss != "mse" else y, epochs=5, batch_size=None, optimizer=opt)

    np.testing.assert_allclose([h["loss"] for h in hist], k_hist, rtol=1e-4, atol=1e-6)
    for w, kw in zip(net.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(w, kw, rtol=1e-4, atol=1e-5)
