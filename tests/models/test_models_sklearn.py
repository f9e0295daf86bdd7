"""scikit-learn MLPClassifier behind the common interface."""

from __future__ import annotations

import numpy as np
import pytest
from models_helpers import make_cfg

from scratchbench.models.registry import get_implementation


def _fit(spec, train, test, cfg):
    impl = get_implementation("sklearn_mlp")
    impl.build(cfg, spec)
    return impl, impl.fit(train, test)


@pytest.mark.parametrize("opt",
                         [{"name": "sgd", "learning_rate": 0.1},
                          {"name": "momentum", "learning_rate": 0.05, "momentum": 0.9},
                                 {"name": "adam", "learning_rate": 0.01}])
def test_sklearn_beats_chance_per_epoch_history(three_blobs, opt):
    spec, train, test = three_blobs
    impl, hist = _fit(spec, train, test, make_cfg(optimizer=opt, train={"epochs": 8}))
    assert [h.epoch for h in hist] == list(range(1, 9))
    assert hist[-1].loss < hist[0].loss
    assert hist[-1].val_accuracy > 0.8  # chance 1/3
    assert impl.clf.hidden_layer_sizes == (8,) and impl.clf.activation == "tanh"
    assert impl.clf.solver == ("adam" if opt["name"] == "adam" else "sgd")
    assert impl.n_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert impl.predict_proba(test.x).shape == (len(test.y), 3)


def test_sklearn_same_seed_same_metrics_and_binary(two_blobs):
    spec, train, test = two_blobs
    cfg = make_cfg(model={"layers_dims": [4, 6, 1], "layers": None, "hidden_activation": "sigmoid",
                          "output_activation": "sigmoid", "loss": "binary_crossentropy"},
                   optimizer={"learning_rate": 0.5}, train={"epochs": 4, "batch_size": None})
    a, ha = _fit(spec, train, test, cfg)
    b, hb = _fit(spec, train, test, cfg)
    assert [h.loss for h in ha] == [h.loss for h in hb]
    assert a.clf.batch_size == len(train.y) and a.clf.activation == "logistic"
    assert a.predict_proba(test.x).shape == (len(test.y), 2)
    assert "logistic" in a.run_info()["output_used"]


def test_sklearn_rejects_conv_before_training(three_blobs):
    spec, _, _ = three_blobs
    cfg = make_cfg(model={"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3},
                                     {"units": 3, "activation": "softmax"}]})
    impl = get_implementation("sklearn_mlp")
    with pytest.raises(ValueError, match=r"sklearn_mlp: model.layers\[0\] has type 'conv2d'"):
        impl.build(cfg, spec)
    assert not hasattr(impl, "clf")


def test_sklearn_rejects_unsupported_activation(three_blobs):
    spec, _, _ = three_blobs
    cfg = make_cfg(model={"layers": [{"units": 5, "activation": "leaky_relu"}, {"units": 3, "activation": "softmax"}]})
    with pytest.raises(ValueError, match="leaky_relu.*valid"):
        get_implementation("sklearn_mlp").build(cfg, spec)


def test_sklearn_save(three_blobs, tmp_path):
    import pickle

    spec, train, test = three_blobs
    impl, _ = _fit(spec, train, test, make_cfg(train={"epochs": 1}))
    path = impl.save(tmp_path / "m" / "model")
    clf = pickle.loads(path.read_bytes())
    np.testing.assert_array_equal(clf.predict(test.x), impl.predict(test.x))


@pytest.mark.parametrize("name", ["sklearn_mlp", "pybrain", "numpy_mlp", "keras_mlp"])
def test_early_stopping_same_rule_everywhere(two_blobs, name):
    """Monitors val_accuracy, stops after `patience` epochs without gain, restores the best weights."""
    spec, train, test = two_blobs
    layers = {"layers": [{"units": 6, "activation": "tanh"}, {"units": 2, "activation": "softmax"}]}
    cfg = make_cfg(model=layers, optimizer={"learning_rate": 0.05},
                   train={"epochs": 25, "batch_size": 8, "early_stopping_patience": 2})
    impl = get_implementation(name)
    impl.build(cfg, spec)
    hist = impl.fit(train, test)
    best = max(h.val_accuracy for h in hist)
    assert len(hist) < 25
    assert all(h.val_accuracy <= hist[-3].val_accuracy for h in hist[-2:])  # 2 epochs without gain
    assert float(np.mean(impl.predict(test.x) == test.y)) == best
    with pytest.raises(ValueError, match="train.early_stopping_patience"):
        bad = get_implementation(name)
        bad.build(make_cfg(model=layers, train={"early_stopping_patience": 0}), spec)
        bad.fit(train, test)
