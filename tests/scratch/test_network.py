"""Network behaviour: stability, divergence, determinism, dtypes, persistence, modes, early stopping."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from scratchbench.scratch.activations import ACTIVATIONS
from scratchbench.scratch.losses import FUSED_HEADS, LOSSES
from scratchbench.scratch.network import Network, TrainingDivergedError


def blobs(n=120, k=3, d=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.normal(0.0, 0.6, (n, d)) + np.eye(k, d)[y] * 2.0
    return x.astype(dtype), y


def mlp(dtype="float64", seed=0, **extra):
    cfg = {"layers": [{"units": 8, "activation": "tanh"}, {"units": 3, "activation": "softmax"}],
           "loss": "categorical_crossentropy", "dtype": dtype, **extra}
    return Network.from_config(cfg, (4,), 3, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_overflow_at_z_1000(dtype):
    z = np.array([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]], dtype=dtype)
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=dtype)  # confidently wrong
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        warnings.simplefilter("error")
        for name, fn in ACTIVATIONS.items():
            a = fn.f(z)
            assert np.all(np.isfinite(a)), name
            assert np.all(np.isfinite(fn.backprop(np.ones_like(z), z, a, np.empty_like(z)))), name
        for (act, loss), head in FUSED_HEADS.items():
            a, g = np.empty_like(z), np.empty_like(z)
            value = head(z, y, a, g)
            assert np.isfinite(value) and np.all(np.isfinite(g)), (act, loss)
            assert value > 100  # confidently wrong rows cost ~1000, not inf
        for name, fn in LOSSES.items():  # log-losses clip probabilities of exactly 0 and 1
            a = ACTIVATIONS["sigmoid"].f(z)
            assert np.isfinite(fn.value(a, y)) and np.all(np.isfinite(fn.grad(a, y, np.empty_like(z)))), name
    s = ACTIVATIONS["sigmoid"].f(z)
    assert s[0, 0] == 0.0 and s[0, 2] == 1.0
    np.testing.assert_allclose(ACTIVATIONS["softmax"].f(z)[1], [0.5, 0.5, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 32, 1024])
def test_softmax_head_equals_the_textbook_steps_bit_for_bit(dtype, n):
    # the head finds the row max on a transposed copy (for speed); every number must stay what the
    # plain row-wise formula gives, so runs before and after that change are identical
    rng = np.random.default_rng(n)
    z = (rng.standard_normal((n, 10)) * 4).astype(dtype)
    y = np.eye(10, dtype=dtype)[rng.integers(0, 10, n)] * dtype(0.98) + dtype(0.002)
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    want_a = e / s
    ysum = y.sum(axis=1, keepdims=True)
    want_loss = float(np.vdot(ysum, np.log(s) + m) - np.vdot(y, z)) / n
    want_g = (want_a * ysum - y) / dtype(n)
    a, g = np.empty_like(z), np.empty_like(z)
    loss = FUSED_HEADS[("softmax", "categorical_crossentropy")](z, y, a, g)
    assert loss == want_loss
    np.testing.assert_array_equal(a, want_a)
    np.testing.assert_array_equal(g, want_g)


def test_nan_loss_raises_training_diverged_error():
    x, y = blobs()
    x[5, 0] = np.nan
    net = mlp()
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 0"):
        net.fit(x, y, epochs=2, batch_size=16, shuffle=False)
    assert issubclass(TrainingDivergedError, FloatingPointError)
    lin = Network.from_config({"layers": [{"units": 1, "activation": "linear"}], "loss": "mse", "dtype": "float32"},
                              (4,), 1, 0)
    with pytest.raises(TrainingDivergedError, match="epoch"):
        lin.fit(x.astype(np.float32), y.astype(np.float32) * 1e3, epochs=200,
                optimizer={"name": "sgd", "learning_rate": 50.0})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_bit_identical_params_and_history(dtype):
    x, y = blobs(dtype=dtype)
    runs = []
    for _ in range(2):
        net = mlp(dtype=dtype, seed=4)
        hist = net.fit(x, y, epochs=3, batch_size=10, optimizer={"name": "adam", "learning_rate": 0.01}, x_val=x[:30],
                       y_val=y[:30])
        runs.append((net.get_weights(), [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in hist]))
    (w1, h1), (w2, h2) = runs
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        assert a.dtype == np.dtype(dtype) and np.array_equal(a, b)
    other = mlp(dtype=dtype, seed=5).get_weights()
    assert not np.array_equal(other[0], mlp(dtype=dtype, seed=4).get_weights()[0])


@pytest.mark.parametrize("opt", ["sgd", "adam", "momentum"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parameters_start_on_cache_lines_and_the_padding_stays_zero(dtype, opt):
    x, y = blobs(dtype=dtype)
    net = mlp(dtype=dtype, seed=4)
    views = [layer.params[k] for layer in net.layers for k in layer.params]
    views += [layer.grads[k] for layer in net.layers for k in layer.params]
    assert views and all(v.ctypes.data % 64 == 0 for v in views)
    optimizer = {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9} if opt == "momentum" else {"name": opt}
    net.fit(x, y, epochs=2, batch_size=10, optimizer=optimizer)
    used = sum(v.size for v in views)
    flat = np.concatenate([net._flat_params, net._flat_grads])
    assert np.count_nonzero(flat) <= used  # nothing but the parameters and gradients moved off zero
    assert net._flat_params.size > sum(v.size for v in views[: len(views) // 2])  # there was padding to keep
    packed = np.concatenate([v.ravel() for v in views[: len(views) // 2]])
    assert np.array_equal(np.sort(net._flat_params[net._flat_params != 0]), np.sort(packed[packed != 0]))


def test_float32_and_float64_train_alike_and_keep_their_dtype():
    x, y = blobs()
    nets = {d: mlp(dtype=d, seed=1) for d in ("float32", "float64")}
    np.testing.assert_allclose(nets["float32"].get_weights()[0], nets["float64"].get_weights()[0], rtol=1e-6)
    hists = {d: n.fit(x, y, epochs=20, batch_size=None, optimizer={"name": "sgd", "learning_rate": 0.5})
             for d, n in nets.items()}
    assert nets["float32"].predict_proba(x).dtype == np.float32
    assert nets["float64"].predict_proba(x).dtype == np.float64
    assert hists["float32"][-1]["loss"] == pytest.approx(hists["float64"][-1]["loss"], rel=1e-4)
    assert hists["float64"][-1]["loss"] < hists["float64"][0]["loss"]
    assert hists["float64"][-1]["train_accuracy"] > 0.9


def test_history_fields_validation_and_callback():
    x, y = blobs()
    seen = []
    hist = mlp().fit(x, y, epochs=4, batch_size=32, optimizer={"name": "sgd", "learning_rate": 0.3}, x_val=x, y_val=y,
                     callback=seen.append)
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4] and seen == hist
    assert set(hist[0]) == {"epoch", "loss", "train_accuracy", "val_accuracy", "epoch_seconds"}
    assert all(0 <= h["val_accuracy"] <= 1 and h["epoch_seconds"] > 0 for h in hist)
    assert hist[-1]["val_accuracy"] > 0.8


def test_save_load_round_trip(tmp_path):
    x, y = blobs()
    net = mlp(input_scaling="none")
    net.fit(x, y, epochs=2, batch_size=16)
    path = net.save(tmp_path / "model")
    assert path.name == "model.npz" and not list(tmp_path.glob("*.tmp"))
    loaded = Network.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    assert loaded.n_params() == net.n_params() == 4 * 8 + 8 + 8 * 3 + 3
    with np.load(path) as data:
        assert json.loads(str(data["architecture"]))["canonical"][0]["units"] == 8
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        Network.load(tmp_path / "junk.npz")


def test_one_sample_at_a_time_matches_a_literal_per_sample_loop():
    # R5 style: no biases, sigmoid everywhere, error = target - output, w += lr * delta
    rng = np.random.default_rng(0)
    x = rng.random((12, 5))
    labels = rng.integers(0, 3, 12)
    cfg = {"layers": [{"units": 4, "activation": "sigmoid"}, {"units": 3, "activation": "sigmoid"}],
           "bias": False, "loss": "sse", "dtype": "float64", "init": {"name": "uniform", "low": -0.5, "high": 0.5},
           "target_on": 0.99, "target_off": 0.01}
    net = Network.from_config(cfg, (5,), 3, seed=2)
    w1, w2 = net.get_weights()
    hist = net.fit(x, labels, epochs=2, batch_size=1, shuffle=False, optimizer={"name": "sgd", "learning_rate": 0.3})
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for _ in range(2):
        for xi, li in zip(x, labels, strict=True):
            t = np.full(3, 0.01)
            t[li] = 0.99
            h = sig(xi @ w1)
            o = sig(h @ w2)
            d2 = (t - o) * o * (1 - o)
            d1 = (d2 @ w2.T) * h * (1 - h)
            w2 = w2 + 0.3 * np.outer(h, d2)
            w1 = w1 + 0.3 * np.outer(xi, d1)
    got1, got2 = net.get_weights()
    np.testing.assert_allclose(got1, w1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got2, w2, rtol=1e-12, atol=1e-14)
    assert len(hist) == 2


def test_shuffling_follows_the_documented_generator():
    # batch order = np.random.default_rng([seed, 1]).permutation(n) per epoch: replay it by hand
    x, y = blobs(n=20)
    shuffled = mlp(seed=3)
    shuffled.fit(x, y, epochs=2, batch_size=5, optimizer={"name": "sgd", "learning_rate": 0.1})
    replay = mlp(seed=3)
    rng = np.random.default_rng([3, 1])
    for _ in range(2):
        p = rng.permutation(20)
        replay.fit(x[p], y[p], epochs=1, batch_size=5, shuffle=False, optimizer={"name": "sgd", "learning_rate": 0.1})
    for a, b in zip(shuffled.get_weights(), replay.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_early_stopping_stops_and_restores_best_weights():
    x, y = blobs()
    net = mlp()
    best = {}

    def remember(rec):
        if rec["epoch"] == 1:
            best["w"] = net.get_weights()

    # a learning rate this small never changes val accuracy: epoch 1 stays best
    hist = net.fit(x, y, epochs=50, batch_size=None, optimizer={"name": "sgd", "learning_rate": 1e-9}, x_val=x, y_val=y,
                   callback=remember, early_stopping_patience=3)
    assert len(hist) == 4
    for a, b in zip(net.get_weights(), best["w"], strict=True):
        np.testing.assert_array_equal(a, b)
    full = mlp().fit(x, y, epochs=6, batch_size=None, optimizer={"name": "sgd", "learning_rate": 0.5},
                     early_stopping_patience=3)
    assert len(full) == 6  # training loss keeps falling, no stop


def test_single_sigmoid_unit_binary_and_encoded_targets():
    x, y = blobs(k=2)
    cfg = {"layers": [{"units": 6, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "dtype": "float64"}
    net = Network.from_config(cfg, (4,), 2, 0)
    net.fit(x, y, epochs=30, batch_size=16, optimizer={"name": "adam", "learning_rate": 0.05})
    proba = net.predict_proba(x)
    assert proba.shape == (len(x), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(net.predict(x), proba.argmax(axis=1))
    assert np.mean(net.predict(x) == y) > 0.9
    targets, labels = net.encode_targets(y.astype(np.float64))
    assert targets.shape == (len(x), 1) and np.array_equal(labels, y)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]"):
        net.fit(x, np.full(len(x), 2), epochs=1)


def test_input_scaling_and_target_encoding():
    cfg = {"layers": [{"units": 3, "activation": "sigmoid"}], "loss": "mse", "dtype": "float32", "input_scaling": "r5",
           "target_on": 0.99, "target_off": 0.01}
    net = Network.from_config(cfg, (2, 2, 1), 3, 0)
    x = np.array([[[[0], [255]], [[51], [255]]]], dtype=np.uint8)
    np.testing.assert_allclose(net.prepare_x(x), [[0.01, 1.0, 0.208, 1.0]], rtol=1e-6)
    targets, _ = net.encode_targets(np.array([2]))
    np.testing.assert_allclose(targets, [[0.01, 0.01, 0.99]])
    unit = Network.from_config({**cfg, "input_scaling": "unit"}, (2, 2, 1), 3, 0)
    np.testing.assert_allclose(unit.prepare_x(x), [[0.0, 1.0, 0.2, 1.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"x: expected per-sample shape \(2, 2, 1\)"):
        net.prepare_x(np.zeros((1, 4)))


def test_bad_fit_arguments_are_named():
    x, y = blobs()
    net = mlp()
    with pytest.raises(ValueError, match="train.batch_size"):
        net.fit(x, y, epochs=1, batch_size=0)
    with pytest.raises(ValueError,
                       match="optimizer.name: unknown optimizer 'rmsprop'; valid names: sgd, momentum, adam"):
        net.fit(x, y, epochs=1, optimizer={"name": "rmsprop"})
    with pytest.raises(ValueError, match="x has 120 samples but y has 3"):
        net.fit(x, y[:3], epochs=1)
    with pytest.raises(ValueError, match="set_weights: array 0 has shape"):
        net.set_weights([np.zeros((2, 2))] + net.get_weights()[1:])


def test_integer_options_accept_numpy_ints_and_reject_bad_values():
    x, y = blobs(n=20)
    hist = mlp().fit(x, y, epochs=np.int64(2), batch_size=np.int32(8), early_stopping_patience=np.int64(5))
    assert len(hist) == 2
    with pytest.raises(ValueError, match="train.epochs: expected a non-negative integer, got 2.5"):
        mlp().fit(x, y, epochs=2.5)
    with pytest.raises(ValueError, match="train.early_stopping_patience"):
        mlp().fit(x, y, epochs=1, early_stopping_patience=0)
    with pytest.raises(ValueError, match="give both x_val and y_val"):
        mlp().fit(x, y, epochs=1, x_val=x)


@pytest.mark.parametrize("layers,loss", [
    # fused head
    ([{"units": 8, "activation": "tanh"}, {"units": 3, "activation": "softmax"}], "categorical_crossentropy"),
    ([{"units": 8, "activation": "sigmoid"}, {"units": 3, "activation": "sigmoid"}], "mse"),  # generic loss gradient
])
def test_after_a_plain_sgd_step_the_gradients_are_dL_dtheta_not_lr_times_it(layers, loss):
    """The learning rate lives in the optimizer: ``layer.grads`` after ``fit`` is the gradient at the
    weights before the step, and the step moved each weight by exactly ``lr`` times it."""
    x, y = blobs(n=30)
    cfg = {"layers": layers, "loss": loss, "dtype": "float64"}
    net = Network.from_config(cfg, (4,), 3, 0)
    before = net.get_weights()
    _, expected = Network.from_config(cfg, (4,), 3, 0).loss_and_grads(x, y)  # same initial weights
    net.fit(x, y, epochs=1, batch_size=None, optimizer={"name": "sgd", "learning_rate": 0.3})
    grads = [layer.grads[k] for layer in net.layers for k in layer.params]
    for g, e, w0, w1 in zip(grads, expected, before, net.get_weights(), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(w0 - w1, 0.3 * e, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("opt", [{"name": "sgd", "learning_rate": 0.1}, {"name": "momentum", "learning_rate": 0.1},
                                 {"name": "momentum", "learning_rate": 0.1, "nesterov": True},
                                 {"name": "adam", "learning_rate": 0.01, "epsilon": 1e-3}])
def test_optimizer_steps_read_as_their_formulas_and_leave_the_gradients_alone(opt):
    """Two steps of each optimizer against its formula written out with plain NumPy (float64)."""
    from scratchbench.scratch.optimizers import make_optimizer

    rng = np.random.default_rng(5)
    theta = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    g_steps = [[rng.normal(size=(3, 2)), rng.normal(size=4)] for _ in range(2)]
    params = [p.copy() for p in theta]
    o = make_optimizer(opt)
    lr, mu, b1, b2, eps = opt["learning_rate"], 0.9, 0.9, 0.999, opt.get("epsilon")
    vel = [np.zeros_like(p) for p in theta]
    m, v = [np.zeros_like(p) for p in theta], [np.zeros_like(p) for p in theta]
    for t, gs in enumerate(g_steps, start=1):
        grads = [g.copy() for g in gs]
        o.step(params, grads)
        for g, g0 in zip(grads, gs, strict=True):
            np.testing.assert_array_equal(g, g0)  # gradients are not scratch space
        for i, g in enumerate(gs):
            if opt["name"] == "sgd":
                theta[i] = theta[i] - lr * g
            elif opt["name"] == "momentum":
                vel[i] = mu * vel[i] - lr * g
                theta[i] = theta[i] + (mu * vel[i] - lr * g if opt.get("nesterov") else vel[i])
            else:  # Keras' Adam: epsilon-hat = eps / sqrt(1 - b2^t)
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g**2
                m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
                theta[i] = theta[i] - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
        for p, e in zip(params, theta, strict=True):
            np.testing.assert_allclose(p, e, rtol=1e-13, atol=1e-15)
