"""NumPy engine and Keras twins behind the common interface: same weights, same path."""

from __future__ import annotations

import numpy as np
import pytest
from models_helpers import make_cfg

from scratchbench.models.base import DataSpec, Split
from scratchbench.models.registry import get_implementation


@pytest.fixture(scope="module")
def tf():
    """Import TensorFlow once for the module (it costs seconds)."""
    import tensorflow

    return tensorflow


def _run(name, cfg, spec, train, val):
    impl = get_implementation(name)
    impl.build(cfg, spec)
    return impl, impl.fit(train, val)


@pytest.fixture(scope="module")
def tiny_images():
    """Two classes of 8x8 grey images: bright left half vs bright right half."""
    rng = np.random.default_rng(0)
    n = 160
    y = np.arange(n) % 2
    x = rng.integers(0, 60, (n, 8, 8, 1))
    x[y == 0, :, :4] += 150
    x[y == 1, :, 4:] += 150
    x = (x / 255.0).astype(np.float32)
    spec = DataSpec("tiny_images", (8, 8, 1), 2, ("left", "right"), (8, 8, 1))
    return spec, Split(x[:128], y[:128]), Split(x[128:], y[128:])


DENSE = [{"units": 8, "activation": "tanh"}, {"units": 3, "activation": "softmax"}]
TWIN_CASES = {
    "sgd-cce-partial-batches": dict(optimizer={"name": "sgd", "learning_rate": 0.1}, train={"batch_size": 50}),
    "momentum-full-batch": dict(optimizer={"name": "momentum", "learning_rate": 0.05}, train={"batch_size": None}),
    "adam-relu-leaky": dict(
        model={"layers": [{"units": 6, "activation": "relu"}, {"units": 5, "activation": "leaky_relu", "alpha": 0.1},
                          {"units": 3, "activation": "softmax"}]},
        optimizer={"name": "adam", "learning_rate": 0.01}, train={"batch_size": 32}),
    "mse-half-sigmoid-r5-targets": dict(
        model={"layers": [{"units": 8, "activation": "sigmoid"}, {"units": 3, "activation": "sigmoid"}],
               "loss": "mse_half", "target_on": 0.99, "target_off": 0.01, "bias": False},
        optimizer={"name": "sgd", "learning_rate": 0.5}, train={"batch_size": 16}),
    "float64-adam": dict(model={"dtype": "float64"}, optimizer={"name": "adam", "learning_rate": 0.01}),
    "sse-full-batch": dict(
        model={"layers": [{"units": 4, "activation": "sigmoid"}, {"units": 3, "activation": "sigmoid"}], "loss": "sse"},
        optimizer={"name": "sgd", "learning_rate": 0.01}, train={"batch_size": None}),
}


@pytest.mark.parametrize("case", list(TWIN_CASES))
def test_keras_mlp_twin_follows_numpy_step_for_step(tf, three_blobs, case, tmp_path):
    spec, train, test = three_blobs
    cfg = make_cfg(**{k: dict(v) for k, v in TWIN_CASES[case].items()})
    cfg["train"]["epochs"] = 3
    np_impl, np_hist = _run("numpy_mlp", cfg, spec, train, test)
    k_impl, k_hist = _run("keras_mlp", cfg, spec, train, test)
    # same first-epoch loss from the same initial weights (float32 tolerance), then the same path
    assert k_hist[0].loss == pytest.approx(np_hist[0].loss, rel=2e-5)
    np.testing.assert_allclose([h.loss for h in k_hist], [h.loss for h in np_hist], rtol=1e-4)
    np.testing.assert_allclose([h.train_accuracy for h in k_hist], [h.train_accuracy for h in np_hist], atol=1e-6)
    for a, b in zip(k_impl.model.get_weights(), np_impl.net.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert k_impl.n_params() == np_impl.n_params()
    if case.startswith(("mse-half", "sse")):  # custom loss class survives a save/load round trip
        import keras

        loaded = keras.models.load_model(k_impl.save(tmp_path / "twin"))
        np.testing.assert_allclose(loaded.predict(test.x, verbose=0), k_impl.model.predict(test.x, verbose=0))


def test_keras_mlp_binary_single_sigmoid_and_beats_chance(tf, two_blobs, tmp_path):
    spec, train, test = two_blobs
    cfg = make_cfg(model={"layers": [{"input_dim": 4, "output_dim": 4, "activation": "relu"},
                                     {"input_dim": 4, "output_dim": 1, "activation": "sigmoid"}],
                          "loss": "binary_crossentropy", "init": {"name": "randn", "scale": 0.5}},
                   optimizer={"name": "sgd", "learning_rate": 0.3}, train={"epochs": 10, "batch_size": 20})
    np_impl, np_hist = _run("numpy_mlp", cfg, spec, train, test)
    k_impl, k_hist = _run("keras_mlp", cfg, spec, train, test)
    assert k_hist[0].loss == pytest.approx(np_hist[0].loss, rel=2e-5)
    proba = k_impl.predict_proba(test.x)
    assert proba.shape == (len(test.y), 2)
    np.testing.assert_allclose(proba, np_impl.predict_proba(test.x), atol=1e-3)
    by_predict = k_impl.model.predict(test.x.astype(np.float32), batch_size=1024, verbose=0)[:, 0]
    np.testing.assert_allclose(proba[:, 1], by_predict, rtol=1e-6)  # one traced forward = Keras's predict
    assert k_impl.predict_proba(test.x[:0]).shape == (0, 2)
    assert k_hist[-1].val_accuracy > 0.8
    saved = k_impl.save(tmp_path / "model")
    assert saved.suffix == ".keras" and saved.stat().st_size > 0
    threads = k_impl.threads()
    assert {"tf_intra_op", "tf_inter_op"} <= set(threads)


def test_keras_same_seed_same_metrics(tf, three_blobs):
    spec, train, test = three_blobs
    cfg = make_cfg(optimizer={"name": "adam", "learning_rate": 0.01}, train={"epochs": 3, "batch_size": 32})
    _, a = _run("keras_mlp", cfg, spec, train, test)
    _, b = _run("keras_mlp", cfg, spec, train, test)
    assert [(h.loss, h.train_accuracy, h.val_accuracy) for h in a] == [
        (h.loss, h.train_accuracy, h.val_accuracy) for h in b]
    _, c = _run("keras_mlp", {**cfg, "seed": cfg["seed"] + 1}, spec, train, test)
    assert [h.loss for h in c] != [h.loss for h in a]


CNN_LAYERS = [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
    {"type": "maxpool2d", "pool_size": 2},
    {"type": "conv2d", "filters": 3, "kernel_size": 3, "activation": "relu"},
    {"type": "flatten"},
    {"type": "dense", "units": 2, "activation": "softmax"},
]


@pytest.mark.parametrize(("loss", "opt"), [("categorical_crossentropy", {"name": "adam", "learning_rate": 0.01}),
                                           ("mse", {"name": "sgd", "learning_rate": 0.5})])
def test_keras_cnn_twin_matches_numpy_cnn_and_beats_chance(tf, tiny_images, loss, opt):
    spec, train, test = tiny_images
    cfg = make_cfg(model={"layers": CNN_LAYERS, "loss": loss}, optimizer=opt, train={"epochs": 3, "batch_size": 32})
    np_impl, np_hist = _run("numpy_cnn", cfg, spec, train, test)
    k_impl, k_hist = _run("keras_cnn", cfg, spec, train, test)
    assert k_hist[0].loss == pytest.approx(np_hist[0].loss, rel=2e-5)
    np.testing.assert_allclose([h.loss for h in k_hist], [h.loss for h in np_hist], rtol=1e-4)
    assert k_hist[-1].val_accuracy > 0.8 and np_hist[-1].val_accuracy > 0.8
    assert k_impl.n_params() == np_impl.n_params() == 4 * 9 + 4 + 3 * 9 * 4 + 3 + 3 * 2 + 2


def test_keras_mlp_rejects_conv_and_image_models_reject_flat_features(tf, tiny_images):
    spec, _, _ = tiny_images
    cfg = make_cfg(model={"layers": CNN_LAYERS})
    with pytest.raises(ValueError, match="keras_mlp.*conv"):
        get_implementation("keras_mlp").build(cfg, spec)
    flat = DataSpec("fruits360", (102,), 4, tuple("abcd"), None)
    for name in ("keras_cnn", "numpy_cnn"):
        with pytest.raises(ValueError, match="cannot be viewed as images"):
            get_implementation(name).build(cfg, flat)


def test_numpy_mlp_rejects_conv_with_clear_message(tiny_images):
    spec, _, _ = tiny_images
    with pytest.raises(ValueError, match="numpy_mlp.*numpy_cnn"):
        get_implementation("numpy_mlp").build(make_cfg(model={"layers": CNN_LAYERS}), spec)


def test_unknown_activation_is_an_error_before_training(three_blobs):
    spec, _, _ = three_blobs
    cfg = make_cfg(model={"layers": [{"units": 4, "activation": "swish"}, {"units": 3, "activation": "softmax"}]})
    for name in ("numpy_mlp", "sklearn_mlp", "pybrain"):
        with pytest.raises(ValueError, match="swish"):
            get_implementation(name).build(cfg, spec)


def test_numpy_mlp_interface(three_blobs, tmp_path):
    spec, train, test = three_blobs
    seen = []
    impl = get_implementation("numpy_mlp")
    impl.build(make_cfg(train={"epochs": 6}), spec)
    hist = impl.fit(train, test, on_epoch=seen.append)
    assert seen == hist and [h.epoch for h in hist] == list(range(1, 7))
    assert hist[-1].val_accuracy > 0.8 and hist[-1].loss < hist[0].loss
    assert impl.predict_proba(test.x).shape == (len(test.y), 3)
    assert impl.save(tmp_path / "net").is_file()
    assert impl.n_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_measure_keras(tf, three_blobs):
    from scratchbench.models.measure import measure

    spec, train, test = three_blobs
    impl = get_implementation("keras_mlp")
    impl.build(make_cfg(train={"epochs": 2}), spec)
    res = measure(impl, train, test, val=test)
    assert res.inference_samples_per_second > 0 and res.peak_memory_mb > 100  # TF alone is > 100 MB
    assert res.fit_seconds >= sum(res.epoch_seconds) > 0
    assert res.run_info["op_determinism"] is True
